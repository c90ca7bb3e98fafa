//! Captured logs: one process-wide `tracing` subscriber at TRACE level that writes every event of every test of
//! the binary into memory, for the tests that search what was logged. A test binary that uses it holds only
//! tests that may share one subscriber.

use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn buffer() -> &'static Buffer {
    static LOGS: OnceLock<Buffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        buffer
    })
}

/// Installs the capturing subscriber (once per process; later calls do nothing).
pub fn capture() {
    buffer();
}

/// Everything logged so far by every test of this binary.
pub fn text() -> String {
    String::from_utf8_lossy(&buffer().0.lock().unwrap()).into_owned()
}

//! Uses the packaged SDK as a dependent service would, with its default features, and proves those features
//! speak HTTPS: a plain TCP listener stands in for Resource Manager, and the first bytes the SDK sends it must be
//! a TLS handshake record. Without a TLS backend compiled in, the call would fail before connecting.

use std::{io::Read, net::TcpListener, time::Duration};

use azure_customer_lockbox::{CustomerLockboxClient, CustomerLockboxClientOptions, options::Retries, StaticTokenCredential};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let server = std::thread::spawn(move || -> std::io::Result<[u8; 3]> {
        // Wait up to 20 s for the SDK to connect: a build without TLS never does.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e),
            }
        };
        stream.set_nonblocking(false)?;
        let mut first = [0u8; 3];
        stream.read_exact(&mut first)?;
        Ok(first) // dropping the stream ends the handshake
    });
    let options = CustomerLockboxClientOptions {
        endpoint: Some(format!("https://127.0.0.1:{port}/").parse()?),
        retry: Retries::None,
        per_try_timeout: Some(Duration::from_secs(10)),
        ..Default::default()
    };
    let client = CustomerLockboxClient::new(StaticTokenCredential::new("consumer"), Some(options))?;
    let error = client.tenant().enable(None).await.expect_err("the stand-in server never completes a handshake");
    let first = server.join().expect("listener thread").map_err(|e| format!("no TLS connection ({e}); {error}"))?;
    // A TLS record: content type 22 (handshake), protocol major version 3.
    assert_eq!(first[..2], [0x16, 0x03], "expected a TLS ClientHello, got {first:02x?}; the call said: {error}");
    println!("consumer: the packaged SDK with default features sent a TLS ClientHello (the call then failed: {error})");
    Ok(())
}

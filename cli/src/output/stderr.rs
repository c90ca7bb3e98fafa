//! The tool's one way to stderr. `clippy::print_stderr` is denied in the tool, as `print_stdout` is: every
//! note, error, prompt and `-v` log line goes through here (`say!`, `ask!`, [`log_writer`]), and what goes
//! through here is terminal-safe whatever its fields held: every control character but the tool's own line
//! breaks (escape sequences, carriage returns, tabs, the C1 controls) and every bidirectional override is
//! shown escaped (`\u{1b}`), the way [`Shown`](super::Shown) shows one field. A subscription id, a state, an
//! error message or a request id a server chose cannot reach stderr raw.

use std::{
    fmt,
    io::{IsTerminal, Write},
};

/// Writes one message and a line break to stderr, terminal-safe. A closed stderr is ignored: a note must not
/// end the command.
pub fn line(message: fmt::Arguments<'_>) {
    write(message, "\n");
}

/// Writes a question without a line break (the answer is typed after it), terminal-safe.
pub fn prompt(message: fmt::Arguments<'_>) {
    write(message, "");
}

fn write(message: fmt::Arguments<'_>, end: &str) {
    let text = super::for_a_person(&message.to_string());
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "{text}{end}");
    let _ = stderr.flush();
}

/// A line on stderr: `say!("lockbox: cannot list subscription {}", subscription)`, shown terminal-safe.
macro_rules! say {
    () => {
        $crate::output::stderr::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::stderr::line(format_args!($($arg)*))
    };
}

/// A question on stderr, with no line break after it, shown terminal-safe.
macro_rules! ask {
    ($($arg:tt)*) => {
        $crate::output::stderr::prompt(format_args!($($arg)*))
    };
}

/// Asks `question` on stderr and reads the answer from stdin: true only for "y" or "yes".
pub fn confirm(question: &str) -> std::io::Result<bool> {
    ask!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// True when `-v`'s log lines may be coloured: stderr is a terminal and `NO_COLOR` is unset or empty.
pub fn colour_enabled() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The writer of `-v`'s log lines (`tracing_subscriber::fmt().with_writer(..)`): each line terminal-safe like
/// any message. With `colour` (see [`colour_enabled`]), the colour codes the log formatter writes
/// (`ESC [ <digits and ;> m`) pass; every other control character is escaped.
pub fn log_writer(colour: bool) -> impl Fn() -> LogLine + Send + Sync + 'static {
    move || LogLine { colour, buffer: Vec::new() }
}

/// One log event on its way to stderr, written whole when dropped.
pub struct LogLine {
    colour: bool,
    buffer: Vec<u8>,
}

impl Write for LogLine {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buffer);
        let mut shown = String::with_capacity(text.len());
        let mut rest: &str = &text;
        while !rest.is_empty() {
            let colour = if self.colour { colour_code(rest) } else { None };
            if let Some(code) = colour {
                shown.push_str(code);
                rest = rest.get(code.len()..).unwrap_or_default();
            } else {
                let next = rest.char_indices().nth(1).map_or(rest.len(), |(at, _)| at);
                let (one, after) = rest.split_at(next);
                shown.push_str(&super::for_a_person(one));
                rest = after;
            }
        }
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(shown.as_bytes());
        let _ = stderr.flush();
    }
}

/// The SGR colour code at the start of `text` (`ESC [ 1 ; 33 m`), if one is.
fn colour_code(text: &str) -> Option<&str> {
    let parameters = text.strip_prefix("\u{1b}[")?;
    let len = parameters.bytes().take_while(|b| b.is_ascii_digit() || *b == b';').count();
    parameters.as_bytes().get(len).filter(|b| **b == b'm')?;
    text.get(..len.saturating_add(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_colour_code_passes_and_nothing_else_does() {
        assert_eq!(colour_code("\u{1b}[1;33mINFO"), Some("\u{1b}[1;33m"));
        assert_eq!(colour_code("\u{1b}[2J"), None);
        assert_eq!(colour_code("\u{1b}]0;title\u{7}"), None);
        assert_eq!(colour_code("plain"), None);
    }
}

//! Text made safe for a terminal: what a server or a requester chose is shown with its control characters
//! escaped, so that it can neither move the cursor nor start a line of its own that reads as the tool's.

/// Text a server or a requester chose, made safe for a terminal: every control character (escape sequences,
/// carriage returns, newlines, tabs, the C1 controls) and every bidirectional override is shown escaped
/// (`\n`, `\u{1b}`), so such text can neither move the cursor, recolour or erase the screen, nor start a line
/// of its own that reads as the tool's. JSON and TSV output stay exact; only what a person reads goes through
/// this.
pub struct Shown<'a>(pub &'a str);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in self.0.chars() {
            let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
            if c.is_control() || bidi {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// [`Shown`] as a `String`.
pub fn terminal_safe(text: &str) -> String {
    Shown(text).to_string()
}

/// Text the tool composed for a person (which may hold its own line breaks), with every control character but
/// its line breaks escaped: the last guard before a terminal, behind the per-field [`Shown`].
pub fn for_a_person(text: &str) -> String {
    text.split('\n').map(terminal_safe).collect::<Vec<_>>().join("\n")
}

//! Why a policy decides a request as it does: `policy run --explain`'s lines on stderr (`policy explain` for one
//! request is `policy/explain.rs`).

/// The explanation of one request's verdict, on stderr (stdout is the audit trail), terminal-safe.
pub(super) fn explain(id: &str, subscription: &str, lines: &[String]) {
    use crate::output::Shown;
    say!("lockbox: explain: request {} in subscription {}", Shown(id), Shown(subscription));
    for line in lines {
        say!("  {}", Shown(line));
    }
}

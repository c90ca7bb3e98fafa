//! `lockbox completions`.

use super::common::*;

/// `lockbox completions <shell>` prints a completion script that knows the subcommands.
#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains("lockbox") && script.contains("requests") && script.contains("policy"), "{shell}");
    }
}

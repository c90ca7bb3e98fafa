//! `--help` and `--version`, and the options each command takes.

use std::process::Output;

use super::common::*;

#[test]
fn every_command_has_help_and_the_exit_codes_are_listed() {
    for args in [
        vec!["--help"],
        vec!["requests", "--help"],
        vec!["requests", "list", "--help"],
        vec!["requests", "show", "--help"],
        vec!["requests", "approve", "--help"],
        vec!["requests", "deny", "--help"],
        vec!["requests", "watch", "--help"],
        vec!["tenant", "status", "--help"],
        vec!["tenant", "enable", "--help"],
        vec!["tenant", "disable", "--help"],
        vec!["operations", "list", "--help"],
        vec!["policy", "run", "--help"],
    ] {
        let out = run(&args);
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("Usage:"), "{args:?}");
    }
    let help = text(&run(&["--help"]).stdout);
    for code in [
        "  0  success",
        "  1  some subscriptions",
        "  2  usage error",
        "  3  not found",
        "  4  refused",
        "  5  could not reach",
        "  6  already decided or expired",
        "  7  outcome unknown",
    ] {
        assert!(help.contains(code), "{code}: {help}");
    }
    assert!(help.contains("--output") && help.contains("LOCKBOX_OUTPUT"));
}

/// `lockbox --version` names the tool and its version, as `cargo install` users expect.
#[test]
fn version_is_printed() {
    let output = lockbox().arg("--version").output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), format!("lockbox {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn each_command_shows_only_its_options_and_its_exit_codes() {
    let help = |args: &[&str]| text(&run(args).stdout);
    let enable = help(&["tenant", "enable", "--help"]);
    assert!(!enable.contains("--subscription") && !enable.contains("--interval"), "{enable}");
    assert!(enable.contains("--emulator") && enable.contains("--yes") && enable.contains("--query"));
    assert!(enable.ends_with(
        "Exit status:\n  0  success\n  2  usage error: bad arguments, input or policy file; no terminal to confirm on \
         and no --yes; cancelled\n  3  not found: the service answered 404, a subscription given is not among those \
         the credential can see,\n     or a bare id is in no subscription the credential can read\n  4  refused by \
         the service (forbidden, throttled, server error, ...)\n  5  could \
         not reach the service or authenticate (run `az login`, or use --managed-identity)\n"
    ));
    let approve = help(&["requests", "approve", "--help"]);
    assert!(
        approve.contains("--subscription")
            && approve.contains("  6  already decided")
            && approve.contains("  7  outcome")
    );
    let test = help(&["policy", "test", "--help"]);
    assert!(!test.contains("--emulator") && !test.contains("--output") && !test.contains("--subscription"), "{test}");
    assert!(test.contains("  1  a case did not get the action it expects"), "{test}");
    let run_help = help(&["policy", "run", "--help"]);
    assert!(run_help.contains("  8  policy run: the audit trail") && !run_help.contains("--query"), "{run_help}");
    let watch = help(&["requests", "watch", "--help"]);
    assert!(watch.contains("--subscription") && !watch.contains("--query") && !watch.contains("  6  "));
    // Before the command, an option that does not apply to it is refused, not ignored.
    let out = run(&["--subscription", SUB, "tenant", "enable", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "lockbox: error: --subscription does not apply to `lockbox tenant enable` (see `lockbox tenant enable --help`)\n"
    );
    let out = run(&["tenant", "enable", "--subscription", SUB]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unexpected argument '--subscription'"));
    let out = run(&["--emulator", "policy", "test", "--file", "x", "--cases", "y"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--emulator does not apply to `lockbox policy test`"));
    // Before or after the command, the same.
    let before = run(&["--emulator", "-o", "json", "requests", "show", PENDING]);
    let after = run(&["requests", "show", PENDING, "--emulator", "-o", "json"]);
    assert!(after.status.success());
    let name = |out: &Output| serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["name"].clone();
    assert_eq!(name(&before), name(&after));
}

//! `lockbox tenant status`, `enable` and `disable`.

use std::{io::Write, process::Stdio};

use super::common::*;

#[test]
fn tenant_commands_confirm_unless_yes() {
    let out = run(&["--emulator", "tenant", "status"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).ends_with("Customer Lockbox is on\n"));

    // No terminal and no --yes: refused before asking, as approve refuses.
    let mut child = lockbox()
        .args(["--emulator", "tenant", "disable"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"y\n").unwrap();
    let out = finish(child, "tenant disable");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.ends_with(
            "lockbox: error: refusing to turn off Customer Lockbox without confirmation: there is no terminal to ask \
             on; pass --yes to turn off Customer Lockbox anyway\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("[y/N]"), "no question printed: {stderr}");
    // On a terminal: the question names the tenant; "n" sends nothing.
    let out = on_terminal(&["--emulator", "tenant", "disable"], "n\n", &[]);
    assert_eq!(out.status.code(), Some(2));
    let said = text(&out.stdout);
    assert!(
        said.contains(
            "Turn Customer Lockbox off for tenant 72f988bf-86f1-41af-91ab-2d7cd011db47, for all of its subscriptions? \
             [y/N]"
        ),
        "{said}"
    );
    assert!(said.contains("lockbox: cancelled; nothing was sent"), "{said}");

    let out = run(&["--emulator", "tenant", "disable", "--yes"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim(), "Customer Lockbox is off for your tenant");
}

#[test]
fn tenant_status_in_every_format() {
    let out = run(&["--emulator", "-o", "json", "tenant", "status"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((status["customerLockbox"].as_str(), status["optedIn"].as_bool()), (Some("on"), Some(true)));
    let tenant = status["tenantId"].as_str().unwrap().to_owned();
    let out = run(&["--emulator", "-o", "jsonl", "tenant", "status"]);
    assert_eq!(json_lines(&out.stdout), vec![status.clone()]);
    let out = run(&["--emulator", "-o", "tsv", "tenant", "status"]);
    assert_eq!(text(&out.stdout), format!("{tenant}\ton\n"));
    let out = run(&["--emulator", "-o", "table", "tenant", "status"]);
    assert_eq!(text(&out.stdout), format!("{tenant}: Customer Lockbox is on\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_status_on_a_standalone_emulator_needs_no_tenant_id() {
    let emulator = emulator().await;
    let tenant = emulator.default_tenant_id().to_owned();
    emulator.set_tenant_opted_in(&tenant, true);
    let out = at(&emulator, &[], &["tenant", "status"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{tenant}: Customer Lockbox is on\n"));
}

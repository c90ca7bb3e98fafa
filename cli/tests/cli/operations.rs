//! `lockbox operations list`.

use super::common::*;

#[test]
fn operations_list_prints_the_catalogue() {
    let out = run(&["--emulator", "operations", "list"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).lines().any(|l| l.starts_with("Microsoft.CustomerLockbox/requests/read")));
}

#[test]
fn operations_list_in_every_format() {
    let out = run(&["--emulator", "-o", "json", "operations", "list"]);
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = all.as_array().unwrap().iter().filter_map(|o| o["name"].as_str()).collect();
    assert!(names.contains(&"Microsoft.CustomerLockbox/requests/read"), "{names:?}");
    let out = run(&["--emulator", "-o", "jsonl", "operations", "list"]);
    assert_eq!(json_lines(&out.stdout).len(), names.len());
    let out = run(&["--emulator", "-o", "tsv", "operations", "list"]);
    let stdout = text(&out.stdout);
    assert!(stdout.lines().any(|l| l.starts_with("Microsoft.CustomerLockbox/requests/read\t")), "{stdout}");
    assert_eq!(stdout.lines().count(), names.len(), "no header");
    let out = run(&["--emulator", "-o", "table", "operations", "list"]);
    let stdout = text(&out.stdout);
    for name in &names {
        assert!(stdout.lines().any(|l| l.starts_with(name)), "{name}: {stdout}");
    }
}

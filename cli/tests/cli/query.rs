//! `--query` (JMESPath) over the JSON of any listing.

use azure_customer_lockbox_emulator::NewLockboxRequest;

use super::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn query_is_applied_to_the_json_of_any_listing_and_a_bad_one_sends_nothing() {
    let emulator = emulator().await;
    let id = pending_request(&emulator, SUB, NewLockboxRequest { access_level: "Write".into(), ..Default::default() });
    let query = "[?properties.accessLevel=='Write'].{id: name, level: properties.accessLevel}";
    let out = at(&emulator, &[SUB], &["requests", "list", "--query", query, "-o", "json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(found, serde_json::json!([{ "id": id, "level": "Write" }]));
    // TSV of a query: raw values, no header; a table: the keys as columns.
    let out = at(&emulator, &[SUB], &["requests", "list", "--query", query, "-o", "tsv"]).await;
    assert_eq!(text(&out.stdout), format!("{id}\tWrite\n"));
    let out = at(&emulator, &[SUB], &["requests", "list", "--query", query]).await;
    assert_eq!(text(&out.stdout), format!("id{}  level\n{id}  Write\n", " ".repeat(id.len() - 2)));
    // Given before the command, on a show, a tenant status and the operations.
    let out = at(&emulator, &[SUB], &["--query", "properties.status", "requests", "show", &id]).await;
    assert_eq!(text(&out.stdout), "Pending\n");
    let tenant = emulator.default_tenant_id().to_owned();
    let out = at(&emulator, &[], &["tenant", "status", "--query", "optedIn", "-o", "json", &tenant]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(matches!(text(&out.stdout).as_str(), "true\n" | "false\n"), "{}", text(&out.stdout));
    let out = at(&emulator, &[], &["operations", "list", "--query", "length(@)", "-o", "tsv"]).await;
    assert!(text(&out.stdout).trim().parse::<u32>().unwrap() > 0);

    // A query that is not JMESPath: a usage error, before anything is sent.
    let received = emulator.requests_received();
    let out = at(&emulator, &[SUB], &["requests", "list", "--query", "[?bad"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "lockbox: error: --query \"[?bad\" is not a JMESPath expression: Parse error: Expected ']' -- found Eof (at \
         column 5)\n"
    );
    let out = at(&emulator, &[SUB], &["requests", "approve", &id, "--reason", "r", "--yes", "--query", "[?"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(emulator.requests_received(), received, "nothing was sent");
    assert!(emulator.decisions().is_empty());
    // --query does not apply to a stream.
    let out = at(&emulator, &[SUB], &["requests", "watch", "--query", "name"]).await;
    assert_eq!(out.status.code(), Some(2));
    let out = at(&emulator, &[SUB], &["--query", "name", "requests", "watch"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--query does not apply to `lockbox requests watch`"), "{}", text(&out.stderr));
}

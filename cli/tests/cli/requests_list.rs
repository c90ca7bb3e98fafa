//! `lockbox requests list`: the table, the formats, the status filter, and the tenant-wide listing.

use std::collections::{BTreeMap, BTreeSet};

use azure_customer_lockbox_emulator::{NewLockboxRequest, TenantSeed};

use super::common::*;

#[test]
fn list_shows_the_sample_requests_as_a_table_and_says_it_uses_the_emulator() {
    let out = run(&["--emulator", "requests", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("ID") && lines[0].contains("STATUS") && lines[0].contains("SUPPORT TICKET"));
    assert_eq!(lines.len(), 7, "{stdout}");
    assert!(stdout.contains(PENDING) && stdout.contains("Pending") && stdout.contains("Key Vault"));
    assert!(text(&out.stderr).contains("using the embedded emulator"));
    // The reviewer's columns, and the pending requests first, the one expiring soonest on top.
    for column in ["SUBSCRIPTION", "TIME LEFT", "ACCESS", "RESOURCE", "JUSTIFICATION"] {
        assert!(lines[0].contains(column), "{column}: {}", lines[0]);
    }
    assert!(
        lines[1].starts_with(PENDING) && lines[1].contains(SUB) && lines[1].contains("contosologs (Storage Account)")
    );
    assert!(lines[1..4].iter().all(|l| l.contains("Pending") && l.contains(" 3d ")), "{stdout}");
    assert!(!stdout.contains('\x1b'), "no colour when stdout is not a terminal");
}

#[test]
fn list_filters_by_status_and_writes_json_lines() {
    let out = run(&["--emulator", "requests", "list", "--status", "PENDING", "--output", "jsonl"]);
    assert!(out.status.success());
    let statuses: Vec<String> =
        json_lines(&out.stdout).iter().map(|line| line["properties"]["status"].to_string()).collect();
    assert_eq!(statuses, vec!["\"Pending\""; 3]);
}

#[test]
fn list_json_is_one_array_and_tsv_has_raw_values_and_no_header_and_the_env_sets_the_default() {
    let out = run(&["--emulator", "-o", "json", "requests", "list", "--status", "pending"]);
    assert!(out.status.success());
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|r| r["subscription"] == SUB && r["properties"]["status"] == "Pending"));

    let out = output(lockbox().args(["--emulator", "requests", "list"]).env("LOCKBOX_OUTPUT", "tsv"));
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    // No header, as `az -o tsv`: the columns of `-o wide`, raw.
    assert_eq!(rows.len(), 6, "{stdout}");
    assert!(rows.iter().all(|r| r.len() == 12 && r[1] == SUB), "{stdout}");
    // ID, SUBSCRIPTION, STATUS, TIME LEFT (s, pending only), EXPIRES, CREATED (ISO 8601), ACCESS, DURATION (s),
    // RESOURCE TYPE, RESOURCES, SUPPORT CASE, JUSTIFICATION.
    let approved = rows.iter().find(|r| r[0] == APPROVED).unwrap();
    assert_eq!((approved[2], approved[3], approved[6], approved[7]), ("Approved", "", "Read", "28800"));
    let pending = rows.iter().find(|r| r[0] == PENDING).unwrap();
    let left: i64 = pending[3].parse().unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(pending[4]).unwrap();
    let expected = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    assert!((expected - 1..=expected + 5).contains(&left), "{left} s left, {expected} s to {expires}");
    assert!(pending[4].ends_with('Z') && pending[5].ends_with('Z') && pending[4].len() == 20, "{pending:?}");
    assert!(pending[9].starts_with(&format!("/subscriptions/{SUB}/resourceGroups/")), "{pending:?}");
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let out = on_terminal(&["--emulator", "requests", "list"], "", &[]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("\x1b[33mPending"), "{}", text(&out.stdout));
    let out = on_terminal(&["--emulator", "requests", "list"], "", &[("NO_COLOR", "1")]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("Pending") && !text(&out.stdout).contains("\x1b["));
}

#[test]
fn an_unknown_status_is_a_usage_error() {
    let out = run(&["requests", "list", "--status", "sleeping"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown status"));
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_wide_list_covers_every_visible_subscription_and_names_the_failed_ones_exit_1() {
    let emulator = emulator().await;
    let subs = emulator.seed_tenant(&TenantSeed {
        subscriptions: 5,
        requests_per_subscription: 2,
        forbidden: 1,
        unregistered: 1,
        disabled: 1,
        ..TenantSeed::default()
    });
    let (forbidden, unregistered, disabled, readable) =
        (subs[0].as_str(), subs[1].as_str(), subs[2].as_str(), &subs[3..]);

    // No --subscription: every subscription the credential can see.
    let out = at(&emulator, &[], &["-o", "jsonl", "requests", "list"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot list subscription {forbidden}: 403 AuthorizationFailed")), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot list subscription {unregistered}: 409 MissingSubscriptionRegistration")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("skipped subscriptions that are not active: {disabled} (Disabled)")), "{stderr}");
    let lines = json_lines(&out.stdout);
    let mut per_subscription: BTreeMap<String, usize> = BTreeMap::new();
    for line in &lines {
        let subscription = line["subscription"].as_str().unwrap();
        assert!(line["id"].as_str().unwrap().starts_with(&requests_path(subscription)), "{line}");
        *per_subscription.entry(subscription.to_owned()).or_default() += 1;
    }
    assert_eq!(per_subscription, readable.iter().map(|s| (s.clone(), 2)).collect::<BTreeMap<_, _>>());
    // The subscriptions were listed once; the disabled one was not asked for its requests.
    let received = emulator.received();
    let asked = |prefix: &str| received.iter().filter(|r| r.method == "GET" && r.path.starts_with(prefix)).count();
    assert_eq!(received.iter().filter(|r| r.path == "/subscriptions").count(), 1);
    assert_eq!(asked(&requests_path(disabled)), 0);
    assert_eq!((asked(&requests_path(forbidden)), asked(&requests_path(unregistered))), (1, 1));
    assert!(readable.iter().all(|s| asked(&requests_path(s)) == 1));

    // The table: the readable subscriptions' requests, and the same exit status.
    let out = at(&emulator, &[], &["requests", "list"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1 + 4, "{stdout}");
    assert!(stdout.lines().skip(1).all(|l| readable.iter().any(|s| l.contains(s.as_str()))), "{stdout}");

    // --subscription narrows the scope: the subscriptions are not listed, and nothing failed.
    emulator.clear_received();
    let out = at(&emulator, &[&readable[0]], &["-o", "jsonl", "requests", "list"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["subscription"] == readable[0].as_str()));
    assert!(emulator.received().iter().all(|r| r.path.starts_with(&requests_path(&readable[0]))));
    assert!(!text(&out.stderr).contains("AZURE_SUBSCRIPTION_ID"), "the flag is no surprise: no note");

    // AZURE_SUBSCRIPTION_ID (azd sets it) narrows the scope the same way, and says so on stderr.
    emulator.clear_received();
    let mut command = lockbox();
    command.env("AZURE_SUBSCRIPTION_ID", &readable[1]).args(emulator_args(&emulator, &[]));
    command.args(["-o", "jsonl", "requests", "list"]);
    let out = tokio::task::spawn_blocking(move || output(&mut command)).await.unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("note: AZURE_SUBSCRIPTION_ID narrows the scope to {}", readable[1])), "{stderr}");
    assert!(json_lines(&out.stdout).iter().all(|l| l["subscription"] == readable[1].as_str()));
    assert!(emulator.received().iter().all(|r| r.path.starts_with(&requests_path(&readable[1]))));

    // A policy run goes tenant-wide too, with the same report and exit status.
    let dir = tempdir("tenant-policy");
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[[rule]]\nname = \"all\"\naction = \"approve\"\nunconditional = true\n").unwrap();
    let out = at(&emulator, &[], &["policy", "run", "--file", policy.to_str().unwrap(), "--once", "--dry-run"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&format!("cannot list subscription {forbidden}: 403 AuthorizationFailed")));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|l| readable.iter().any(|s| l["subscription"] == s.as_str()) && l["dryRun"] == true));
    assert!(emulator.decisions().is_empty());
    std::fs::remove_dir_all(dir).ok();
}

/// `--status` repeats (or takes commas): requests in any of the statuses, and only those.
#[tokio::test(flavor = "multi_thread")]
async fn list_takes_several_statuses() {
    let emulator = emulator().await;
    let approved = pending_request(&emulator, SUB, NewLockboxRequest::default());
    let denied = pending_request(&emulator, SUB, NewLockboxRequest::default());
    let pending = pending_request(&emulator, SUB, NewLockboxRequest::default());
    assert!(
        at(&emulator, &[SUB], &["requests", "approve", &approved, "--reason", "ok", "--yes"]).await.status.success()
    );
    assert!(at(&emulator, &[SUB], &["requests", "deny", &denied, "--reason", "no", "--yes"]).await.status.success());
    for args in [
        vec!["-o", "jsonl", "requests", "list", "--status", "approved", "--status", "denied"],
        vec!["-o", "jsonl", "requests", "list", "--status", "Approved,Denied"],
    ] {
        let out = at(&emulator, &[SUB], &args).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let ids: BTreeSet<String> =
            json_lines(&out.stdout).iter().map(|l| l["properties"]["requestId"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids, BTreeSet::from([approved.clone(), denied.clone()]), "{args:?}");
        assert!(!ids.contains(&pending));
    }
}

#[test]
fn yaml_none_and_wide_outputs() {
    let out = run(&["--emulator", "-o", "yaml", "requests", "show", PENDING]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(&format!("id: /subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/")));
    assert!(
        stdout.contains("\nproperties:\n  accessLevel: Read\n") && stdout.contains(&format!("\nsubscription: {SUB}\n"))
    );
    let out = run(&["--emulator", "-o", "yaml", "requests", "list", "--status", "pending"]);
    assert_eq!(text(&out.stdout).matches("\n- id: ").count() + usize::from(text(&out.stdout).starts_with("- id: ")), 3);

    let out = run(&["--emulator", "-o", "none", "requests", "list"]);
    assert!(out.status.success() && out.stdout.is_empty());

    let out = run(&["--emulator", "-o", "wide", "requests", "list"]);
    let stdout = text(&out.stdout);
    let header: Vec<&str> =
        stdout.lines().next().unwrap().split("  ").filter(|c| !c.is_empty()).map(str::trim).collect();
    assert_eq!(
        header,
        [
            "ID",
            "SUBSCRIPTION",
            "STATUS",
            "TIME LEFT",
            "EXPIRES",
            "CREATED",
            "ACCESS",
            "DURATION",
            "RESOURCE TYPE",
            "RESOURCES",
            "SUPPORT CASE",
            "JUSTIFICATION"
        ]
    );
    let row = stdout.lines().find(|l| l.starts_with(PENDING)).unwrap();
    assert!(row.contains(&format!("/subscriptions/{SUB}/resourceGroups/contoso-rg/providers/")), "full ids: {row}");
    assert!(row.contains(" 8 h ") && row.contains("Z  "), "{row}");
}

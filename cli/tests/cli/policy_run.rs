//! `lockbox policy run --once`: rules, the audit lines against the service's record, bad policy files, working
//! hours, and the decisions in each output format.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use azure_customer_lockbox_emulator::NewLockboxRequest;

use super::common::*;

const POLICY: &str = r#"
# Ordered rules; the first match decides.
default = "leave"

[[rule]]
name = "never outside the window"
action = "deny"
reason = "outside the approval window"
justification = "(?i)night job"
working_hours = { start = "WINDOW_START", end = "WINDOW_END", utc_offset = "+00:00" }

[[rule]]
name = "storage reads"
action = "approve"
reason = "routine storage diagnostics"
resource_types = ["Microsoft.Storage/storageAccounts"]
resource_id_prefixes = ["/subscriptions/SUB/resourceGroups/contoso-rg/"]
access_levels = ["read"]
max_duration_hours = 8
support_case = true
justification = "(?i)diagnostic"

[[rule]]
name = "no memory dumps"
action = "deny"
reason = "memory dumps need a change request"
justification = "(?i)memory dump"

[[rule]]
name = "key vaults need a human"
action = "leave"
resource_types = ["Key Vault"]
"#;

/// The policy above, with a working-hours window that starts an hour from now (so "now" is outside it).
fn policy_file(dir: &Path) -> PathBuf {
    let now = chrono::Utc::now();
    let start = now + chrono::TimeDelta::hours(1);
    let end = now + chrono::TimeDelta::hours(2);
    let text = POLICY
        .replace("WINDOW_START", &start.format("%H:%M").to_string())
        .replace("WINDOW_END", &end.format("%H:%M").to_string())
        .replace("SUB", SUB);
    let path = dir.join("policy.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn request(kind: &str, resource: &str, hours: u32, why: &str) -> NewLockboxRequest {
    NewLockboxRequest {
        resource_type: kind.into(),
        resource_ids: vec![format!("/subscriptions/{SUB}/resourceGroups/{resource}")],
        duration_hours: hours,
        justification: why.into(),
        ..NewLockboxRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_run_decides_by_rules_and_its_audit_lines_match_the_service_record() {
    let emulator = emulator().await;
    let dir = tempdir("policy");
    let policy = policy_file(&dir);
    let storage = "contoso-rg/providers/Microsoft.Storage/storageAccounts/logs";
    let approve = pending_request(&emulator, SUB, request("Storage Account", storage, 8, "Read diagnostic logs"));
    let too_long = pending_request(&emulator, SUB, request("Storage Account", storage, 24, "Read diagnostic logs"));
    let other_rg = pending_request(
        &emulator,
        SUB,
        request("Storage Account", "other-rg/providers/Microsoft.Storage/storageAccounts/x", 8, "diagnostic"),
    );
    let deny = pending_request(
        &emulator,
        SUB,
        request("Virtual Machine", "batch/providers/Microsoft.Compute/virtualMachines/w", 8, "Collect a memory dump"),
    );
    let vault = pending_request(
        &emulator,
        SUB,
        request("Key Vault", "sec/providers/Microsoft.KeyVault/vaults/kv", 8, "Read diagnostic metadata"),
    );
    let night = pending_request(&emulator, SUB, request("Storage Account", storage, 8, "Night job diagnostic"));
    let pending = [&approve, &too_long, &other_rg, &deny, &vault, &night];
    let audit = dir.join("audit.jsonl");
    let audit_arg = audit.display().to_string();
    let policy_arg = policy.display().to_string();

    // Dry run: a line per pending request, nothing decided.
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy_arg, "--once", "--dry-run"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dry = json_lines(&out.stdout);
    assert_eq!(dry.len(), pending.len());
    assert!(dry.iter().all(|l| l["dryRun"] == true && l["subscription"] == SUB));
    assert!(emulator.decisions().is_empty());
    let by_id = |lines: &[serde_json::Value]| -> BTreeMap<String, serde_json::Value> {
        lines.iter().map(|l| (l["request"].as_str().unwrap().to_owned(), l.clone())).collect()
    };
    let dry = by_id(&dry);
    let verdict =
        |id: &str| (dry[id]["decision"].as_str().unwrap().to_owned(), dry[id]["rule"].as_str().unwrap().to_owned());
    assert_eq!(verdict(&approve), ("approve".into(), "storage reads".into()));
    assert_eq!(verdict(&too_long), ("leave".into(), "default".into()), "duration over 8 hours");
    assert_eq!(verdict(&other_rg), ("leave".into(), "default".into()), "outside the resource id prefix");
    assert_eq!(verdict(&deny), ("deny".into(), "no memory dumps".into()));
    assert_eq!(verdict(&vault), ("leave".into(), "key vaults need a human".into()));
    assert_eq!(verdict(&night), ("approve".into(), "storage reads".into()), "the window rule does not apply now");

    // The real run, to the audit file.
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy_arg, "--once", "--audit", &audit_arg]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "audit lines go to the file");
    let summary = format!("lockbox: policy run: 3 decided, {} left for a human", pending.len() - 3);
    assert!(text(&out.stderr).contains(&summary), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(", 0 failed"), "{}", text(&out.stderr));
    let lines = outcomes(json_lines(&std::fs::read(&audit).unwrap()));
    assert_eq!(lines.len(), pending.len());
    for line in &lines {
        for field in ["request", "subscription", "rule", "decision", "reason", "outcome", "attempts", "reconciled"] {
            assert!(line.as_object().unwrap().contains_key(field), "{field}: {line}");
        }
        // The ids of the service's call are on every line a call is known from, and only there.
        let called = line["attempts"].as_u64().unwrap() > 0;
        for field in ["serviceRequestId", "correlationRequestId"] {
            assert_eq!(line.as_object().unwrap().contains_key(field), called, "{field}: {line}");
        }
    }
    let decided: BTreeSet<(String, String, String)> = lines
        .iter()
        .filter(|l| l["outcome"] == "approved" || l["outcome"] == "denied")
        .map(|l| {
            let decision = if l["decision"] == "approve" { "Approve" } else { "Deny" };
            (l["request"].as_str().unwrap().to_owned(), decision.to_owned(), l["reason"].as_str().unwrap().to_owned())
        })
        .collect();
    let recorded: BTreeSet<(String, String, String)> =
        emulator.decisions().into_iter().map(|d| (d.request_id, d.decision, d.reason.unwrap_or_default())).collect();
    assert_eq!(decided, recorded);
    assert_eq!(recorded.len(), 3, "approve, night and deny");
    assert!(lines.iter().filter(|l| l["decision"] == "leave").all(|l| l["outcome"] == "left for a human"));
    for id in [&too_long, &other_rg, &vault] {
        assert_eq!(emulator.request_status(SUB, id).as_deref(), Some("Pending"));
    }

    // Restarted: nothing is decided twice; the requests left alone are logged again, appended.
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy_arg, "--once", "--audit", &audit_arg]).await;
    assert!(out.status.success());
    let lines = outcomes(json_lines(&std::fs::read(&audit).unwrap()));
    assert_eq!(lines.len(), pending.len() + 3);
    assert!(lines[pending.len()..].iter().all(|l| l["outcome"] == "left for a human"));
    assert_eq!(emulator.decisions().len(), 3);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_policy_file_is_a_usage_error_naming_the_line() {
    let emulator = emulator().await;
    let dir = tempdir("bad-policy");
    for (policy, expected) in [
        ("[[rule]]\naction = \"approve\"\nbogus = 1\n", "line 3: unknown field `bogus`"),
        ("[[rule]]\naction = \"maybe\"\n", "line 2: unknown variant `maybe`"),
        (
            "[[rule]]\nname = \"a\"\naction = \"approve\"\nunconditional = true\n\n[[rule]]\nname = \"b\"\naction = \"deny\"\n",
            "line 6: b: a deny rule needs a reason",
        ),
        (
            "[[rule]]\naction = \"leave\"\njustification = \"(\"\n",
            "line 3: rule 1: justification \"(\" is not a regular expression: unclosed group",
        ),
        (
            "[[rule]]\nname = \"all\"\naction = \"approve\"\n",
            "line 1: all: an approve rule with no condition approves every request",
        ),
        (
            "[[rule]]\nname = \"sub\"\naction = \"approve\"\nsubscriptions = [\"6a1d3f1e\"]\n",
            "line 1: sub: subscription \"6a1d3f1e\" is not a subscription id",
        ),
        (
            "[[rule]]\naction = \"leave\"\nworking_hours = { start = \"8am\", end = \"18:00\" }\n",
            "line 3: rule 1: working_hours: \"8am\" is not HH:MM",
        ),
        ("default = \"approve\"\n", "line 1: the default may be"),
    ] {
        let path = dir.join("policy.toml");
        std::fs::write(&path, policy).unwrap();
        let out = at(&emulator, &[SUB], &["policy", "run", "--file", path.to_str().unwrap(), "--once"]).await;
        assert_eq!(out.status.code(), Some(2), "{policy}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(&format!("policy.toml {expected}")), "{expected}: {stderr}");
    }
    assert_eq!(emulator.requests_received(), 0);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn working_hours_match_by_time_of_day_and_day_of_week_at_a_fixed_offset() {
    let emulator = emulator().await;
    let dir = tempdir("hours");
    let id = pending_request(&emulator, SUB, NewLockboxRequest::default());
    // Now, seen at UTC+05:30: the rule's window is built around it, or away from it.
    let offset = chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
    let now = chrono::Utc::now().with_timezone(&offset);
    let hhmm = |t: chrono::DateTime<chrono::FixedOffset>| t.format("%H:%M").to_string();
    // The window starts an hour ago: it belongs to that day, which is yesterday just after midnight.
    let today = (now - chrono::TimeDelta::hours(1)).format("%a").to_string().to_lowercase();
    let tomorrow =
        (now - chrono::TimeDelta::hours(1) + chrono::TimeDelta::days(1)).format("%a").to_string().to_lowercase();
    let around = (hhmm(now - chrono::TimeDelta::hours(1)), hhmm(now + chrono::TimeDelta::hours(1)));
    let away = (hhmm(now + chrono::TimeDelta::hours(2)), hhmm(now + chrono::TimeDelta::hours(3)));
    for ((start, end), day, matches) in
        [(around.clone(), today.clone(), true), (around, tomorrow, false), (away, today, false)]
    {
        let policy = dir.join("policy.toml");
        std::fs::write(
            &policy,
            format!(
                "[[rule]]\nname = \"in hours\"\naction = \"approve\"\n\
                 working_hours = {{ days = [\"{day}\"], start = \"{start}\", end = \"{end}\", utc_offset = \"+05:30\" }}\n"
            ),
        )
        .unwrap();
        let out =
            at(&emulator, &[SUB], &["policy", "run", "--file", policy.to_str().unwrap(), "--once", "--dry-run"]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let lines = json_lines(&out.stdout);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["request"], id.as_str());
        let expected = if matches { ("in hours", "approve") } else { ("default", "leave") };
        assert_eq!(
            (lines[0]["rule"].as_str().unwrap(), lines[0]["decision"].as_str().unwrap()),
            expected,
            "{day} {start}-{end}"
        );
    }
    assert!(emulator.decisions().is_empty(), "dry runs decide nothing");
    std::fs::remove_dir_all(dir).ok();
}

/// Numbers that overflow are usage errors, never a panic or a wrapped value: an interval of
/// 9999999999999999 hours, a working-hours start of `99999999:00`, a huge `utc_offset`.
#[test]
fn overflowing_durations_hours_and_offsets_are_refused() {
    let out = run(&["--emulator", "requests", "watch", "--interval", "9999999999999999h"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("longer than any interval"), "{stderr}");
    let dir = tempdir("overflow");
    for (field, value) in [("start", "99999999:00"), ("utc_offset", "+99999999:00")] {
        let mut rule = String::from("[[rule]]\nname = \"hours\"\naction = \"approve\"\naccess_level = \"Read\"\n");
        rule.push_str("[rule.hours]\nstart = \"09:00\"\nend = \"17:00\"\n");
        rule = rule.replace(&format!("{field} = \"09:00\""), &format!("{field} = \"{value}\""));
        if field == "utc_offset" {
            rule.push_str(&format!("utc_offset = \"{value}\"\n"));
        }
        let path = dir.join(format!("{field}.toml"));
        std::fs::write(&path, rule).unwrap();
        let out = run(&["--emulator", "policy", "run", "--file", path.to_str().unwrap(), "--once", "--dry-run"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{field}: {stderr}");
        assert!(!stderr.contains("panicked"), "{field}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_run_shows_its_decisions_in_the_output_format_beside_the_audit_file() {
    let emulator = emulator().await;
    let dir = tempdir("policy-output");
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        "[[rule]]\nname = \"writes\"\naction = \"deny\"\nreason = \"no writes\"\naccess_levels = [\"Write\"]\n",
    )
    .unwrap();
    let policy = policy.display().to_string();
    let write =
        pending_request(&emulator, SUB, NewLockboxRequest { access_level: "Write".into(), ..Default::default() });
    let read = pending_request(&emulator, SUB, NewLockboxRequest::default());
    let audit = dir.join("audit.jsonl").display().to_string();

    // A dry run in a table: no audit needed (nothing is decided), the summary on stderr.
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy, "--once", "--dry-run", "-o", "table"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("REQUEST") && lines[0].ends_with("OUTCOME"), "{stdout}");
    assert!(
        lines.iter().any(|l| l.starts_with(&write) && l.contains("writes") && l.ends_with("not decided (dry run)"))
    );
    assert!(lines.iter().any(|l| l.starts_with(&read) && l.contains("default") && l.ends_with("left for a human")));
    assert!(text(&out.stderr).contains("lockbox: policy run: 0 decided, 2 left"), "{}", text(&out.stderr));

    // A real run with no audit file and a format other than JSON lines: refused, nothing decided.
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy, "--once", "-o", "tsv"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("without --audit FILE, stdout is the audit trail, in JSON lines"));
    assert!(emulator.decisions().is_empty());

    // A real run: the audit to the file, each decision on stdout in TSV (no header, raw values).
    let out =
        at(&emulator, &[SUB], &["policy", "run", "--file", &policy, "--once", "--audit", &audit, "-o", "tsv"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    let denied = rows.iter().find(|r| r[1] == write).unwrap();
    assert_eq!(&denied[1..8], [write.as_str(), SUB, "writes", "deny", "denied", "false", "no writes"]);
    assert_eq!(outcomes(json_lines(&std::fs::read(&audit).unwrap())).len(), 2);
    assert_eq!(emulator.decisions().len(), 1);
    assert!(text(&out.stderr).contains("lockbox: policy run: 1 decided, 1 left"), "{}", text(&out.stderr));

    // JSON lines beside the file; YAML documents.
    let out =
        at(&emulator, &[SUB], &["policy", "run", "--file", &policy, "--once", "--audit", &audit, "-o", "jsonl"]).await;
    assert_eq!(json_lines(&out.stdout).len(), 1, "the read is left, and said again");
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy, "--once", "--dry-run", "-o", "yaml"]).await;
    assert!(text(&out.stdout).starts_with("---\nattempts: 0\n"), "{}", text(&out.stdout));
    std::fs::remove_dir_all(dir).ok();
}

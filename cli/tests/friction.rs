//! The rough edges a first trial of the `lockbox` tool ran into (issue 31), each run as a user would: against an
//! emulator in this process (`--emulator --endpoint <its url>`) or the embedded one.
//!
//! Every process a test starts is waited for at most [`common::RUN_LIMIT`], then killed: a hung command fails its test.

#[path = "cli/common.rs"]
#[allow(dead_code)] // each test binary uses a part of the shared helpers
mod common;

use std::{collections::BTreeSet, process::Output};

use azure_customer_lockbox_emulator::{Emulator, Fault, NewSubscription, Seed, SeedRequest};
// `APPROVED` is a sample request of the embedded emulator, `Approved`, with a justification longer than a narrow
// terminal.
use common::{APPROVED, SUB, SUB2, emulator, lockbox, output, text};

/// Runs `args` after the options that point at `endpoint` (an emulator's URL), off the async runtime.
async fn at(endpoint: &str, args: &[&str]) -> Output {
    let mut all = vec!["--emulator".to_owned(), "--endpoint".to_owned(), endpoint.to_owned()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    tokio::task::spawn_blocking(move || output(lockbox().args(&all))).await.unwrap()
}

/// An emulator where the request `id` is pending in both [`SUB`] and [`SUB2`], both visible.
async fn one_id_in_two_subscriptions(id: &str) -> Emulator {
    let emulator = emulator().await;
    let request = |subscription: &str| SeedRequest {
        subscription_id: subscription.to_owned(),
        request_id: Some(id.to_owned()),
        status: None,
        created_date_time: None,
        expiration_date_time: None,
        request: Default::default(),
    };
    emulator.seed(Seed { tenants: Default::default(), requests: vec![request(SUB), request(SUB2)] });
    emulator.add_subscription(NewSubscription::new(SUB));
    emulator.add_subscription(NewSubscription::new(SUB2));
    emulator
}

/// A bare id that names a request in two subscriptions is refused (exit 2), naming both by their full resource
/// ids, tenant-wide and with both subscriptions given; nothing is decided. Its full resource id works.
#[tokio::test(flavor = "multi_thread")]
async fn a_bare_id_in_two_subscriptions_is_refused_naming_both() {
    let id = "3f2e8a1c-0000-4000-8000-00000000d00b";
    let emulator = one_id_in_two_subscriptions(id).await;
    let url = emulator.url().to_string();
    let both = format!("{SUB},{SUB2}");
    for scope in [vec![], vec!["--subscription", both.as_str()]] {
        for command in [
            vec!["requests", "show", id],
            vec!["requests", "approve", id, "--reason", "ok", "--yes"],
            vec!["requests", "deny", id, "--reason", "no", "--yes"],
        ] {
            let mut args = command.clone();
            args.extend(&scope);
            let out = at(&url, &args).await;
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(&format!("request id {id} names 2 requests")), "{args:?}: {stderr}");
            for sub in [SUB, SUB2] {
                let arm = format!("/subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests/{id}");
                assert!(stderr.contains(&arm), "{args:?} names {arm}: {stderr}");
            }
        }
    }
    assert!(emulator.decisions().is_empty(), "{:?}", emulator.decisions());
    let arm = format!("/subscriptions/{SUB2}/providers/Microsoft.CustomerLockbox/requests/{id}");
    let out = at(&url, &["-o", "json", "requests", "approve", &arm, "--reason", "this one", "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let decided: Vec<(String, String)> =
        emulator.decisions().into_iter().map(|d| (d.subscription_id, d.request_id)).collect();
    assert_eq!(decided, [(SUB2.to_owned(), id.to_owned())]);
}

/// A subscription GUID the credential cannot see is not an empty queue: it is named as not visible and the
/// exit status is 3 (1 beside a visible one, which is listed).
#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_the_credential_cannot_see_is_named_not_listed_as_empty() {
    let emulator = emulator().await;
    emulator.sample_data(SUB);
    emulator.add_subscription(NewSubscription::new(SUB));
    let url = emulator.url().to_string();
    let unseen = "11111111-2222-4333-8444-555555555555";
    let out = at(&url, &["requests", "list", "--subscription", unseen]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(!stdout.contains("(none)"), "{stdout}");
    assert!(stderr.contains(&format!("subscription {unseen} is not among the subscriptions")), "{stderr}");
    let out = at(&url, &["requests", "list", "--subscription", &format!("{SUB},{unseen}")]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains(APPROVED), "{stdout}");
    assert!(stderr.contains(unseen) && !stderr.contains(&format!("subscription {SUB} is not")), "{stderr}");
    // A visible subscription with no request is an empty queue.
    emulator.add_subscription(NewSubscription::new(SUB2));
    let out = at(&url, &["requests", "list", "--subscription", SUB2]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "(none)\n");
}

/// One subscription given in two letter cases is listed once: subscriptions compare as GUIDs.
#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_given_in_two_letter_cases_is_listed_once() {
    let emulator = emulator().await;
    let ids = emulator.sample_data(SUB);
    emulator.add_subscription(NewSubscription::new(SUB));
    let url = emulator.url().to_string();
    let upper = SUB.to_uppercase();
    let out = at(&url, &["-o", "tsv", "requests", "list", "--subscription", SUB, "--subscription", &upper]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let listed: Vec<&str> = stdout.lines().filter_map(|l| l.split('\t').next()).collect();
    assert_eq!(listed.len(), ids.len(), "{stdout}");
    assert_eq!(listed.iter().collect::<BTreeSet<_>>().len(), ids.len(), "{stdout}");
}

/// `-o wide` shows the justification whole, however narrow the terminal; `-o table` cuts it to the width.
#[test]
fn wide_output_keeps_the_justification_whole() {
    let out = output(lockbox().env("COLUMNS", "80").args(["--emulator", "-o", "wide", "requests", "list"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let whole = "Blob reads intermittently fail with 503; need to read storage analytics logs.";
    assert!(stdout.lines().any(|l| l.starts_with(APPROVED) && l.ends_with(whole)), "{stdout}");
    let out = output(lockbox().env("COLUMNS", "80").args(["--emulator", "-o", "table", "requests", "list"]));
    let stdout = text(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with(APPROVED)).unwrap();
    assert!(line.ends_with('…') && !line.contains(whole), "{stdout}");
}

/// `-v -v` counts (as `-vv` does), and `-y` is `--yes`.
#[tokio::test(flavor = "multi_thread")]
async fn verbose_counts_and_yes_has_a_short_form() {
    let emulator = emulator().await;
    let ids = emulator.sample_data(SUB);
    let url = emulator.url().to_string();
    for verbose in [&["-v", "-v"][..], &["-vv"], &["-v"], &["--verbose", "-v"]] {
        // One 503, retried: the retry is logged at debug level, which any -v shows.
        emulator.inject(Fault::status(503));
        let mut args = verbose.to_vec();
        args.extend(["requests", "list", "--subscription", SUB]);
        let out = at(&url, &args).await;
        assert!(out.status.success(), "{verbose:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("retrying"), "{verbose:?}: {}", text(&out.stderr));
    }
    let pending = &ids[3];
    let out = at(&url, &["requests", "approve", pending, "--reason", "short yes", "-y", "--subscription", SUB]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(emulator.request_status(SUB, pending).as_deref(), Some("Approved"));
}

/// A refused connection to an emulator on this machine is said at once: one attempt, not four over six
/// seconds. Counted by the log of attempts, not timed.
#[test]
fn a_refused_connection_on_this_machine_is_said_after_one_attempt() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}/");
    let out = output(lockbox().args(["--emulator", "--endpoint", &endpoint, "-v", "tenant", "status"]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("after 1 attempt(s)"), "{stderr}");
    assert!(!stderr.contains("retrying"), "{stderr}");
    assert!(stderr.contains("is the emulator running?"), "{stderr}");
}

/// `--interval` is read by humantime: compound durations work; nonsense and zero are usage errors.
#[tokio::test(flavor = "multi_thread")]
async fn intervals_are_read_as_durations() {
    let emulator = emulator().await;
    emulator.sample_data(SUB);
    let url = emulator.url().to_string();
    let dir = std::env::temp_dir().join(format!("lockbox-friction-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[[rule]]\nname = \"r\"\naction = \"approve\"\naccess_levels = [\"Write\"]\n").unwrap();
    let policy = policy.to_str().unwrap();
    for good in ["1m 30s", "90", "1h", "500ms"] {
        let args =
            ["policy", "run", "--file", policy, "--once", "--dry-run", "--interval", good, "--subscription", SUB];
        let out = at(&url, &args).await;
        assert!(out.status.success(), "{good}: {}", text(&out.stderr));
    }
    for bad in ["0s", "soon", "10 parsecs", ""] {
        let out = output(lockbox().args(["--emulator", "requests", "watch", "--interval", bad]));
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out.stderr));
    }
}

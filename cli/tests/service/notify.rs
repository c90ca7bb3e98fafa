//! A request left for a person reaches a person: a webhook or a command per request left, tried again with
//! backoff, with the same idempotency key from every run.

use std::collections::{BTreeMap, BTreeSet};

use crate::{SUB, bot, collector::Webhook, emulator, finish, pending, text, workdir};

fn key(request: &str) -> String {
    format!("lockbox-left-for-person:{SUB}:{request}")
}

#[tokio::test(flavor = "multi_thread")]
async fn each_request_left_is_posted_to_the_webhook_retried_on_503_with_one_key_across_restarts() {
    let emulator = emulator().await;
    let dir = workdir("webhook");
    let vaults = [pending(&emulator, "Key Vault", "read the metadata"), pending(&emulator, "Key Vault", "list keys")];
    pending(&emulator, "Storage Account", "read the logs");
    // The first two posts are answered 503: two notifications are tried again.
    let (webhook, url) = Webhook::start(&[503, 503]).await;
    // A chat webhook's URL holds its token: it is never said.
    let url = format!("{url}?sig=sekrit-signature");
    let out = finish(bot(&emulator, &dir, &["--once", "--notify-url", &url])).await;
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("requests left for a person are announced to a webhook on 127.0.0.1"), "{stderr}");
    assert!(stderr.contains("trying again in"), "{stderr}");
    assert!(!stderr.contains("sekrit"), "the webhook's URL is said: {stderr}");

    let posted = webhook.posted();
    assert_eq!(posted.len(), 4, "2 requests left, 2 posts answered 503 and tried again: {posted:#?}");
    let expected: BTreeSet<String> = vaults.iter().map(|id| key(id)).collect();
    let keys: BTreeSet<String> = posted.iter().map(|p| p.key.clone().unwrap()).collect();
    assert_eq!(keys, expected);
    let delivered: BTreeMap<String, usize> =
        posted.iter().filter(|p| p.status == 200).fold(BTreeMap::new(), |mut n, p| {
            *n.entry(p.key.clone().unwrap()).or_default() += 1;
            n
        });
    assert_eq!(delivered.values().copied().collect::<Vec<_>>(), [1, 1], "each delivered once: {posted:#?}");
    for post in &posted {
        let body = &post.body;
        let request = body["request"].as_str().unwrap();
        assert!(vaults.iter().any(|v| v == request), "{body}");
        assert_eq!(body["event"], "left-for-person");
        assert_eq!(body["idempotencyKey"].as_str(), post.key.as_deref(), "the body and the header agree");
        assert_eq!(body["subscription"], SUB);
        assert_eq!(body["rule"], "key vaults need a human");
        assert!(body["time"].as_str().is_some(), "{body}");
    }

    // A restart (or another replica) announces the same requests under the same keys: the receiver drops them.
    let out = finish(bot(&emulator, &dir, &["--once", "--notify-url", &url])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = &webhook.posted()[4..];
    assert_eq!(again.len(), 2, "{again:#?}");
    assert_eq!(again.iter().map(|p| p.key.clone().unwrap()).collect::<BTreeSet<_>>(), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_that_refuses_with_a_4xx_is_not_tried_again_and_the_bot_says_it_gave_up() {
    let emulator = emulator().await;
    let dir = workdir("webhook-400");
    let vault = pending(&emulator, "Key Vault", "read the metadata");
    let (webhook, url) = Webhook::start(&[400]).await;
    let out = finish(bot(&emulator, &dir, &["--once", "--notify-url", &url])).await;
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "a notification that fails does not fail the pass: {stderr}");
    assert_eq!(webhook.posted().len(), 1);
    assert!(
        stderr.contains(&format!("cannot notify of request {vault}, giving up: the webhook answered 400")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notify_command_gets_the_body_and_key_is_run_again_until_it_succeeds_and_keeps_off_stdout() {
    let emulator = emulator().await;
    let dir = workdir("command");
    let vault = pending(&emulator, "Key Vault", "read the metadata");
    // Fails on its first run, succeeds on its second; says something on its stdout each time.
    let command = format!(
        "n=$(cat {d}/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > {d}/count; cat > {d}/body-$n.json; \
         echo \"$LOCKBOX_IDEMPOTENCY_KEY\" >> {d}/keys; echo hello-from-the-hook; [ $n -ge 2 ]",
        d = dir.display()
    );
    let out = finish(bot(&emulator, &dir, &["--once", "--notify-command", &command])).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.join("count")).unwrap().trim(), "2", "{stderr}");
    let keys = std::fs::read_to_string(dir.join("keys")).unwrap();
    assert_eq!(keys.lines().collect::<Vec<_>>(), [key(&vault), key(&vault)]);
    let body: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("body-2.json")).unwrap()).unwrap();
    assert_eq!(body["request"], vault.as_str());
    assert_eq!(body["idempotencyKey"], key(&vault).as_str());
    // stdout is the audit trail: the hook's output goes to stderr.
    assert!(!stdout.contains("hello-from-the-hook") && stderr.contains("hello-from-the-hook"), "{stdout}\n{stderr}");
    assert!(stdout.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hook_that_is_not_http_or_two_hooks_at_once_are_usage_errors_before_anything_is_sent() {
    let emulator = emulator().await;
    let dir = workdir("bad-hook");
    pending(&emulator, "Key Vault", "read the metadata");
    for (args, says) in [
        (&["--notify-url", "ftp://files.example.com/drop"][..], "the webhook must be an http:// or https:// URL"),
        (&["--notify-url", "not a url"][..], "not a URL"),
        (&["--notify-url", "http://127.0.0.1:9/x", "--notify-command", "true"][..], "cannot be used with"),
    ] {
        let mut all = vec!["--once"];
        all.extend_from_slice(args);
        let out = finish(bot(&emulator, &dir, &all)).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(says), "{args:?}: {}", text(&out.stderr));
    }
    assert_eq!(emulator.requests_received(), 0);
}

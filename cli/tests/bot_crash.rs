//! The crash test: `lockbox policy run` killed with SIGKILL at seeded random points, again and again, against an
//! emulator, and restarted each time; then one last run to the end. Whatever a kill cut, the next start settles:
//! - every request is decided at most once (the emulator's record, `/_emulator/decisions`), and no decision is
//!   sent for a request already decided (`/_emulator/decision-posts`);
//! - every intent line has exactly one outcome line that settles it, and no outcome names an unknown intent;
//! - every outcome agrees with the emulator's record;
//! - every request the policy decides is decided, each claimed by at most one outcome line.
//!
//! The kill points come from a seeded generator (`LOCKBOX_CRASH_SEED`, default 30): after a random number of new
//! audit lines, then a random few milliseconds. The assertions hold wherever a kill lands; no assertion is on
//! timing. The figures are printed (run with `--nocapture` to see them).

mod botkit;

use std::time::Duration;

use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig};
use botkit::*;

const KILLS: usize = 60;
const REQUESTS: usize = 150;

#[tokio::test(flavor = "multi_thread")]
async fn a_bot_killed_at_random_points_decides_each_request_once_and_settles_every_intent() {
    let seed: u64 = std::env::var("LOCKBOX_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emulator.set_latency(Some(Duration::ZERO..=Duration::from_millis(15)));
    let ids = requests(&emulator, SUB, REQUESTS);
    let dir = tempdir("crash");
    let (audit, log, policy) = (dir.join("audit.jsonl"), dir.join("stderr"), policy(&dir, "a"));
    let mut rng = fastrand::Rng::with_seed(seed);
    tokio::task::block_in_place(|| {
        for kill in 0..KILLS {
            let mut bot = bot(&emulator, &[SUB], &policy, &audit, &log, &["--interval", "20ms"]);
            let lines = trail(&audit).len();
            wait_for_lines(&audit, lines + rng.usize(0..=3), &mut bot);
            std::thread::sleep(Duration::from_millis(rng.u64(0..15)));
            if let Some(status) = bot.try_wait().unwrap() {
                panic!("kill {kill}: the bot ended by itself ({status}): {}", std::fs::read_to_string(&log).unwrap());
            }
            bot.kill().unwrap();
            bot.wait().unwrap();
        }
        let mut last = bot(&emulator, &[SUB], &policy, &audit, &log, &["--once"]);
        let status = wait(&mut last, "the last run");
        assert!(status.success(), "{}", std::fs::read_to_string(&log).unwrap());
    });

    let records = recorded(&emulator);
    let lines = trail(&audit);
    let paired = Paired::of(&lines);
    let count = |outcome: &str| paired.outcomes().filter(|(.., line)| line["outcome"] == outcome).count();
    let reconciled = paired.outcomes().filter(|(.., line)| line["reconciled"] == true).count();
    println!(
        "crash test (seed {seed}): {KILLS} kills, {} requests, {} decisions recorded, {} double decisions, {} \
         decision POSTs after the decision, {} intents, {} open intents, {} settled twice, {} outcomes naming no \
         intent; outcomes: {} approved or denied, {} decided by this bot or another, {} not sent, {} decided by \
         another, {} reconciled",
        ids.len(),
        records.len(),
        double_decisions(&emulator),
        late_posts(&emulator),
        paired.intents.len(),
        paired.open(),
        paired.settled_twice(),
        paired.orphans.len(),
        count("approved") + count("denied"),
        count("decided, by this bot or another"),
        count("not sent"),
        count("decided by another"),
        reconciled,
    );
    assert_eq!(double_decisions(&emulator), 0);
    // Nor was a decision sent for a request already decided: a restart never resends what a kill cut.
    assert_eq!(late_posts(&emulator), 0);
    assert_eq!((paired.open(), paired.settled_twice(), paired.orphans.len()), (0, 0, 0));
    for (request, decision, line) in paired.outcomes() {
        assert!(agrees(line, decision, records.get(request)), "{line} against {:?}", records.get(request));
    }
    // Each request the policy decides is decided, as the policy says, and claimed at most once.
    for (n, id) in ids.iter().enumerate() {
        let wanted = [Some("Approve"), Some("Deny"), Some("Approve"), Some("Deny"), None][n % 5];
        let got = records.get(id).map(|r| r[0].decision.as_str());
        assert_eq!(got, wanted, "request {id}");
        let claims = paired
            .outcomes()
            .filter(|(request, _, line)| {
                *request == id.as_str()
                    && matches!(
                        line["outcome"].as_str(),
                        Some("approved" | "denied" | "decided, by this bot or another")
                    )
            })
            .count();
        assert_eq!(claims, usize::from(wanted.is_some()), "request {id}: {claims} lines take its decision");
    }
    assert!(count("decided, by this bot or another") + count("not sent") > 0, "no kill cut a decision");
    std::fs::remove_dir_all(dir).ok();
}

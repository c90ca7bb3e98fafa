//! The replica test: three `lockbox policy run` replicas on the same scope, with no coordinator, over 500
//! requests, killed with SIGKILL at seeded random points and restarted, then stopped with SIGTERM and started
//! once more. It shows:
//! - 0 double decisions (the emulator's record, `/_emulator/decisions`);
//! - 0 intent lines without an outcome, in every replica's trail;
//! - each recorded decision claimed (`approved`, `denied`) by exactly the replica whose call the service
//!   recorded, and by no other. The emulator records each decision's reason, and each replica's reasons end
//!   with its own name, so the test knows whose call it was. The one exception the bot cannot avoid: when a
//!   kill took the service's answer with it, the replica that sent the call cannot know it was its own (the
//!   service does not say who decided), so its restart writes `decided, by this bot or another` instead; the
//!   test checks that such a decision is claimed by no replica and that its sender wrote exactly that.
//!
//! The kill points come from a seeded generator (`LOCKBOX_REPLICA_SEED`, default 7). No assertion is on timing.
//! The figures are printed (run with `--nocapture` to see them).

mod botkit;

use std::{collections::BTreeSet, process::Child, time::Duration};

use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig};
use botkit::*;

const REPLICAS: usize = 3;
const KILLS: usize = 40;

#[tokio::test(flavor = "multi_thread")]
async fn three_replicas_killed_and_restarted_decide_each_request_once_and_each_decision_has_one_claimant() {
    let seed: u64 = std::env::var("LOCKBOX_REPLICA_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emulator.set_latency(Some(Duration::ZERO..=Duration::from_millis(10)));
    let mut ids = requests(&emulator, SUB, 250);
    ids.extend(requests(&emulator, SUB2, 250));
    let to_decide = ids.len() / 5 * 4;
    let dir = tempdir("replicas");
    let names: Vec<String> = (0..REPLICAS).map(|n| format!("r{n}")).collect();
    let audits: Vec<_> = names.iter().map(|name| dir.join(format!("{name}.jsonl"))).collect();
    let policies: Vec<_> = names.iter().map(|name| policy(&dir, name)).collect();
    let log = dir.join("stderr");
    let start = |n: usize, args: &[&str]| bot(&emulator, &[SUB, SUB2], &policies[n], &audits[n], &log, args);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut kills = 0;
    tokio::task::block_in_place(|| {
        let mut running: Vec<Child> = (0..REPLICAS).map(|n| start(n, &["--interval", "50ms"])).collect();
        // Kills at random points, then the replicas go on until every request the policy decides is decided.
        while kills < KILLS {
            std::thread::sleep(Duration::from_millis(rng.u64(50..400)));
            let n = rng.usize(0..REPLICAS);
            if let Some(status) = running[n].try_wait().unwrap() {
                panic!("replica {n} ended by itself ({status}): {}", std::fs::read_to_string(&log).unwrap());
            }
            running[n].kill().unwrap();
            running[n].wait().unwrap();
            kills += 1;
            running[n] = start(n, &["--interval", "50ms"]);
        }
        let deadline = std::time::Instant::now() + RUN_LIMIT;
        while emulator.decisions().len() < to_decide {
            assert!(std::time::Instant::now() < deadline, "{} of {to_decide} decided", emulator.decisions().len());
            std::thread::sleep(Duration::from_millis(20));
        }
        for (n, replica) in running.iter_mut().enumerate() {
            signal(replica, "TERM");
            let status = wait(replica, "a replica after SIGTERM");
            assert_eq!(status.code(), Some(0), "replica {n}: {}", std::fs::read_to_string(&log).unwrap());
        }
        // One more start each: what a kill cut just before the SIGTERM is settled.
        for n in 0..REPLICAS {
            let mut last = start(n, &["--once"]);
            assert!(wait(&mut last, "a last run").success(), "{}", std::fs::read_to_string(&log).unwrap());
        }
    });

    let records = recorded(&emulator);
    let trails: Vec<Paired> = audits.iter().map(|audit| Paired::of(&trail(audit))).collect();
    let open: usize = trails.iter().map(Paired::open).sum();
    let twice: usize = trails.iter().map(Paired::settled_twice).sum();
    let orphans: usize = trails.iter().map(|t| t.orphans.len()).sum();
    let (mut by_sender, mut answer_lost, mut by_another_replica, mut unaccounted) = (0, 0, 0, Vec::new());
    for (request, decisions) in &records {
        let reason = decisions[0].reason.as_deref().unwrap_or_default();
        let sender = names.iter().position(|name| reason.ends_with(&format!(" by {name}"))).unwrap();
        let said = |n: usize, outcomes: &[&str]| {
            trails[n]
                .outcomes()
                .any(|(r, _, line)| r == request && outcomes.contains(&line["outcome"].as_str().unwrap()))
        };
        let claimants: BTreeSet<usize> = (0..REPLICAS).filter(|n| said(*n, &["approved", "denied"])).collect();
        by_another_replica += claimants.iter().filter(|n| **n != sender).count();
        if claimants.contains(&sender) {
            by_sender += 1;
        } else if claimants.is_empty() && said(sender, &["decided, by this bot or another"]) {
            answer_lost += 1;
        } else {
            unaccounted.push(request.clone());
        }
    }
    let mut disagree = 0;
    for paired in &trails {
        for (request, decision, line) in paired.outcomes() {
            disagree += usize::from(!agrees(line, decision, records.get(request)));
        }
    }
    println!(
        "replica test (seed {seed}): {REPLICAS} replicas, {kills} kills, {} requests, {} decisions recorded, {} \
         double decisions, {} decision POSTs refused as already decided, {} intents, {open} intents without an \
         outcome, {twice} settled twice, {orphans} outcomes naming no intent, {disagree} outcomes that disagree \
         with the record; decisions claimed by the replica that sent them: {by_sender}, left unclaimed because a \
         kill took the answer (its sender wrote \"decided, by this bot or another\"): {answer_lost}, claimed by \
         a replica that did not send them: {by_another_replica}, unaccounted for: {}",
        ids.len(),
        records.len(),
        double_decisions(&emulator),
        late_posts(&emulator),
        trails.iter().map(|t| t.intents.len()).sum::<usize>(),
        unaccounted.len(),
    );
    assert_eq!(records.len(), to_decide);
    assert_eq!(double_decisions(&emulator), 0);
    assert_eq!((open, twice, orphans, disagree), (0, 0, 0, 0));
    assert_eq!(by_another_replica, 0);
    assert!(unaccounted.is_empty(), "decisions with no claimant and no word from their sender: {unaccounted:?}");
    assert_eq!(by_sender + answer_lost, records.len());
    std::fs::remove_dir_all(dir).ok();
}

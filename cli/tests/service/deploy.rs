//! The deploy recipes in `deploy/`, checked against the tool: every option a recipe passes is one of
//! `lockbox policy run`'s (the recipe's command line is run as written, against the emulator, with only its
//! file paths and listening port moved into the test's own), the probes' and the scrape's paths are served, and
//! the time a recipe gives the bot to stop is longer than its stop bound, as `policy run --help` states it.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use crate::{RUN_LIMIT, Running, SUB, emulator, pending, text, workdir};

/// How long the bot may take to stop after SIGTERM, as `lockbox policy run --help` states it: the loop ends
/// within 25 s (the decision in flight and its outcome line), then the notifications in flight (at most 10 s)
/// and the last traces (at most 10 s). The help's total is checked to be that sum.
fn stop_bound() -> Duration {
    let help = help().split_whitespace().collect::<Vec<_>>().join(" ");
    let seconds_before = |words: &str| -> u64 {
        let at = help.find(words).unwrap_or_else(|| panic!("`policy run --help` does not say {words:?}:\n{help}"));
        let digits = help[..at].chars().rev().take_while(char::is_ascii_digit).collect::<String>();
        digits.chars().rev().collect::<String>().parse().unwrap()
    };
    let (total, the_loop) = (seconds_before("s in all"), seconds_before("s of the signal"));
    assert_eq!(the_loop, 25, "the loop's stop bound");
    assert_eq!(total, the_loop + 10 + 10, "the stop bound said is not the loop's, the notifications' and the traces'");
    Duration::from_secs(total)
}

fn recipe(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::read_to_string(root.join("deploy").join(path)).unwrap()
}

/// `lockbox policy run --help`.
fn help() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lockbox")).args(["policy", "run", "--help"]).output().unwrap();
    assert!(out.status.success());
    text(&out.stdout)
}

/// Every `--option` of `args` is in `lockbox policy run --help`.
fn options_exist(args: &[String]) {
    let help = help();
    let known: Vec<&str> =
        help.split(|c: char| c.is_whitespace() || c == ',').filter(|word| word.starts_with("--")).collect();
    for option in args.iter().filter(|a| a.starts_with("--")) {
        assert!(known.contains(&option.as_str()), "{option} is not an option of `lockbox policy run`:\n{help}");
    }
}

/// Runs `args` (a recipe's, after `policy run`) against an emulator with a pending request, with `--file`,
/// `--audit` and `--listen` moved to the test's own; gives the bot, the base URL of its endpoints and the port
/// the recipe listens on.
async fn run_as_written(args: &[String], policy: Option<&str>) -> (Running, String, u16, impl Sized) {
    let emulator = emulator().await;
    pending(&emulator, "Microsoft.Storage/storageAccounts", "read the logs");
    let dir = workdir("deploy");
    if let Some(policy) = policy {
        std::fs::write(dir.join("policy.toml"), policy).unwrap();
    }
    let mut moved: Vec<String> = Vec::new();
    let mut port = None;
    let mut given = args.iter();
    while let Some(arg) = given.next() {
        moved.push(arg.clone());
        let local: PathBuf = match arg.as_str() {
            "--file" => dir.join("policy.toml"),
            "--audit" => dir.join("audit.jsonl"),
            "--listen" => {
                let address: std::net::SocketAddr = given.next().unwrap().parse().unwrap();
                port = Some(address.port());
                moved.push("127.0.0.1:0".into());
                continue;
            }
            _ => continue,
        };
        given.next();
        moved.push(local.display().to_string());
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_lockbox"));
    command
        .args(["--emulator", "--endpoint", emulator.url().as_str(), "--subscription", SUB])
        .args(&moved)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let running = Running::start(command);
    let base = running.endpoints().await;
    (running, base, port.expect("the recipe passes --listen"), (emulator, dir))
}

/// Asks `base+path` until it answers 200, at most [`RUN_LIMIT`] (readiness comes after the first pass).
async fn served(base: &str, path: &str) {
    let limit = Instant::now() + RUN_LIMIT;
    loop {
        let status = reqwest::get(format!("{base}{path}")).await.unwrap().status().as_u16();
        assert_ne!(status, 404, "{path} is not served");
        if status == 200 {
            return;
        }
        assert!(Instant::now() < limit, "{path} never answered 200; last {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_systemd_unit_runs_the_tool_as_written_and_gives_it_time_to_stop() {
    let unit = recipe("systemd/lockbox-policy.service");
    let setting = |key: &str| {
        let prefix = format!("{key}=");
        unit.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {key} in the unit")).to_owned()
    };
    let exec: Vec<String> = setting("ExecStart").split_whitespace().map(str::to_owned).collect();
    assert_eq!(exec[0], "/usr/local/bin/lockbox");
    assert_eq!(exec[1..3], ["policy", "run"]);
    options_exist(&exec[3..]);
    assert_eq!(setting("KillSignal"), "SIGTERM");
    let stop: u64 = setting("TimeoutStopSec").parse().unwrap();
    let bound = stop_bound();
    assert!(Duration::from_secs(stop) > bound, "TimeoutStopSec={stop} is not above the stop bound {bound:?}");

    let (running, base, _, _keep) = run_as_written(&exec[1..], None).await;
    served(&base, "/healthz").await;
    served(&base, "/readyz").await;
    served(&base, "/metrics").await;
    drop(running);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kubernetes_deployment_runs_two_replicas_with_workload_identity_and_probes_the_endpoints_it_serves() {
    let yaml = recipe("kubernetes/lockbox-policy.yaml");
    let documents: Vec<serde_json::Value> = serde_yaml_ng::Deserializer::from_str(&yaml)
        .map(|document| serde::Deserialize::deserialize(document).unwrap())
        .collect();
    let of_kind = |kind: &str| documents.iter().find(|d| d["kind"] == kind).unwrap_or_else(|| panic!("no {kind}"));
    let deployment = of_kind("Deployment");
    let account = of_kind("ServiceAccount");
    let config = of_kind("ConfigMap");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"];
    assert_eq!(pod["metadata"]["labels"]["azure.workload.identity/use"], "true");
    assert_eq!(pod["spec"]["serviceAccountName"], account["metadata"]["name"]);
    assert!(account["metadata"]["annotations"]["azure.workload.identity/client-id"].is_string());
    let grace = pod["spec"]["terminationGracePeriodSeconds"].as_u64().unwrap();
    let bound = stop_bound();
    assert!(Duration::from_secs(grace) > bound, "terminationGracePeriodSeconds {grace} is not above {bound:?}");

    let container = &pod["spec"]["containers"][0];
    let args: Vec<String> = container["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().into()).collect();
    assert_eq!(args[..2], ["policy", "run"]);
    options_exist(&args[2..]);
    let credential = args.iter().position(|a| a == "--credential").map(|i| args[i + 1].as_str());
    assert_eq!(credential, Some("workload-identity"));

    let policy = config["data"]["policy.toml"].as_str().unwrap();
    let (running, base, port, _keep) = run_as_written(&args, Some(policy)).await;
    let scrape = &pod["metadata"]["annotations"];
    for (probe, path) in [
        ("livenessProbe", container["livenessProbe"]["httpGet"]["path"].as_str().unwrap()),
        ("readinessProbe", container["readinessProbe"]["httpGet"]["path"].as_str().unwrap()),
        ("scrape", scrape["prometheus.io/path"].as_str().unwrap()),
    ] {
        served(&base, path).await;
        let probed = match probe {
            "scrape" => scrape["prometheus.io/port"].as_str().unwrap().parse::<u64>().unwrap(),
            _ => container[probe]["httpGet"]["port"].as_u64().unwrap(),
        };
        assert_eq!(probed, u64::from(port), "{probe} asks the port the bot listens on");
    }
    drop(running);
}

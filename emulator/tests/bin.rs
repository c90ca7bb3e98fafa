//! The standalone server, `lockbox-emulator`, as a user starts it: its sample subscription is listed by
//! `GET /subscriptions` (so a tenant-wide caller finds the sample requests) and holds the six sample requests.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

const SAMPLE: &str = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21";

/// Kills the server when the test ends, whatever way it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn get_json(url: String) -> Value {
    let response = reqwest::Client::new().get(&url).bearer_auth("t").send().await.expect("answered");
    assert_eq!(response.status().as_u16(), 200, "{url}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_sample_subscription_is_listed_and_holds_the_sample_requests() {
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_lockbox-emulator"))
            .args(["--port", "0", "--sample-subscription", SAMPLE])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // The server prints its URL once it listens; read its output in a thread, so a server that never says it
    // cannot hang the test past the deadline.
    let stdout = server.0.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("Customer Lockbox emulator listening on ") {
                let _ = sender.send(url.to_owned());
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = receiver.recv_timeout(deadline - Instant::now()).expect("the server says where it listens");

    let subscriptions = get_json(format!("{url}subscriptions?api-version=2022-12-01")).await;
    let listed: Vec<&str> =
        subscriptions["value"].as_array().unwrap().iter().map(|s| s["subscriptionId"].as_str().unwrap()).collect();
    assert_eq!(listed, [SAMPLE]);
    assert_eq!(subscriptions["value"][0]["state"], "Enabled");

    let requests = get_json(format!(
        "{url}subscriptions/{SAMPLE}/providers/Microsoft.CustomerLockbox/requests?api-version=2018-02-28-preview"
    ))
    .await;
    assert_eq!(requests["value"].as_array().unwrap().len(), 6, "{requests}");
}

/// A sample subscription that is not a GUID is refused before anything starts, with a message that says why.
/// Should the check be lost, the server would start and serve: it is killed after 60 s and the test fails then,
/// rather than hanging.
#[test]
fn a_sample_subscription_that_is_not_a_guid_is_refused() {
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_lockbox-emulator"))
            .args(["--port", "0", "--sample-subscription", "nope"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server started with --sample-subscription nope");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(server.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "a usage error: {stderr}");
    assert!(stderr.contains("invalid value 'nope'") && stderr.contains("a subscription id is a GUID"), "{stderr}");
}

/// Starts the server with `args` and `--port 0`: the server, its URL and its default tenant, as it prints them.
fn start(args: &[&str]) -> (Server, String, String) {
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_lockbox-emulator"))
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = server.0.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut url = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(listening) = line.strip_prefix("Customer Lockbox emulator listening on ") {
                url = Some(listening.to_owned());
            }
            if let (Some(url), Some(tenant)) = (&url, line.strip_prefix("Default tenant: ")) {
                let _ = sender.send((url.clone(), tenant.to_owned()));
            }
        }
    });
    let (url, tenant) = receiver.recv_timeout(Duration::from_secs(60)).expect("the server says where it listens");
    (server, url, tenant)
}

/// A standalone emulator that serves requests says its tenant opted in (a tenant with Lockbox requests is);
/// one that serves none says it did not.
#[tokio::test]
async fn a_standalone_emulator_with_requests_says_its_tenant_opted_in() {
    for (args, opted_in) in [(&["--sample-subscription", SAMPLE][..], true), (&[], false)] {
        let (_server, url, tenant) = start(args);
        let answer = get_json(format!(
            "{url}providers/Microsoft.CustomerLockbox/tenantOptedIn/{tenant}?api-version=2018-02-28-preview"
        ))
        .await;
        assert_eq!(answer["isOptedIn"], opted_in, "{args:?}: {answer}");
    }
}

/// `DELETE /_emulator/faults` drops the faults still queued: the next call is answered as if none was injected.
#[tokio::test]
async fn deleting_the_faults_drops_those_still_queued() {
    let (_server, url, _) = start(&["--sample-subscription", SAMPLE]);
    let http = reqwest::Client::new();
    let fault = serde_json::json!({"kind": "status", "status": 500, "count": 5});
    let injected = http.post(format!("{url}_emulator/faults")).json(&fault).send().await.unwrap();
    assert_eq!(injected.status().as_u16(), 204);
    let cleared = http.delete(format!("{url}_emulator/faults")).send().await.unwrap();
    assert_eq!(cleared.status().as_u16(), 204, "{:?}", cleared.text().await);
    let requests = get_json(format!(
        "{url}subscriptions/{SAMPLE}/providers/Microsoft.CustomerLockbox/requests?api-version=2018-02-28-preview"
    ))
    .await;
    assert_eq!(requests["value"].as_array().unwrap().len(), 6, "{requests}");
}

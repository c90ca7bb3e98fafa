//! Terminal-safe output, on stdout and stderr: text a server or a requester chose (every field the tool prints
//! for people, the subscription ids and states of `Subscriptions_List` in the notes about subscriptions that
//! cannot be listed or are skipped, error messages) holds escape sequences, bidirectional overrides and other
//! control characters, and none of them reaches either stream raw; `-v` writes no colour into a pipe.

#[path = "cli/common.rs"]
#[allow(dead_code)] // each test binary uses a part of the shared helpers
mod common;

use std::{
    io::{Read, Write},
    net::TcpListener,
    process::Output,
};

use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, NewLockboxRequest};

use common::{SUB, SUB2};

/// Escape sequences (CSI, OSC with a bell, an 8-bit CSI), bidirectional overrides and isolates, a carriage
/// return, a backspace and a tab.
const NASTY: &str = "\u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m\u{202e}\u{2066}\u{200f}\r\u{8}\t";

/// Runs the tool to its end, within [`common::RUN_LIMIT`].
fn lockbox(args: &[&str]) -> Output {
    common::output(common::lockbox().args(args))
}

/// The first character of `text` that a terminal would act on: a control character other than a line break,
/// or a bidirectional control.
fn raw_control(text: &str) -> Option<char> {
    text.chars().find(|c| {
        (c.is_control() && *c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
    })
}

fn assert_terminal_safe(what: &str, out: &Output) {
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(raw_control(&stdout), None, "{what}: stdout {stdout:?}");
    assert_eq!(raw_control(&stderr), None, "{what}: stderr {stderr:?}");
}

/// Every field of a request the tool shows people, in every person's format, also with `-v`.
#[tokio::test(flavor = "multi_thread")]
async fn every_field_of_a_request_is_shown_escaped_on_stdout_and_stderr() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let nasty = |field: &str| format!("{field}{NASTY}end");
    let id = emulator.create_request(
        SUB,
        NewLockboxRequest {
            justification: nasty("why"),
            resource_ids: vec![format!("/subscriptions/{SUB}/resourceGroups/rg{NASTY}/x")],
            resource_type: nasty("type"),
            support_request: nasty("1201"),
            access_level: nasty("Read"),
            workitem_source: nasty("source"),
            ..NewLockboxRequest::default()
        },
    );
    let endpoint = emulator.url().to_string();
    let base = ["--emulator", "--endpoint", endpoint.as_str(), "--subscription", SUB];
    for args in [
        vec!["requests", "list"],
        vec!["-o", "wide", "requests", "list"],
        vec!["requests", "show", id.as_str()],
        vec!["-o", "wide", "requests", "show", id.as_str()],
        vec!["-v", "requests", "list"],
    ] {
        let all: Vec<String> = base.iter().chain(args.iter()).map(|a| a.to_string()).collect();
        let out = tokio::task::spawn_blocking(move || lockbox(&all.iter().map(String::as_str).collect::<Vec<_>>()))
            .await
            .unwrap();
        assert_terminal_safe(&format!("{args:?}"), &out);
        if args.contains(&"show") && !args.contains(&"no-such-request") {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.contains("why\\u{1b}[2J"), "{args:?}: the field is shown, escaped: {stdout}");
        }
    }
}

/// A server whose `Subscriptions_List` names subscriptions with control characters in their ids and states:
/// one that cannot be listed (its id is not a GUID), one skipped (its state is not active), and one whose
/// listing answers `503` with control characters in its error (retried, so `-v` logs each try).
fn hostile_subscriptions() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let page = serde_json::json!({"value": [
        {"id": format!("/subscriptions/bad{NASTY}id"), "subscriptionId": format!("bad{NASTY}id"),
         "displayName": format!("name{NASTY}"), "state": "Enabled"},
        {"id": format!("/subscriptions/{SUB}"), "subscriptionId": SUB, "displayName": "x",
         "state": format!("Warned{NASTY}")},
        {"id": format!("/subscriptions/{SUB2}"), "subscriptionId": SUB2, "displayName": "y", "state": "Enabled"},
    ]})
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut buffer = [0u8; 4096];
            while !head.ends_with(b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(read) => head.extend_from_slice(&buffer[..read]),
                }
            }
            let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_owned();
            let error = |code: &str, message: &str| {
                serde_json::json!({"error": {"code": format!("{code}{NASTY}"), "message": format!("{message}{NASTY}")}})
                    .to_string()
            };
            let (status, body) = if line.starts_with("GET /subscriptions?") {
                ("200 OK", page.clone())
            } else if line.contains(SUB2) {
                ("503 Service Unavailable", error("Busy", "later"))
            } else {
                ("403 Forbidden", error("Nope", "refused"))
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\
                 x-ms-request-id: rid-1\r\n\r\n{body}",
                body.len(),
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    url
}

#[test]
fn subscription_ids_and_states_from_the_service_are_shown_escaped_in_the_notes() {
    let url = hostile_subscriptions();
    for args in [vec!["requests", "list"], vec!["-v", "requests", "list"], vec!["-o", "wide", "requests", "list"]] {
        let all: Vec<&str> =
            ["--emulator", "--endpoint", url.as_str()].into_iter().chain(args.iter().copied()).collect();
        let out = lockbox(&all);
        assert_terminal_safe(&format!("{args:?}"), &out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("cannot list subscription bad\\u{1b}[2J"), "{args:?}: {stderr}");
        assert!(stderr.contains("Warned\\u{1b}[2J"), "{args:?}: the skipped one's state, escaped: {stderr}");
        assert!(stderr.contains("later\\u{1b}[2J"), "{args:?}: the service's message, escaped: {stderr}");
        if args.contains(&"-v") {
            assert!(stderr.contains("DEBUG"), "{args:?}: -v logs each retry, with no colour in a pipe: {stderr}");
        }
    }
}

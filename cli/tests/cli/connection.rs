//! Without `--emulator`, or with an emulator that does not answer: the errors that say how to connect.

use super::common::*;

#[test]
fn without_emulator_it_goes_to_azure_and_says_how_to_sign_in() {
    // No Azure CLI / azd login available (no tools on PATH): a clear error with the command to fix it, for a
    // subscription given and tenant-wide alike, and never a fallback to sample data: nothing is approved.
    let empty = tempdir("no-tools");
    for args in [
        &["--subscription", SUB, "requests", "list"][..],
        &["requests", "list"],
        &["requests", "approve", PENDING, "--reason", "r", "--yes"],
        &["requests", "watch"],
    ] {
        let out = output(lockbox().env("PATH", &empty).args(args));
        assert_eq!(out.status.code(), Some(5), "{args:?}: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("run `az login`") && stderr.contains("--managed-identity"), "{args:?}: {stderr}");
        assert!(!stderr.contains("embedded emulator"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    std::fs::remove_dir_all(empty).ok();
}

#[test]
fn an_unreachable_emulator_says_connection_refused_and_asks_if_it_is_running() {
    // A port nothing listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}/");
    let out = run(&["--emulator", "--endpoint", &endpoint, "--subscription", SUB, "requests", "list"]);
    assert_eq!(out.status.code(), Some(5));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("connection refused"), "{stderr}");
    assert!(
        stderr.ends_with(&format!(
            "lockbox: connection refused at {endpoint}: is the emulator running? (start it with `cargo run -p \
             azure_customer_lockbox_emulator -- --port {port}`)\n"
        )),
        "{stderr}"
    );
}

#[test]
fn with_subscriptions_given_and_no_credential_it_does_not_claim_to_list_subscriptions() {
    let empty = tempdir("no-tools-given");
    let out = output(lockbox().env("PATH", &empty).args(["--subscription", SUB, "requests", "list"]));
    assert_eq!(out.status.code(), Some(5));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with(&format!("lockbox: cannot list the requests of subscription {SUB}: ")), "{stderr}");
    assert!(!stderr.contains("cannot list the subscriptions"), "{stderr}");
    std::fs::remove_dir_all(empty).ok();
}

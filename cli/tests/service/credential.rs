//! The credential a run chooses is said at start, and no secret of the environment reaches its output.

use std::process::Command;

use crate::{finish, text, workdir};

const SECRET: &str = "Zq8~never-shown-client-secret-value";

fn lockbox(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lockbox"));
    for name in ["AZURE_SUBSCRIPTION_ID", "AZURE_TOKEN_CREDENTIALS", "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT"]
    {
        command.env_remove(name);
    }
    command
        .args(args)
        .env("AZURE_CLIENT_ID", "0d5e2a4c-1111-4222-8333-944455556666")
        .env("AZURE_CLIENT_SECRET", SECRET)
        .env("AZURE_CLIENT_CERTIFICATE_PASSWORD", SECRET)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn a_half_configured_service_principal_is_refused_naming_the_missing_variable_not_the_secret() {
    let dir = workdir("credential-half");
    let mut command = lockbox(&dir, &["--subscription", crate::SUB, "requests", "list"]);
    command.env_remove("AZURE_TENANT_ID");
    let out = finish(command).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("AZURE_CLIENT_SECRET is set, but client secret needs"), "{stderr}");
    assert!(stderr.contains("not set: AZURE_TENANT_ID"), "{stderr}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET), "{stdout}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_run_says_the_credential_it_chose_and_no_secret_whatever_becomes_of_its_sign_in() {
    let dir = workdir("credential-said");
    // Entra ID and the service on this machine, where nothing listens: the sign-in is refused at once, and the
    // bot ends; what matters is what it says on the way.
    let mut command = lockbox(
        &dir,
        &["--endpoint", "http://127.0.0.1:9", "--subscription", crate::SUB, "policy", "run", "--once", "--file"],
    );
    command
        .arg(dir.join("policy.toml"))
        .env("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47")
        .env("AZURE_AUTHORITY_HOST", "https://127.0.0.1:9");
    let out = finish(command).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        stderr.contains(
            "lockbox: policy run: credential: client secret, because AZURE_CLIENT_SECRET is set; tenant \
             72f988bf-86f1-41af-91ab-2d7cd011db47; client 0d5e2a4c-1111-4222-8333-944455556666"
        ),
        "{stderr}"
    );
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET), "{stdout}\n{stderr}");
}

//! The choice of credential as a table: environment (and option) → kind, and that nothing said about a choice
//! holds a secret.

use super::{Kind, choose};

const SECRET_VALUE: &str = "s3cr3t-value-that-must-never-be-shown";
const PASSWORD_VALUE: &str = "pfx-password-never-shown";

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |name| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone())
}

/// The environment of a row: variables and their values.
type Env<'a> = &'a [(&'a str, &'a str)];

const TENANT: (&str, &str) = ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47");
const CLIENT: (&str, &str) = ("AZURE_CLIENT_ID", "0d5e2a4c-1111-4222-8333-944455556666");
const SECRET: (&str, &str) = ("AZURE_CLIENT_SECRET", SECRET_VALUE);
const CERT: (&str, &str) = ("AZURE_CLIENT_CERTIFICATE_PATH", "/etc/lockbox/sp.pfx");
const CERT_PASSWORD: (&str, &str) = ("AZURE_CLIENT_CERTIFICATE_PASSWORD", PASSWORD_VALUE);
const TOKEN_FILE: (&str, &str) = ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token");
const IDENTITY: (&str, &str) = ("IDENTITY_ENDPOINT", "http://169.254.129.5:8081/msi/token");

#[test]
fn the_environment_chooses_as_azures_default_chain_does() {
    use Kind::*;
    let table: &[(Env<'_>, Option<Kind>, Kind)] = &[
        // Nothing configured: the developer's sign-in.
        (&[], None, DeveloperTools),
        (&[TENANT], None, DeveloperTools),
        (&[TENANT, CLIENT], None, DeveloperTools),
        // A service principal, secret before certificate before a federated token.
        (&[TENANT, CLIENT, SECRET], None, ClientSecret),
        (&[TENANT, CLIENT, CERT, CERT_PASSWORD], None, ClientCertificate),
        (&[TENANT, CLIENT, SECRET, CERT, TOKEN_FILE], None, ClientSecret),
        (&[TENANT, CLIENT, CERT, TOKEN_FILE], None, ClientCertificate),
        // AKS workload identity (the webhook sets these three) and federated CI.
        (&[TENANT, CLIENT, TOKEN_FILE], None, WorkloadIdentity),
        (&[TENANT, CLIENT, TOKEN_FILE, IDENTITY], None, WorkloadIdentity),
        // App Service, Container Apps, Arc: the identity endpoint is in the environment.
        (&[IDENTITY], None, ManagedIdentity),
        (&[CLIENT, IDENTITY], None, ManagedIdentity),
        (&[("MSI_ENDPOINT", "http://127.0.0.1:41741/MSI/token/")], None, ManagedIdentity),
        // AZURE_TOKEN_CREDENTIALS narrows the chain.
        (&[("AZURE_TOKEN_CREDENTIALS", "prod")], None, ManagedIdentity),
        (&[("AZURE_TOKEN_CREDENTIALS", "prod"), TENANT, CLIENT, TOKEN_FILE], None, WorkloadIdentity),
        (&[("AZURE_TOKEN_CREDENTIALS", "dev"), TENANT, CLIENT, SECRET], None, DeveloperTools),
        (&[("AZURE_TOKEN_CREDENTIALS", "ManagedIdentityCredential"), TENANT, CLIENT, SECRET], None, ManagedIdentity),
        (&[("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential"), TENANT, CLIENT, CERT], None, ClientCertificate),
        (&[("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")], None, DeveloperTools),
        // The option wins over the environment.
        (&[TENANT, CLIENT, SECRET], Some(ManagedIdentity), ManagedIdentity),
        (&[TENANT, CLIENT, SECRET, TOKEN_FILE], Some(WorkloadIdentity), WorkloadIdentity),
        (&[TENANT, CLIENT, TOKEN_FILE], Some(DeveloperTools), DeveloperTools),
        (&[("AZURE_TOKEN_CREDENTIALS", "dev"), TENANT, CLIENT, CERT], Some(ClientCertificate), ClientCertificate),
        // A variable set to nothing is unset.
        (&[TENANT, CLIENT, ("AZURE_CLIENT_SECRET", ""), TOKEN_FILE], None, WorkloadIdentity),
    ];
    for (row, (env, requested, kind)) in table.iter().enumerate() {
        let choice = choose(*requested, &env_of(env)).unwrap_or_else(|e| panic!("row {row}: {e}"));
        assert_eq!(choice.kind, *kind, "row {row}: {env:?} with {requested:?} chose {}", choice.describe());
    }
}

#[test]
fn a_credential_named_or_half_configured_without_its_variables_is_an_error_naming_them() {
    let table: &[(Env<'_>, Option<Kind>, &str)] = &[
        (&[], Some(Kind::ClientSecret), "not set: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET"),
        (&[TENANT, CLIENT], Some(Kind::ClientCertificate), "not set: AZURE_CLIENT_CERTIFICATE_PATH"),
        (&[TENANT, TOKEN_FILE], Some(Kind::WorkloadIdentity), "not set: AZURE_CLIENT_ID"),
        // A secret with no tenant is a mistake, not a reason to fall through to the developer's sign-in.
        (&[CLIENT, SECRET], None, "AZURE_CLIENT_SECRET is set, but client secret needs AZURE_TENANT_ID"),
        (&[TOKEN_FILE], None, "not set: AZURE_TENANT_ID, AZURE_CLIENT_ID"),
        (&[("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")], None, "needs AZURE_TENANT_ID"),
        (&[("AZURE_TOKEN_CREDENTIALS", "sometimes")], None, "is not one of dev, prod"),
    ];
    for (row, (env, requested, expected)) in table.iter().enumerate() {
        let error = choose(*requested, &env_of(env)).expect_err(&format!("row {row} must be refused"));
        assert!(error.contains(expected), "row {row}: {error:?} lacks {expected:?}");
        assert!(!error.contains(SECRET_VALUE), "row {row}: the error shows the secret: {error}");
    }
}

#[test]
fn what_is_said_about_a_choice_names_ids_and_files_and_never_a_secret() {
    let every = [TENANT, CLIENT, SECRET, CERT, CERT_PASSWORD, TOKEN_FILE, IDENTITY];
    for kind in [
        Kind::ClientSecret,
        Kind::ClientCertificate,
        Kind::WorkloadIdentity,
        Kind::ManagedIdentity,
        Kind::DeveloperTools,
    ] {
        let choice = choose(Some(kind), &env_of(&every)).unwrap();
        for said in [choice.describe(), format!("{choice:?}")] {
            assert!(!said.contains(SECRET_VALUE) && !said.contains(PASSWORD_VALUE), "{kind:?} says a secret: {said}");
        }
    }
    let secret = choose(None, &env_of(&[TENANT, CLIENT, SECRET])).unwrap().describe();
    assert_eq!(
        secret,
        "client secret, because AZURE_CLIENT_SECRET is set; tenant 72f988bf-86f1-41af-91ab-2d7cd011db47; \
         client 0d5e2a4c-1111-4222-8333-944455556666"
    );
    let workload = choose(None, &env_of(&[TENANT, CLIENT, TOKEN_FILE])).unwrap().describe();
    assert!(
        workload.starts_with("workload identity, because AZURE_FEDERATED_TOKEN_FILE is set; tenant "),
        "{workload}"
    );
    assert!(workload.ends_with("; file /var/run/secrets/azure/tokens/azure-identity-token"), "{workload}");
    let system = choose(Some(Kind::ManagedIdentity), &env_of(&[TENANT])).unwrap().describe();
    assert_eq!(system, "managed identity, because --credential managed-identity");
}

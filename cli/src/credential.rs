//! Which credential signs in to Azure: chosen from the environment the way Azure's default-credential chain
//! does, or named with `--credential KIND`, and said once at start (kind, tenant, client id, file paths; never a
//! secret, a token or a certificate's contents).
//!
//! From the environment, in this order (the first that fits wins):
//!
//! | set                                                             | credential                    |
//! |-----------------------------------------------------------------|-------------------------------|
//! | `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`      | client secret                 |
//! | `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_CERTIFICATE_PATH` | client certificate (PKCS #12) |
//! | `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE` | workload identity (AKS, federated CI) |
//! | `IDENTITY_ENDPOINT` or `MSI_ENDPOINT` (App Service, Container Apps, Arc) | managed identity |
//! | nothing of the above                                            | developer tools (Azure CLI, azd) |
//!
//! `AZURE_TOKEN_CREDENTIALS` narrows the chain as in the other Azure SDKs: `dev` is developer tools, `prod` is
//! the rows above it with a managed identity last (for a VM or AKS node, whose identity endpoint is not in the
//! environment), and a credential's name (`WorkloadIdentityCredential`, `ManagedIdentityCredential`,
//! `EnvironmentCredential`, `AzureCliCredential`, `AzureDeveloperCliCredential`) picks that one.
//! `--credential` (or the older `--managed-identity`) wins over both.

use std::{path::PathBuf, sync::Arc, sync::atomic::AtomicBool, sync::atomic::Ordering};

use azure_core::{
    cloud::CloudConfiguration,
    credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions},
    http::{ClientOptions, ExponentialRetryOptions, RetryOptions},
};

#[cfg(test)]
mod tests;

/// The kinds of credential `--credential` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A Kubernetes service account token federated with an Entra app (AKS workload identity, federated CI):
    /// AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE.
    WorkloadIdentity,
    /// The managed identity of the machine, pod or app (user-assigned when AZURE_CLIENT_ID is set).
    ManagedIdentity,
    /// A service principal's secret: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET.
    ClientSecret,
    /// A service principal's certificate, a PKCS #12 file: AZURE_TENANT_ID, AZURE_CLIENT_ID,
    /// AZURE_CLIENT_CERTIFICATE_PATH (and AZURE_CLIENT_CERTIFICATE_PASSWORD if it has one).
    ClientCertificate,
    /// The developer's sign-in: Azure CLI (`az login`), then Azure Developer CLI (`azd auth login`).
    DeveloperTools,
}

/// The credential chosen, and what about it may be said: ids and paths, never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub kind: Kind,
    /// Why this one: the option, or the environment variables that chose it.
    pub because: String,
    tenant_id: Option<String>,
    client_id: Option<String>,
    /// The token file (workload identity) or the certificate file (client certificate).
    file: Option<PathBuf>,
}

const TENANT: &str = "AZURE_TENANT_ID";
const CLIENT: &str = "AZURE_CLIENT_ID";
const SECRET: &str = "AZURE_CLIENT_SECRET";
const CERTIFICATE: &str = "AZURE_CLIENT_CERTIFICATE_PATH";
const CERTIFICATE_PASSWORD: &str = "AZURE_CLIENT_CERTIFICATE_PASSWORD";
const TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
const NARROW: &str = "AZURE_TOKEN_CREDENTIALS";

/// Chooses the credential: `requested` (from `--credential`) if given, else from the environment `env` reads
/// (a variable set to the empty string counts as unset). A credential named but not configured, or a service
/// principal half configured, is an error naming the variables missing, never their values.
pub fn choose(requested: Option<Kind>, env: &dyn Fn(&str) -> Option<String>) -> Result<Choice, String> {
    let var = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    // The file said is the kind's own path variable, never the variable it needs (a secret's is its value).
    let choice = |kind, because: String| Choice {
        kind,
        because,
        tenant_id: var(TENANT),
        client_id: var(CLIENT),
        file: match kind {
            Kind::WorkloadIdentity => var(TOKEN_FILE).map(PathBuf::from),
            Kind::ClientCertificate => var(CERTIFICATE).map(PathBuf::from),
            Kind::ManagedIdentity | Kind::ClientSecret | Kind::DeveloperTools => None,
        },
    };
    let needs = |kind: Kind, also: Option<&str>, because: &str| -> Result<Choice, String> {
        let mut wanted = vec![TENANT, CLIENT];
        wanted.extend(also);
        let missing: Vec<&str> = wanted.iter().copied().filter(|name| var(name).is_none()).collect();
        if missing.is_empty() {
            Ok(choice(kind, because.to_owned()))
        } else {
            Err(format!(
                "{because}, but {} needs {}; not set: {}",
                Choice::name(kind, false),
                wanted.join(", "),
                missing.join(", ")
            ))
        }
    };
    let workload = |because: &str| needs(Kind::WorkloadIdentity, Some(TOKEN_FILE), because);
    let managed = |because: &str| Ok(choice(Kind::ManagedIdentity, because.to_owned()));
    let developer = |because: &str| Ok(choice(Kind::DeveloperTools, because.to_owned()));
    if let Some(kind) = requested {
        let because = format!(
            "--credential {}",
            clap::ValueEnum::to_possible_value(&kind).map(|v| v.get_name().to_owned()).unwrap_or_default()
        );
        return match kind {
            Kind::WorkloadIdentity => workload(&because),
            Kind::ClientSecret => needs(kind, Some(SECRET), &because),
            Kind::ClientCertificate => needs(kind, Some(CERTIFICATE), &because),
            Kind::ManagedIdentity => managed(&because),
            Kind::DeveloperTools => developer(&because),
        };
    }
    // A service principal in the environment, as Azure's EnvironmentCredential reads it; a half-configured one
    // is an error rather than a silent fall to the next credential.
    let service_principal = || -> Result<Option<Choice>, String> {
        for (kind, file) in [(Kind::ClientSecret, SECRET), (Kind::ClientCertificate, CERTIFICATE)] {
            if var(file).is_some() {
                return needs(kind, Some(file), &format!("{file} is set")).map(Some);
            }
        }
        Ok(None)
    };
    let from_environment = |last: Option<Kind>| -> Result<Choice, String> {
        if let Some(choice) = service_principal()? {
            return Ok(choice);
        }
        if var(TOKEN_FILE).is_some() {
            return workload(&format!("{TOKEN_FILE} is set"));
        }
        if let Some(endpoint) = ["IDENTITY_ENDPOINT", "MSI_ENDPOINT"].into_iter().find(|name| var(name).is_some()) {
            return managed(&format!("{endpoint} is set"));
        }
        match last {
            Some(Kind::ManagedIdentity) => managed(&format!("{NARROW}=prod and no other credential is configured")),
            _ => developer("no service credential is configured in the environment"),
        }
    };
    let narrowed = var(NARROW);
    match narrowed.as_deref().map(str::trim) {
        None => from_environment(None),
        Some(text) => {
            let because = format!("{NARROW}={text}");
            match text.to_ascii_lowercase().as_str() {
                "dev" | "azureclicredential" | "azuredeveloperclicredential" => developer(&because),
                "prod" => from_environment(Some(Kind::ManagedIdentity)),
                "workloadidentitycredential" => workload(&because),
                "managedidentitycredential" => managed(&because),
                "environmentcredential" => service_principal()?
                    .ok_or_else(|| format!("{because} needs {TENANT}, {CLIENT} and {SECRET} or {CERTIFICATE}")),
                _ => Err(format!(
                    "{because} is not one of dev, prod, EnvironmentCredential, WorkloadIdentityCredential, \
                     ManagedIdentityCredential, AzureCliCredential, AzureDeveloperCliCredential"
                )),
            }
        }
    }
}

impl Choice {
    /// What may be said about the choice: the kind, why, and its ids and file paths (no secret is in a
    /// `Choice` to say).
    pub fn describe(&self) -> String {
        let mut text = format!("{}, because {}", Self::name(self.kind, self.client_id.is_some()), self.because);
        if self.uses_ids() {
            for (name, value) in [("tenant", &self.tenant_id), ("client", &self.client_id)] {
                if let Some(value) = value {
                    text.push_str(&format!("; {name} {value}"));
                }
            }
        }
        if let Some(file) = &self.file {
            text.push_str(&format!("; file {}", file.display()));
        }
        text
    }

    fn name(kind: Kind, client_id: bool) -> &'static str {
        match kind {
            Kind::WorkloadIdentity => "workload identity",
            Kind::ManagedIdentity if client_id => "managed identity (user-assigned)",
            Kind::ManagedIdentity => "managed identity",
            Kind::ClientSecret => "client secret",
            Kind::ClientCertificate => "client certificate",
            Kind::DeveloperTools => "developer tools (Azure CLI, then Azure Developer CLI)",
        }
    }

    /// Whether the tenant and client ids are the credential's own (a system-assigned managed identity and the
    /// developer tools use neither).
    fn uses_ids(&self) -> bool {
        match self.kind {
            Kind::DeveloperTools => false,
            Kind::ManagedIdentity => self.client_id.is_some(),
            _ => true,
        }
    }

    /// Makes the credential, for `cloud`'s Entra authority (`None`: AZURE_AUTHORITY_HOST, else the public
    /// cloud's, as azure_identity reads it). The secret and the certificate's password are read
    /// from the environment here and handed to azure_identity as [`Secret`]s (whose `Debug` hides them).
    pub fn build(&self, cloud: Option<&CloudConfiguration>) -> azure_core::Result<Arc<dyn TokenCredential>> {
        // Entra ID's blips are tried again 3 times within 10 s (azure_identity's default goes on for a minute):
        // a pass that cannot sign in ends, says why, and the next pass tries again.
        let retry = || {
            RetryOptions::exponential(ExponentialRetryOptions {
                max_retries: 3,
                max_total_elapsed: azure_core::time::Duration::seconds(10),
                ..Default::default()
            })
        };
        let client_options =
            || ClientOptions { cloud: cloud.cloned().map(Arc::new), retry: retry(), ..Default::default() };
        let tenant = self.tenant_id.clone().unwrap_or_default();
        let client = self.client_id.clone().unwrap_or_default();
        Ok(match self.kind {
            Kind::WorkloadIdentity => azure_identity::WorkloadIdentityCredential::new(Some(
                azure_identity::WorkloadIdentityCredentialOptions {
                    credential_options: azure_identity::ClientAssertionCredentialOptions {
                        client_options: client_options(),
                    },
                    client_id: Some(client),
                    tenant_id: Some(tenant),
                    token_file_path: self.file.clone(),
                },
            ))?,
            Kind::ManagedIdentity => azure_identity::ManagedIdentityCredential::new(Some(
                azure_identity::ManagedIdentityCredentialOptions {
                    user_assigned_id: self.client_id.clone().map(azure_identity::UserAssignedId::ClientId),
                    ..Default::default()
                },
            ))?,
            Kind::ClientSecret => azure_identity::ClientSecretCredential::new(
                &tenant,
                client,
                Secret::new(std::env::var(SECRET).unwrap_or_default()),
                Some(azure_identity::ClientSecretCredentialOptions { client_options: client_options() }),
            )?,
            Kind::ClientCertificate => self.certificate(tenant, client, client_options())?,
            Kind::DeveloperTools => azure_identity::DeveloperToolsCredential::new(None)?,
        })
    }

    #[cfg(feature = "client-certificate")]
    fn certificate(
        &self,
        tenant: String,
        client: String,
        client_options: ClientOptions,
    ) -> azure_core::Result<Arc<dyn TokenCredential>> {
        use azure_core::error::ResultExt;
        let path = self.file.clone().unwrap_or_default();
        let bytes = std::fs::read(&path).with_context_fn(azure_core::error::ErrorKind::Credential, || {
            format!("cannot read the client certificate {}", path.display())
        })?;
        let password = std::env::var(CERTIFICATE_PASSWORD).ok().map(Secret::new);
        Ok(azure_identity::ClientCertificateCredential::new(
            tenant,
            client,
            bytes.into(),
            Some(azure_identity::ClientCertificateCredentialOptions { client_options, password }),
        )?)
    }

    #[cfg(not(feature = "client-certificate"))]
    fn certificate(&self, _: String, _: String, _: ClientOptions) -> azure_core::Result<Arc<dyn TokenCredential>> {
        let _ = CERTIFICATE_PASSWORD;
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            "this lockbox was built without the feature `client-certificate`: rebuild with it (it needs OpenSSL's \
             headers), or use another credential",
        ))
    }
}

/// Whether a credential made by [`watched`] has obtained a token (readiness waits for one): the session holds
/// it, and the bot's endpoints are given a clone.
#[derive(Clone, Debug, Default)]
pub struct TokenSeen(Arc<AtomicBool>);

impl TokenSeen {
    /// Whether a token was obtained since this flag was made.
    pub fn obtained(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// `credential`, noting in `seen` when it first obtains a token.
pub fn watched(credential: Arc<dyn TokenCredential>, seen: &TokenSeen) -> Arc<dyn TokenCredential> {
    Arc::new(Watched(credential, seen.clone()))
}

#[derive(Debug)]
struct Watched(Arc<dyn TokenCredential>, TokenSeen);

#[async_trait::async_trait]
impl TokenCredential for Watched {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let token = self.0.get_token(scopes, options).await?;
        self.1.0.store(true, Ordering::Relaxed);
        Ok(token)
    }
}

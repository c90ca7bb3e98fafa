//! Signing in: the embedded emulator (the one place the tool names it), a standalone emulator, or Azure.

use std::sync::Arc;

use azure_core::{cloud::CloudConfiguration, credentials::TokenCredential};
use azure_customer_lockbox::{CustomerLockboxClient, CustomerLockboxClientOptions, Error, StaticTokenCredential};

use super::{Resolved, Session};
use crate::{
    credential::{self, TokenSeen},
    endpoint::Endpoint,
    failure::{Failure, usage},
    options::Cloud,
};

/// The subscription of the embedded emulator's sample data.
const EMULATOR_SUBSCRIPTION: &str = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21";

/// Starts the embedded emulator with sample data: the client, the emulator's tenant, and the emulator to keep
/// running. The one place the CLI names the emulator.
#[cfg(feature = "emulator")]
async fn embedded_emulator(
    token: &TokenSeen,
) -> Result<(CustomerLockboxClient, String, Box<dyn std::any::Any + Send + Sync>), Failure> {
    use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig};
    let emulator =
        Emulator::start(EmulatorConfig::default().with_transition_delay(std::time::Duration::from_millis(300)))
            .await
            .map_err(|e| usage(format!("cannot start the emulator: {e}")))?;
    emulator.sample_data(EMULATOR_SUBSCRIPTION);
    emulator.set_tenant_opted_in(emulator.default_tenant_id(), true);
    say!(
        "lockbox: using the embedded emulator at {} with sample data in subscription {EMULATOR_SUBSCRIPTION}",
        emulator.url()
    );
    let client = CustomerLockboxClient::new(
        credential::watched(StaticTokenCredential::new("lockbox-cli"), token),
        Some(CustomerLockboxClientOptions {
            application_id: Some("lockbox-cli".into()),
            ..CustomerLockboxClientOptions::for_endpoint(emulator.url())?
        }),
    )?;
    let tenant = emulator.default_tenant_id().to_owned();
    Ok((client, tenant, Box::new(emulator)))
}

/// The tenant a standalone emulator answers for by default.
#[cfg(feature = "emulator")]
fn emulator_tenant() -> Option<String> {
    Some(azure_customer_lockbox_emulator::DEFAULT_TENANT_ID.to_owned())
}

/// Without the embedded emulator, its default tenant is not known here: the emulator prints it when it starts.
#[cfg(not(feature = "emulator"))]
fn emulator_tenant() -> Option<String> {
    None
}

/// Without the `emulator` feature, `--emulator` needs `--endpoint` (a standalone emulator).
#[cfg(not(feature = "emulator"))]
async fn embedded_emulator(
    _: &TokenSeen,
) -> Result<(CustomerLockboxClient, String, Box<dyn std::any::Any + Send + Sync>), Failure> {
    Err(usage(
        "this lockbox was built without its embedded emulator (feature `emulator`): give --endpoint with the URL of a \
         standalone emulator"
            .into(),
    ))
}

/// Signs in as the options say: the embedded emulator, a standalone one, or Azure with the credential chosen.
/// Sends nothing.
pub(super) async fn connect(resolved: &Resolved) -> Result<Session, Failure> {
    let (options, output) = (&resolved.service, resolved.output.clone());
    let mut subscriptions = resolved.subscriptions.clone();
    let endpoint = options.endpoint.clone().map(Endpoint::new);
    let loopback = endpoint.as_ref().is_some_and(|endpoint| endpoint.loopback);
    let token = TokenSeen::default();
    if options.emulator && options.endpoint.is_none() {
        let (client, tenant, emulator) = embedded_emulator(&token).await?;
        if subscriptions.is_empty() {
            subscriptions.push(EMULATOR_SUBSCRIPTION.to_owned());
        }
        let credential = "the embedded emulator's (any token)".to_owned();
        return Ok(Session {
            client,
            subscriptions,
            default_tenant: Some(tenant),
            output,
            credential,
            token,
            endpoint,
            _emulator: Some(emulator),
        });
    }
    let (cloud, credential, said): (_, Arc<dyn TokenCredential>, _) = if options.emulator {
        if !loopback {
            return Err(usage("--emulator with --endpoint talks to an emulator on this machine only".into()));
        }
        // The emulator takes any token and speaks as the public cloud; `endpoint` below points at it.
        let said = "the standalone emulator's (any token)".to_owned();
        (CloudConfiguration::AzurePublic, credential::watched(StaticTokenCredential::new("lockbox-cli"), &token), said)
    } else {
        // An explicit endpoint keeps the cloud's audience; the same value configures the credential's authority.
        let cloud = match options.cloud.unwrap_or(Cloud::Public) {
            Cloud::Public => CloudConfiguration::AzurePublic,
            Cloud::China => CloudConfiguration::AzureChina,
            Cloud::UsGov => CloudConfiguration::AzureGovernment,
        };
        // botops: chosen from --credential (or --managed-identity) or the environment, as Azure's default chain.
        let requested = options.credential.or(options.managed_identity.then_some(credential::Kind::ManagedIdentity));
        let choice = credential::choose(requested, &|name| std::env::var(name).ok()).map_err(usage)?;
        let made = choice.build(options.cloud.map(|_| &cloud)).map_err(Error::Credential)?;
        (cloud, credential::watched(made, &token), choice.describe())
    };
    let client = CustomerLockboxClient::new(
        credential,
        Some(CustomerLockboxClientOptions {
            cloud,
            endpoint: options.endpoint.clone(),
            application_id: Some("lockbox-cli".into()),
            ..Default::default()
        }),
    )?;
    Ok(Session {
        client,
        subscriptions,
        // A standalone emulator's tenant is its default one (it prints it when it starts).
        default_tenant: std::env::var("AZURE_TENANT_ID")
            .ok()
            .or_else(|| options.emulator.then(emulator_tenant).flatten()),
        output,
        credential: said,
        token,
        endpoint,
        _emulator: None,
    })
}

//! Where the commands run: the session a command that asks a service signs in to (`connect.rs`), made in one
//! place, [`Connector::session`], the first time a command asks for it, from the options resolved ([`Resolved`],
//! by `cli/resolve.rs`).

use azure_customer_lockbox::{CustomerLockboxClient, Error};
use tokio::sync::OnceCell;

use crate::{
    backend::Backend, credential::TokenSeen, endpoint::Endpoint, failure::Failure, options::Service, output::Output,
};

mod connect;

/// The options of the command run, given after it or else before it.
pub struct Resolved {
    pub service: Service,
    pub subscriptions: Vec<String>,
    pub output: Output,
}

/// Where the commands run: a client, the requests backend, and the emulator if one is embedded.
pub struct Session {
    pub client: CustomerLockboxClient,
    /// The scope: empty for every subscription the credential can see.
    pub subscriptions: Vec<String>,
    pub default_tenant: Option<String>,
    pub output: Output,
    /// Which credential signs in, as may be said (no secret).
    pub credential: String,
    /// Whether that credential has obtained a token (the bot's readiness waits for one).
    pub token: TokenSeen,
    /// The endpoint given with `--endpoint`, for the hints of a refused connection; `None` for Azure's or the
    /// embedded emulator's.
    pub endpoint: Option<Endpoint>,
    /// The embedded emulator, kept running as long as the session.
    _emulator: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Session {
    pub fn backend(&self) -> Result<Backend, Error> {
        Backend::new(self.client.clone(), self.subscriptions.clone(), self.endpoint.clone())
    }
}

/// The one way to a session: made from the resolved options the first time a command asks for it, then kept.
pub struct Connector<'a> {
    resolved: &'a Resolved,
    session: OnceCell<Session>,
}

impl<'a> Connector<'a> {
    pub fn new(resolved: &'a Resolved) -> Self {
        Self { resolved, session: OnceCell::new() }
    }

    /// The session: signed in (said on stderr for the embedded emulator) the first time.
    pub async fn session(&self) -> Result<&Session, Failure> {
        self.session.get_or_try_init(|| connect::connect(self.resolved)).await
    }

    /// The endpoint of the session, if one was made and has one: what a failure's hint names.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        self.session.get().and_then(|session| session.endpoint.as_ref())
    }
}

//! The CLI's one seam onto the SDK for requests: list, find, watch, decide.
//!
//! Everything the commands know about where requests live goes through [`Backend`]. Today it works over the
//! subscriptions given with `--subscription` (one call per subscription, in turn). The tenant-wide API
//! (every subscription the caller can see, `find_request`, a tenant-wide watch, and decisions that carry the
//! service's request and correlation ids) replaces the bodies of these four methods and [`Backend::new`];
//! the commands, the output and the policy engine do not change.

use std::collections::BTreeSet;

use azure_customer_lockbox::{
    CustomerLockboxClient, Error, RequestFilter, RequestsListOptions, WatchEvent, WatchOptions,
    models::{ApprovalDecision, LockboxRequestResponse},
};
use futures::{
    StreamExt,
    stream::{self, BoxStream},
};

/// A request and the subscription it was found in.
#[derive(Debug, Clone)]
pub struct Located {
    pub subscription: String,
    pub request: LockboxRequestResponse,
}

/// One item of a listing across subscriptions: a request, or a subscription that could not be listed.
#[allow(clippy::large_enum_variant)] // items are consumed one at a time; boxing would only add allocations
pub enum Listed {
    Request(Located),
    Failed { subscription: String, error: Error },
}

/// How a command names a request: a bare id, or a full ARM resource id that carries its subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestRef {
    Id(String),
    Arm { subscription: String, id: String },
}

impl RequestRef {
    /// Reads `<id>` or `/subscriptions/<sub>/providers/Microsoft.CustomerLockbox/requests/<id>` (any letter
    /// case for the fixed segments, an optional trailing slash).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        if !text.starts_with('/') {
            return Ok(Self::Id(text.to_owned()));
        }
        let parts: Vec<&str> = text.trim_end_matches('/').split('/').skip(1).collect();
        match parts.as_slice() {
            [s, sub, p, ns, r, id]
                if s.eq_ignore_ascii_case("subscriptions")
                    && p.eq_ignore_ascii_case("providers")
                    && ns.eq_ignore_ascii_case("Microsoft.CustomerLockbox")
                    && r.eq_ignore_ascii_case("requests")
                    && !sub.is_empty()
                    && !id.is_empty() =>
            {
                Ok(Self::Arm { subscription: (*sub).to_owned(), id: (*id).to_owned() })
            }
            _ => Err(Error::InvalidArgument {
                name: "request",
                reason: format!(
                    "{text:?} is not a request id nor a resource id like \
                     /subscriptions/<subscription>/providers/Microsoft.CustomerLockbox/requests/<id>"
                ),
            }),
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::Id(id) | Self::Arm { id, .. } => id,
        }
    }
}

/// What the service recorded for a decision, as an audit log cites it: from the SDK's
/// [`Decision`](azure_customer_lockbox::Decision).
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    pub service_request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub attempts: Option<u32>,
    pub reconciled: Option<bool>,
}

/// Lists, finds, watches and decides requests over a set of subscriptions.
pub struct Backend {
    client: CustomerLockboxClient,
    subscriptions: Vec<String>,
}

impl Backend {
    /// A backend over these subscriptions (duplicates dropped, order kept), each checked before anything is
    /// sent. With none, only requests named by their ARM id can be reached: listing, watching and finding a
    /// bare id need the tenant-wide API.
    pub fn new(client: CustomerLockboxClient, subscriptions: Vec<String>) -> Result<Self, Error> {
        let mut seen = BTreeSet::new();
        let subscriptions: Vec<String> = subscriptions.into_iter().filter(|s| seen.insert(s.clone())).collect();
        for subscription in &subscriptions {
            client.requests(subscription)?;
        }
        Ok(Self { client, subscriptions })
    }

    /// The subscriptions to cover; none given is a usage error.
    fn subscriptions(&self) -> Result<Vec<String>, Error> {
        if self.subscriptions.is_empty() {
            return Err(Error::InvalidArgument {
                name: "subscription",
                reason: "no subscription given: pass --subscription <id> (repeatable) or set AZURE_SUBSCRIPTION_ID"
                    .into(),
            });
        }
        Ok(self.subscriptions.clone())
    }

    /// Every request (matching the filter) of every subscription, one subscription after the other; a
    /// subscription whose listing fails yields one `Failed` item and the listing goes on.
    pub fn list(&self, filter: Option<RequestFilter>) -> Result<BoxStream<'static, Listed>, Error> {
        let client = self.client.clone();
        Ok(stream::iter(self.subscriptions()?)
            .map(move |subscription| {
                let options = RequestsListOptions { filter: filter.clone(), ..Default::default() };
                let pager = match client.requests(&subscription) {
                    Ok(requests) => requests.list(Some(options)),
                    Err(error) => return stream::iter(vec![Listed::Failed { subscription, error }]).boxed(),
                };
                stream::unfold((pager, Some(subscription)), |(mut pager, subscription)| async move {
                    let subscription = subscription?;
                    match pager.try_next().await {
                        Ok(Some(request)) => {
                            let item = Listed::Request(Located { subscription: subscription.clone(), request });
                            Some((item, (pager, Some(subscription))))
                        }
                        Ok(None) => None,
                        Err(error) => Some((Listed::Failed { subscription, error }, (pager, None))),
                    }
                })
                .boxed()
            })
            .flatten()
            .boxed())
    }

    /// The request named by `reference`: in its own subscription for an ARM id, else looked up in each
    /// subscription until found. Not found anywhere is the last 404; any other failure wins over a 404.
    pub async fn find(&self, reference: &RequestRef) -> Result<Located, Error> {
        let (subscriptions, id) = match reference {
            RequestRef::Arm { subscription, id } => (vec![subscription.clone()], id.as_str()),
            RequestRef::Id(id) => (self.subscriptions()?, id.as_str()),
        };
        let mut not_found = None;
        let mut failure = None;
        for subscription in subscriptions {
            match self.client.requests(&subscription)?.get(id).await {
                Ok(request) => return Ok(Located { subscription, request }),
                Err(error) if error.status().is_some_and(|s| s.as_u16() == 404) => not_found = Some(error),
                Err(error) => failure = failure.or(Some(error)),
            }
        }
        Err(failure.or(not_found).expect("at least one subscription was asked"))
    }

    /// One watch per subscription, merged; each event says its subscription.
    pub fn watch(&self, options: WatchOptions) -> Result<BoxStream<'static, (String, WatchEvent)>, Error> {
        let mut watches = Vec::new();
        for subscription in self.subscriptions()? {
            let watch = self.client.requests(&subscription)?.watch(options.clone());
            watches.push(watch.map(move |event| (subscription.clone(), event)).boxed());
        }
        Ok(stream::select_all(watches).boxed())
    }

    /// Records a decision (exactly once, by the SDK's rules) and says what the service recorded.
    pub async fn decide(
        &self,
        subscription: &str,
        id: &str,
        decision: ApprovalDecision,
        reason: &str,
    ) -> Result<Recorded, Error> {
        let decision = self.client.requests(subscription)?.update_status(id, decision, reason).await?;
        Ok(Recorded {
            service_request_id: decision.service_request_id().map(str::to_owned),
            correlation_id: decision.correlation_request_id().map(str::to_owned),
            attempts: Some(decision.attempts()),
            reconciled: Some(decision.reconciled()),
        })
    }
}

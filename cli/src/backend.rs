//! The CLI's one seam onto the SDK for requests: list, find, watch, decide.
//!
//! Everything the commands know about where requests live goes through [`Backend`]. With no `--subscription`
//! it works tenant-wide, on every subscription the credential can see: [`CustomerLockboxClient::all_requests`]
//! lists them, [`CustomerLockboxClient::find_request`] finds a bare request id, and
//! [`CustomerLockboxClient::watch_all_requests`] watches them all. `--subscription` narrows the scope to the
//! subscriptions given, taken one after the other in the order given. A request named by its ARM resource id is
//! read in the subscription the id names, whatever the scope.

use std::collections::BTreeSet;

use azure_customer_lockbox::{
    CallIds, CustomerLockboxClient, Decision, Error, RequestFilter, WatchEvent,
    every_subscription::{AllRequestsItem, AllRequestsWatchEvent},
    models::{ApprovalDecision, LockboxRequestResponse, SubscriptionState},
    options::{AllRequestsOptions, AllRequestsWatchOptions, DecisionOptions, WaiterOptions, WatchOptions},
};
use futures::{
    StreamExt,
    stream::{self, BoxStream},
};

use crate::{endpoint::Endpoint, failure::Failure, output::Shown};

mod coverage;
mod names;

pub use coverage::Coverage;
use names::ambiguous;
pub use names::{RequestRef, guid_key};

/// A request and the subscription it was found in.
#[derive(Debug, Clone)]
pub struct Located {
    pub subscription: String,
    pub request: LockboxRequestResponse,
}

/// One item of a listing across subscriptions: a request, a subscription that could not be listed, and at the
/// end what was covered.
#[allow(clippy::large_enum_variant)] // items are consumed one at a time; boxing would only add allocations
pub enum Listed {
    Request(Located),
    /// This subscription's listing failed (403, 409 not registered, ...); the others go on.
    Failed {
        subscription: String,
        error: Error,
    },
    /// The listing could not go on: tenant-wide, the subscriptions themselves could not be listed (which ones it
    /// missed is unknown); with subscriptions given, it failed before them (no token, ...). `what` says which.
    Incomplete {
        error: Error,
        what: String,
    },
    /// The last item: how many subscriptions were listed to the end, and those left out for their state
    /// (`Disabled`, `Deleted`), with it.
    End {
        listed: usize,
        skipped: Vec<(String, String)>,
    },
}

/// One item of a watch across subscriptions.
#[allow(clippy::large_enum_variant)] // the large variant is the common one; boxing it costs every event
pub enum Watched {
    /// An event of one subscription's watch.
    Event { subscription: String, event: WatchEvent },
    /// One subscription's watch failed to list; it goes on.
    Failed { subscription: String, error: Error },
    /// A subscription is no longer listed as active (tenant-wide only); its watch ended.
    Removed(String),
    /// The subscriptions could not be listed (tenant-wide only). When some are watched already, their watches
    /// go on and the listing is tried again later; `watching` says whether any is.
    SubscriptionsFailed { error: Error, watching: bool },
    /// The subscriptions were listed and none is active (tenant-wide only): nothing is watched until one
    /// appears. Said once, not at every reading, until a subscription has been watched again.
    NoSubscriptions,
}

/// A subscription `Subscriptions_List` gave.
struct Visible {
    /// Its id as compared ([`guid_key`]).
    key: String,
    /// Its id as the service wrote it.
    id: String,
    /// Whether its state lets its requests be read (`Enabled`, `Warned`, `PastDue`).
    active: bool,
}

/// What the service recorded for a decision, as an audit log cites it: from the SDK's
/// [`Decision`], its call's [`CallIds`] as they are (serialized flat:
/// `serviceRequestId`, `correlationRequestId`, `clientRequestId`, `attempts`).
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    #[serde(flatten)]
    pub call: CallIds,
    pub reconciled: Option<bool>,
}

/// A decision the service recorded, by what the caller knows of whose it is.
#[derive(Debug, Clone)]
pub enum Decided {
    /// The service's answer to this call recorded the decision: it is this caller's. (The service refuses a
    /// second decision, so no other caller got this answer for the same request.)
    Answered(Recorded),
    /// The answer to a try was lost, and reading the request showed the decision: this caller's, or the same
    /// decision made by another in the meantime. The service says nothing of who decided.
    Read(Recorded),
}

impl Decided {
    /// What the service recorded, whoever's it is.
    pub fn into_recorded(self) -> Recorded {
        match self {
            Self::Answered(recorded) | Self::Read(recorded) => recorded,
        }
    }
}

/// Lists, finds, watches and decides requests tenant-wide, or over the subscriptions given.
pub struct Backend {
    client: CustomerLockboxClient,
    /// `None`: every subscription the credential can see.
    subscriptions: Option<Vec<String>>,
    /// The endpoint given with `--endpoint`, for the hints of a refused connection.
    endpoint: Option<Endpoint>,
}

impl Backend {
    /// A backend over these subscriptions (duplicates dropped, order kept), each checked before anything is
    /// sent; with none, over every subscription the credential can see. `endpoint` is the session's, for hints.
    pub fn new(
        client: CustomerLockboxClient,
        subscriptions: Vec<String>,
        endpoint: Option<Endpoint>,
    ) -> Result<Self, Error> {
        for subscription in &subscriptions {
            client.requests(subscription)?;
        }
        // Compared as GUIDs: one subscription given in two letter cases (or braced) is listed once.
        let mut seen = BTreeSet::new();
        let subscriptions: Vec<String> = subscriptions.into_iter().filter(|s| seen.insert(guid_key(s))).collect();
        Ok(Self { client, subscriptions: (!subscriptions.is_empty()).then_some(subscriptions), endpoint })
    }

    /// The endpoint given with `--endpoint`, if any: what a failure's hint names.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        self.endpoint.as_ref()
    }

    /// The subscriptions the credential can see (`Subscriptions_List`), in any state.
    async fn visible(&self) -> Result<Vec<Visible>, Error> {
        let mut listing = self.client.subscriptions().list(None);
        let mut visible = Vec::new();
        while let Some(subscription) = listing.try_next().await? {
            let id = subscription.subscription_id.clone().or_else(|| {
                subscription.id.as_deref().and_then(|id| id.rsplit('/').find(|s| !s.is_empty()).map(str::to_owned))
            });
            let active = subscription.state.as_ref().is_none_or(SubscriptionState::is_active);
            if let Some(id) = id {
                visible.push(Visible { key: guid_key(&id), id, active });
            }
        }
        Ok(visible)
    }

    /// Of the subscriptions given, those the credential cannot see: not in `Subscriptions_List`. A listing that
    /// fails tells nothing, and names none.
    pub async fn not_visible(&self, subscriptions: &[String]) -> Vec<String> {
        if subscriptions.is_empty() {
            return Vec::new();
        }
        match self.visible().await {
            Ok(visible) => subscriptions
                .iter()
                .filter(|given| !visible.iter().any(|seen| seen.key == guid_key(given)))
                .cloned()
                .collect(),
            // Nothing is claimed on what could not be checked: the listing itself said what it could.
            Err(_) => Vec::new(),
        }
    }

    /// The subscriptions given that were not among the subscriptions seen to have requests: those to check with
    /// [`not_visible`](Self::not_visible) when a listing found nothing in them.
    pub fn given_without(&self, seen: &BTreeSet<String>) -> Vec<String> {
        let given = self.subscriptions.iter().flatten();
        given.filter(|s| !seen.contains(&guid_key(s))).cloned().collect()
    }

    /// Every request (matching the filter) in scope. A subscription whose listing fails yields one `Failed`
    /// item and the listing goes on; the last item is `End`. Tenant-wide, the subscriptions are listed
    /// [`DEFAULT_ALL_REQUESTS_CONCURRENCY`](azure_customer_lockbox::options::DEFAULT_ALL_REQUESTS_CONCURRENCY) at a time, and those
    /// not active are skipped; the subscriptions given are listed one after the other, in their order.
    pub fn list(&self, filter: Option<RequestFilter>) -> Result<BoxStream<'static, Listed>, Error> {
        let options = match &self.subscriptions {
            None => AllRequestsOptions { filter, ..Default::default() },
            Some(given) => AllRequestsOptions { subscriptions: Some(given.clone()), filter, concurrency: 1 },
        };
        let listing = self.client.all_requests(Some(options))?;
        // What a failure to go on missed: no subscription was listed when they were given.
        let what = match &self.subscriptions {
            None => "the subscriptions".to_owned(),
            Some(given) => format!("the requests of subscription {}", given.join(", ")),
        };
        Ok(stream::unfold(Some(listing), move |listing| {
            let what = what.clone();
            async move {
                let mut listing = listing?;
                let item = match listing.try_next().await {
                    Ok(Some(AllRequestsItem::Request(found))) => Listed::Request(Located {
                        subscription: found.subscription_id.to_string(),
                        request: found.request,
                    }),
                    Ok(Some(AllRequestsItem::Failed(failure))) => {
                        Listed::Failed { subscription: failure.subscription_id.to_string(), error: failure.error }
                    }
                    // A kind of item this CLI does not know: nothing to show for it.
                    Ok(Some(_)) => return Some((None, Some(listing))),
                    Err(error) => Listed::Incomplete { error, what },
                    Ok(None) => {
                        let summary = listing.summary();
                        let skipped = summary.skipped.into_iter().map(|(id, state)| (id, state.to_string())).collect();
                        return Some((Some(Listed::End { listed: summary.listed, skipped }), None));
                    }
                };
                Some((Some(item), Some(listing)))
            }
        })
        .filter_map(futures::future::ready)
        .boxed())
    }

    /// The request named by `reference`. An ARM id is read in its own subscription. A bare id is looked up in
    /// each subscription given, in turn (not found anywhere is the last 404; any other failure wins over a
    /// 404), or tenant-wide with `find_request` (a subscription that cannot be read counts as not having it; one that
    /// could not be asked fails the lookup).
    pub async fn find(&self, reference: &RequestRef) -> Result<Located, Failure> {
        let (subscriptions, id) = match (reference, &self.subscriptions) {
            (RequestRef::Arm { subscription, id }, _) => (vec![subscription.clone()], id.as_str()),
            (RequestRef::Id(id), Some(given)) => (given.clone(), id.as_str()),
            (RequestRef::Id(id), None) => return self.find_tenant_wide(id).await,
        };
        let mut not_found = None;
        let mut failure = None;
        // Every subscription is asked: a bare id found in two of them names two requests.
        let mut found = Vec::new();
        for subscription in subscriptions {
            match self.client.requests(&subscription)?.get(id, None).await {
                Ok(request) => found.push(Located { subscription, request }),
                Err(error) if error.status().is_some_and(|s| s.as_u16() == 404) => not_found = Some(error),
                Err(error) => failure = failure.or(Some(error)),
            }
        }
        match found.len() {
            0 => Err(failure.or(not_found).expect("at least one subscription was asked").into()),
            1 => Ok(found.remove(0)),
            _ => Err(ambiguous(id, &found)),
        }
    }

    /// A bare id, in every active subscription the credential can see: asked until no subscription left has
    /// it, so that an id two subscriptions hold is refused, not taken from whichever answered first.
    async fn find_tenant_wide(&self, id: &str) -> Result<Located, Failure> {
        let mut remaining: Vec<String> =
            self.visible().await?.into_iter().filter(|seen| seen.active).map(|seen| seen.id).collect();
        let mut found: Vec<Located> = Vec::new();
        while !remaining.is_empty() {
            let options = AllRequestsOptions { subscriptions: Some(remaining.clone()), ..Default::default() };
            match self.client.find_request(id, Some(options)).await {
                Ok(Some(hit)) => {
                    let subscription = hit.subscription_id.to_string();
                    remaining.retain(|s| guid_key(s) != guid_key(&subscription));
                    found.push(Located { subscription, request: hit.request });
                }
                Ok(None) => break,
                // Found once, but another subscription could not say whether it has the id too.
                Err(error) if !found.is_empty() => {
                    say!(
                        "lockbox: request {} is in subscription {}, but not every other subscription could be asked \
                         whether it has a request of that id too; give its full resource id",
                        Shown(id),
                        found[0].subscription
                    );
                    return Err(error.into());
                }
                Err(error) => return Err(error.into()),
            }
        }
        match found.len() {
            0 => Err(Failure::NotFound(format!(
                "request {id} is in no subscription this credential can read (give its full resource id, or \
                 --subscription, to see why a subscription cannot be read)"
            ))),
            1 => Ok(found.remove(0)),
            _ => Err(ambiguous(id, &found)),
        }
    }

    /// One watch per subscription given, merged; or the tenant-wide watch, which follows the subscriptions
    /// as they come and go. Each event says its subscription.
    pub fn watch(&self, options: WatchOptions) -> Result<BoxStream<'static, Watched>, Error> {
        let Some(given) = &self.subscriptions else {
            let watch = self
                .client
                .watch_all_requests(Some(AllRequestsWatchOptions { watch: options, ..Default::default() }))?;
            let mut watching = 0usize;
            let mut said_none = false;
            return Ok(watch
                .filter_map(move |event| {
                    futures::future::ready(match event {
                        Ok(AllRequestsWatchEvent::Request { subscription_id, event }) => {
                            Some(Watched::Event { subscription: subscription_id.to_string(), event })
                        }
                        Ok(AllRequestsWatchEvent::Failed(failure)) => Some(Watched::Failed {
                            subscription: failure.subscription_id.to_string(),
                            error: failure.error,
                        }),
                        // A subscription's watch starting is not news for the person watching.
                        Ok(AllRequestsWatchEvent::SubscriptionAdded(_)) => {
                            watching = watching.saturating_add(1);
                            said_none = false;
                            None
                        }
                        Ok(AllRequestsWatchEvent::NoSubscriptions) if said_none => None,
                        Ok(AllRequestsWatchEvent::NoSubscriptions) => {
                            said_none = true;
                            Some(Watched::NoSubscriptions)
                        }
                        Ok(AllRequestsWatchEvent::SubscriptionRemoved(id)) => {
                            watching = watching.saturating_sub(1);
                            Some(Watched::Removed(id.to_string()))
                        }
                        Err(error) => Some(Watched::SubscriptionsFailed { error, watching: watching > 0 }),
                        _ => None,
                    })
                })
                .boxed());
        };
        let mut watches = Vec::new();
        for subscription in given.clone() {
            let watch = self.client.requests(&subscription)?.watch(Some(options.clone()))?;
            watches.push(
                watch
                    .map(move |event| match event {
                        Ok(event) => Watched::Event { subscription: subscription.clone(), event },
                        Err(error) => Watched::Failed { subscription: subscription.clone(), error },
                    })
                    .boxed(),
            );
        }
        Ok(stream::select_all(watches).boxed())
    }

    /// Records a decision (exactly once, by the SDK's rules) and says what the service recorded, and whether
    /// its answer to this call said so ([`Decided::Answered`]) or a read did ([`Decided::Read`]).
    pub async fn decide(
        &self,
        subscription: &str,
        id: &str,
        decision: ApprovalDecision,
        reason: &str,
    ) -> Result<Decided, Error> {
        let (recorded, decision) = self.decide_with(subscription, id, decision, reason, None).await?;
        Ok(if decision.reconciled() { Decided::Read(recorded) } else { Decided::Answered(recorded) })
    }

    /// Records a decision as [`decide`](Self::decide) does, then waits with `until_final` (the SDK's
    /// `DecisionOptions::until_final`, never a wait of the tool's own) until the request's status is final:
    /// what the service recorded, and the SDK's `Decision`, whose `until_final()` holds the wait's outcome (it
    /// cannot take the decision's place).
    pub async fn decide_until_final(
        &self,
        subscription: &str,
        id: &str,
        decision: ApprovalDecision,
        reason: &str,
        until_final: WaiterOptions,
    ) -> Result<(Recorded, Decision), Error> {
        self.decide_with(subscription, id, decision, reason, Some(until_final)).await
    }

    async fn decide_with(
        &self,
        subscription: &str,
        id: &str,
        decision: ApprovalDecision,
        reason: &str,
        until_final: Option<WaiterOptions>,
    ) -> Result<(Recorded, Decision), Error> {
        let options = DecisionOptions { until_final, ..Default::default() };
        let decision = self.client.requests(subscription)?.update_status(id, decision, reason, Some(options)).await?;
        let recorded = Recorded { call: decision.call_ids().clone(), reconciled: Some(decision.reconciled()) };
        Ok((recorded, decision))
    }
}

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
    AllRequestsItem, AllRequestsOptions, AllRequestsWatchEvent, AllRequestsWatchOptions, CustomerLockboxClient,
    Decision, DecisionOptions, Error, RequestFilter, WaiterOptions, WatchEvent, WatchOptions,
    models::{ApprovalDecision, LockboxRequestResponse},
};
use futures::{
    StreamExt,
    stream::{self, BoxStream},
};

use crate::Failure;

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

/// What a listing covered, and the exit status it earns: the items other than requests are reported on
/// stderr as they come.
pub struct Coverage {
    /// Whether to say which subscriptions were skipped, or that none is visible (once per command).
    notes: bool,
    listed: usize,
    /// The worst exit status of the subscriptions that failed.
    failed: Option<u8>,
    /// The exit status of a failure to list the subscriptions themselves.
    incomplete: Option<u8>,
}

impl Coverage {
    pub fn new(notes: bool) -> Self {
        Self { notes, listed: 0, failed: None, incomplete: None }
    }

    /// The request of a `Request` item; any other item is reported on stderr and counted.
    pub fn take(&mut self, item: Listed) -> Option<Located> {
        match item {
            Listed::Request(located) => return Some(located),
            Listed::Failed { subscription, error } => {
                eprintln!("lockbox: cannot list subscription {subscription}: {}", crate::one_line(&error));
                self.failed = self.failed.max(Some(crate::hint(&error)));
            }
            Listed::Incomplete { error, what } => {
                eprintln!("lockbox: cannot list {what}: {}", crate::one_line(&error));
                self.incomplete = self.incomplete.max(Some(crate::hint(&error)));
            }
            Listed::End { listed, skipped } => {
                self.listed = listed;
                if self.notes && !skipped.is_empty() {
                    const SHOWN: usize = 5;
                    let mut names: Vec<String> =
                        skipped.iter().take(SHOWN).map(|(id, state)| format!("{id} ({state})")).collect();
                    if skipped.len() > SHOWN {
                        names.push(format!("and {} more", skipped.len().saturating_sub(SHOWN)));
                    }
                    eprintln!("lockbox: skipped subscriptions that are not active: {}", names.join(", "));
                }
                if self.notes && listed == 0 && skipped.is_empty() && self.failed.is_none() && self.incomplete.is_none()
                {
                    eprintln!("lockbox: this credential sees no subscription");
                }
            }
        }
        None
    }

    /// Whether anything was listed to show: every subscription, or at least one of them.
    pub fn listed_any(&self) -> bool {
        self.listed > 0 || (self.failed.is_none() && self.incomplete.is_none())
    }

    /// 0 when everything in scope was listed; 1 ([`EXIT_PARTIAL`](crate::EXIT_PARTIAL)) when some subscriptions
    /// failed and others were listed; the failure's own status when every subscription failed, or when the
    /// subscriptions themselves could not be listed.
    pub fn exit_code(&self) -> u8 {
        match (self.incomplete, self.failed) {
            (Some(code), _) => code,
            (None, None) => 0,
            (None, Some(_)) if self.listed > 0 => crate::EXIT_PARTIAL,
            (None, Some(code)) => code,
        }
    }
}

/// One item of a watch across subscriptions.
#[allow(clippy::large_enum_variant)] // the large variant is the common one; boxing it costs every event
pub enum Watched {
    /// An event of one subscription's watch (its errors included).
    Event { subscription: String, event: WatchEvent },
    /// A subscription is no longer listed as active (tenant-wide only); its watch ended.
    Removed(String),
    /// The subscriptions could not be listed (tenant-wide only). When some are watched already, their watches
    /// go on and the listing is tried again later; `watching` says whether any is.
    SubscriptionsFailed { error: Error, watching: bool },
    /// The subscriptions were listed and none is active (tenant-wide only): nothing is watched until one
    /// appears. Said once, not at every reading, until a subscription has been watched again.
    NoSubscriptions,
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

/// Lists, finds, watches and decides requests tenant-wide, or over the subscriptions given.
pub struct Backend {
    client: CustomerLockboxClient,
    /// `None`: every subscription the credential can see.
    subscriptions: Option<Vec<String>>,
}

impl Backend {
    /// A backend over these subscriptions (duplicates dropped, order kept), each checked before anything is
    /// sent; with none, over every subscription the credential can see.
    pub fn new(client: CustomerLockboxClient, subscriptions: Vec<String>) -> Result<Self, Error> {
        let mut seen = BTreeSet::new();
        let subscriptions: Vec<String> = subscriptions.into_iter().filter(|s| seen.insert(s.clone())).collect();
        for subscription in &subscriptions {
            client.requests(subscription)?;
        }
        Ok(Self { client, subscriptions: (!subscriptions.is_empty()).then_some(subscriptions) })
    }

    /// Every request (matching the filter) in scope. A subscription whose listing fails yields one `Failed`
    /// item and the listing goes on; the last item is `End`. Tenant-wide, the subscriptions are listed
    /// [`DEFAULT_ALL_REQUESTS_CONCURRENCY`](azure_customer_lockbox::DEFAULT_ALL_REQUESTS_CONCURRENCY) at a time, and those
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
            (RequestRef::Id(id), None) => {
                return match self.client.find_request(id, None).await? {
                    Some(found) => {
                        Ok(Located { subscription: found.subscription_id.to_string(), request: found.request })
                    }
                    None => Err(Failure::NotFound(format!(
                        "request {id} is in no subscription this credential can read (give its full resource id, \
                         or --subscription, to see why a subscription cannot be read)"
                    ))),
                };
            }
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
        Err(failure.or(not_found).expect("at least one subscription was asked").into())
    }

    /// One watch per subscription given, merged; or the tenant-wide watch, which follows the subscriptions
    /// as they come and go. Each event says its subscription.
    pub fn watch(&self, options: WatchOptions) -> Result<BoxStream<'static, Watched>, Error> {
        let Some(given) = &self.subscriptions else {
            let watch =
                self.client.watch_all_requests(Some(AllRequestsWatchOptions { watch: options, ..Default::default() }));
            let mut watching = 0usize;
            let mut said_none = false;
            return Ok(watch
                .filter_map(move |event| {
                    futures::future::ready(match event {
                        AllRequestsWatchEvent::Request { subscription_id, event } => {
                            Some(Watched::Event { subscription: subscription_id.to_string(), event })
                        }
                        // A subscription's watch starting is not news for the person watching.
                        AllRequestsWatchEvent::SubscriptionAdded(_) => {
                            watching = watching.saturating_add(1);
                            said_none = false;
                            None
                        }
                        AllRequestsWatchEvent::NoSubscriptions if said_none => None,
                        AllRequestsWatchEvent::NoSubscriptions => {
                            said_none = true;
                            Some(Watched::NoSubscriptions)
                        }
                        AllRequestsWatchEvent::SubscriptionRemoved(id) => {
                            watching = watching.saturating_sub(1);
                            Some(Watched::Removed(id.to_string()))
                        }
                        AllRequestsWatchEvent::SubscriptionsFailed(error) => {
                            Some(Watched::SubscriptionsFailed { error, watching: watching > 0 })
                        }
                        _ => None,
                    })
                })
                .boxed());
        };
        let mut watches = Vec::new();
        for subscription in given.clone() {
            let watch = self.client.requests(&subscription)?.watch(Some(options.clone()));
            watches.push(watch.map(move |event| Watched::Event { subscription: subscription.clone(), event }).boxed());
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
        Ok(self.decide_with(subscription, id, decision, reason, None).await?.0)
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
        let recorded = Recorded {
            service_request_id: decision.service_request_id().map(str::to_owned),
            correlation_id: decision.correlation_request_id().map(str::to_owned),
            attempts: Some(decision.attempts()),
            reconciled: Some(decision.reconciled()),
        };
        Ok((recorded, decision))
    }
}

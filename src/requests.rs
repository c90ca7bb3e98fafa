//! Access requests of one subscription: read, list, approve, deny, wait, watch.

use std::sync::Arc;

use crate::{
    core::Core,
    decision::{self, Bound, Decision, DecisionOptions, Order},
    error::{Error, Result},
    generated::{self, ClientRequestsExt},
    listing::RequestsListOptions,
    models::{LockboxRequestResponse, RequestListResult},
    operation::Operation,
    pager::{Fetch, Links, Listing},
    read::ReadOptions,
    response::WithCallIds,
    status::{ApprovalDecision, LockboxRequestStatus},
    validate,
    waiter::{Waiter, WaiterOptions},
    watch::{FirstListing, Read, Watch, WatchOptions},
};

/// The access requests of one subscription. Obtained from
/// [`CustomerLockboxClient::requests`](crate::CustomerLockboxClient::requests).
#[derive(Clone, Debug)]
pub struct RequestsClient {
    core: Core,
    subscription_id: Arc<str>,
}

impl RequestsClient {
    pub(crate) fn new(core: Core, subscription_id: String) -> Self {
        Self { core, subscription_id: subscription_id.into() }
    }

    /// The subscription whose requests this client reads and decides on.
    pub fn subscription_id(&self) -> &str {
        &self.subscription_id
    }

    /// Reads one request (`Requests_Get`), within [`ReadOptions::timeout`] when given.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty, overlong, dot-segment or control-character id, before sending;
    /// a [`Error::Service`] with status 404 when there is no such request.
    pub async fn get(&self, request_id: &str, options: Option<ReadOptions>) -> Result<LockboxRequestResponse> {
        Ok(self.get_with_response(request_id, options).await?.into_model())
    }

    /// Reads one request, as [`get`](Self::get), with the ids the service gave the call
    /// (`x-ms-request-id`, `x-ms-correlation-request-id`) and its number of attempts, for an audit log.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn get_with_response(
        &self,
        request_id: &str,
        options: Option<ReadOptions>,
    ) -> Result<WithCallIds<LockboxRequestResponse>> {
        let request_id = validate::request_id(request_id)?;
        let core = &self.core;
        let send = |api: generated::Client| async move {
            api.requests_get()
                .subscription_id(&*self.subscription_id)
                .request_id(request_id)
                .api_version(core.api_version())
                .send()
                .await
        };
        let (request, meta) = core.read_with_meta(Operation::RequestsGet, &options.unwrap_or_default(), send).await?;
        Ok(WithCallIds::new(request, meta.call_ids()))
    }

    /// Lists requests (`Requests_List`), lazily, a page at a time. Sends nothing until the pager is polled.
    pub fn list(&self, options: Option<RequestsListOptions>) -> Listing<LockboxRequestResponse> {
        let options = options.unwrap_or_default();
        let core = self.core.clone();
        let subscription_id = self.subscription_id.clone();
        let filter: Option<Arc<str>> = options.filter.map(|f| f.as_str().into());
        let fetch: Fetch<LockboxRequestResponse> = Arc::new(move |link| {
            let core = core.clone();
            let subscription_id = subscription_id.clone();
            let filter = filter.clone();
            Box::pin(async move {
                let page: RequestListResult = match link {
                    None => {
                        let (subscription_id, api_version) = (&*subscription_id, core.api_version());
                        let filter = filter.as_deref();
                        let send = |api: generated::Client| async move {
                            let builder = api.requests_list().subscription_id(subscription_id).api_version(api_version);
                            match filter {
                                Some(filter) => builder.filter(filter),
                                None => builder,
                            }
                            .send()
                            .await
                        };
                        core.read(Operation::RequestsList, send).await?
                    }
                    Some(link) => core.next_page(Operation::RequestsList, &link).await?,
                };
                Ok((page.value, page.next_link))
            })
        });
        let links = Links::new(
            self.core.pipeline(),
            &["subscriptions", &self.subscription_id, "providers", "Microsoft.CustomerLockbox", "requests"],
        );
        Listing::new(fetch, links, options.continuation)
    }

    /// Approves a pending request, exactly once. See [`update_status`](Self::update_status).
    ///
    /// # Errors
    /// As [`update_status`](Self::update_status).
    pub async fn approve(&self, request_id: &str, reason: &str, options: Option<DecisionOptions>) -> Result<Decision> {
        self.update_status(request_id, ApprovalDecision::Approve, reason, options).await
    }

    /// Denies a pending request, exactly once. See [`update_status`](Self::update_status).
    ///
    /// # Errors
    /// As [`update_status`](Self::update_status).
    pub async fn deny(&self, request_id: &str, reason: &str, options: Option<DecisionOptions>) -> Result<Decision> {
        self.update_status(request_id, ApprovalDecision::Deny, reason, options).await
    }

    /// Records a decision on a pending request (`Requests_UpdateStatus`), exactly once, waits for the service
    /// to accept it (an answer of `202 Accepted` is followed with [`DecisionOptions::follow`]), and says what the
    /// service recorded: a [`Decision`] carries the [`Approval`](crate::models::Approval), the `x-ms-request-id` and
    /// `x-ms-correlation-request-id` of the call the service recorded, the number of attempts, and whether the
    /// outcome was learned by reading the request. With [`DecisionOptions::until_final`], it then also waits
    /// until the request's status is final ([`Decision::request`]).
    ///
    /// A decision is not blindly resent after it may have reached the service: after a 500, 502 or 504, a read
    /// timeout, a connection lost once the request was sent, or the client's `timeout` passing while it was on
    /// its way, the SDK reads the request instead. If its status already reflects the decision
    /// (`Approving`/`Approved` for an approval, `Denying`/`Denied` for a denial), the call succeeds; if it is
    /// still `Pending` (read twice, the service given time to show it), the decision is sent again; on another
    /// final status the call fails with [`Error::DecisionConflict`] carrying it. Throttling (429), 503 and
    /// refused connections, which guarantee nothing was done, are retried as usual. If the request cannot be
    /// read either, the call fails with [`Error::DecisionOutcomeUnknown`]: it never reports a plain failure for a
    /// decision that may have been taken. A success status whose body is lost or undecodable counts as the
    /// decision taken.
    ///
    /// An accepted decision whose progress cannot be followed to its end (its polling fails, its polling URL is
    /// missing or on another host than the endpoint, its final answer shows no decision) is not a failure
    /// either: the request is read as above. The client's `timeout`, when set, bounds the whole call: tries,
    /// resends, polling and reconciling reads (and, with `until_final`, that wait's own timeout does too).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad id or an empty, overlong or control-character reason, before
    /// sending; [`Error::DecisionConflict`] and [`Error::DecisionOutcomeUnknown`] as above; a [`Error::Service`]
    /// 409 whose [`current_status`](Error::current_status) tells where the request stands when it was not
    /// pending; [`Error::OperationFailed`] when the accepted operation ends as `Failed` or `Canceled`; with
    /// `until_final`, [`Error::Timeout`] when the request is not final in time.
    pub async fn update_status(
        &self,
        request_id: &str,
        decision: ApprovalDecision,
        reason: &str,
        options: Option<DecisionOptions>,
    ) -> Result<Decision> {
        let DecisionOptions { follow, until_final } = options.unwrap_or_default();
        let order = self.order(request_id, decision.clone(), reason)?;
        let call_timeout = self.core.pipeline().settings().call_timeout;
        let Some(wait) = until_final else {
            return decision::decide(&self.core, order, Bound::new([call_timeout]), follow).await;
        };
        // The wait's timeout (and the client's) bounds the decision's step too, reconciling read included.
        let started = tokio::time::Instant::now();
        let bound = Bound::new([call_timeout, wait.timeout]);
        let mut recorded = decision::decide(&self.core, order, bound, follow).await?;
        let timeout = wait.timeout.map(|limit| limit.saturating_sub(started.elapsed()));
        let request = self.wait_for_decision(request_id, Some(WaiterOptions { timeout, ..wait }))?.await?;
        let status = request.status().cloned().unwrap_or(LockboxRequestStatus::Unknown);
        if !status.reflects(&decision) {
            return Err(Error::DecisionConflict {
                request_id: request_id.to_owned(),
                decision,
                current_status: status,
            });
        }
        recorded.request = Some(Box::new(request));
        Ok(recorded)
    }

    /// The decision to send on this client's subscription, its arguments checked, or why they are refused.
    fn order<'a>(&'a self, request_id: &'a str, decision: ApprovalDecision, reason: &'a str) -> Result<Order<'a>> {
        let request_id = validate::request_id(request_id)?;
        let reason = validate::reason(reason)?;
        if let ApprovalDecision::Other(value) = &decision {
            return Err(Error::invalid("decision", format!("{value:?} is not a decision this SDK can send")));
        }
        Ok(Order { subscription_id: &self.subscription_id, request_id, decision, reason })
    }

    /// Waits until a request's status is final (`Approved`, `Denied`, `Expired`, ...; see
    /// [`LockboxRequestStatus::is_final`]), reading it with `Requests_Get` at the options' frequency, and gives
    /// the request. As a stream, the poller yields each status seen, e.g. `Approving` then `Approved`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad id, before sending. Awaiting gives [`Error::Timeout`] with the last
    /// status seen when the options' timeout passes, or the error of a failed read.
    pub fn wait_for_decision(
        &self,
        request_id: &str,
        options: Option<WaiterOptions>,
    ) -> Result<Waiter<LockboxRequestResponse>> {
        let request_id = validate::request_id(request_id)?;
        // The same URL the generated Requests_Get sends to (see `Pipeline::request_url`).
        let sub = self.subscription_id();
        let url = self.core.pipeline().request_url(&[
            "subscriptions",
            sub,
            "providers",
            "Microsoft.CustomerLockbox",
            "requests",
            request_id,
        ]);
        Ok(Waiter::for_request(&self.core, url.into())?.with_options(options.unwrap_or_default()))
    }

    /// Watches the requests: lists them (every page) every [`WatchOptions::interval`], with jitter, and yields
    /// a [`WatchEvent`](crate::WatchEvent) for each request that appeared, changed status or disappeared since
    /// the previous listing. Sends nothing until the watch is polled; dropping it stops it (no background
    /// task). Failed listings are retried with backoff. A transient failure is yielded as `WatchEvent::Error`
    /// only after [`WatchOptions::max_consecutive_failures`] in a row, any other (e.g. a 403) at once; the
    /// watch then goes on. `None` takes the default [`WatchOptions`]. See [`Watch`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use azure_customer_lockbox::{
    ///     RequestFilter, RequestsClient, WatchEvent, models::LockboxRequestStatus, options::WatchOptions,
    /// };
    ///
    /// async fn watch_pending(requests: RequestsClient) {
    ///     let mut watch = requests.watch(Some(WatchOptions {
    ///         interval: Duration::from_secs(60),
    ///         filter: Some(RequestFilter::status(LockboxRequestStatus::Pending)),
    ///         ..Default::default()
    ///     }));
    ///     loop {
    ///         match watch.next_event().await {
    ///             WatchEvent::New(request) => println!("new request {:?}", request.request_id()),
    ///             WatchEvent::StatusChanged { request, old, new } => {
    ///                 println!("{:?}: {old} -> {new}", request.request_id())
    ///             }
    ///             WatchEvent::Removed { request_id } => println!("{request_id} is no longer pending"),
    ///             WatchEvent::Error(error) => eprintln!("listing keeps failing: {error}"),
    ///             _ => {}
    ///         }
    ///     }
    /// }
    /// ```
    pub fn watch(&self, options: Option<WatchOptions>) -> Watch {
        self.watch_with(options.unwrap_or_default(), None)
    }

    /// A watch whose first listing reports what `first_listing` says, else what the options say (the
    /// tenant-wide watch, for a subscription that appears later). Requests missing from a listing are read
    /// to confirm they are gone.
    pub(crate) fn watch_with(&self, options: WatchOptions, first_listing: Option<FirstListing>) -> Watch {
        let (requests, reader) = (self.clone(), self.clone());
        let read: Read = Box::new(move |id| {
            let reader = reader.clone();
            Box::pin(async move { reader.get(&id, None).await })
        });
        Watch::new(move |options| requests.list(Some(options)), read, options, first_listing)
    }
}

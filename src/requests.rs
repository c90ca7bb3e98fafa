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
    status::ApprovalDecision,
    validate,
    waiter::{Waiter, WaiterOptions},
    watch::{FirstListing, Read, Watch, WatchOptions, checked_interval},
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
        Ok(WithCallIds::new(request, meta.ids))
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
    /// outcome was learned by reading the request.
    ///
    /// With [`DecisionOptions::until_final`], it then also waits until the request's status is final. That wait
    /// cannot replace the decision: once the decision is recorded the call gives the [`Decision`], with the
    /// wait's outcome inside it as a result of its own ([`Decision::until_final`]: the final request, or why it
    /// could not be confirmed, such as a read that failed or the bound passing).
    ///
    /// One rule: **once a round may have been taken, or was accepted (`202`), nothing ends the call but the
    /// request's own status**, read from the service. A decision is not blindly resent after it may have reached
    /// the service: after a 500, 502 or 504, a read timeout, a connection lost once the request was sent, or the
    /// client's `timeout` passing while it was on its way, the SDK reads the request instead. An accepted round
    /// whose operation ends `Failed` or `Canceled`, or whose progress cannot be followed to its end (its polling
    /// fails, its polling URL is missing or on another host than the endpoint, its final answer shows no
    /// decision), is read out the same way. If the status reflects the decision (`Approving`/`Approved` for an
    /// approval, `Denying`/`Denied` for a denial), the call succeeds; on another final status it fails with
    /// [`Error::DecisionConflict`] carrying it; if it is still `Pending` after an operation that failed (nothing
    /// else in flight), the operation's failure is the answer; if it is still `Pending` after a round that may
    /// have been taken (read twice, the service given time to show it), the decision is sent again. Throttling
    /// (429), 503 and refused connections, which guarantee nothing was done, are retried as usual. If the request
    /// cannot be read either, the call fails with [`Error::DecisionOutcomeUnknown`]: it never reports a plain
    /// failure for a decision that may have been taken. A success status whose body is lost or undecodable
    /// counts as the decision taken.
    ///
    /// A request already decided or expired is [`Error::DecisionConflict`], whatever decision it shows: the
    /// service's `409` names its status, or, when it does not, a read does.
    ///
    /// One bound covers the whole call: the client's `timeout` and, with `until_final`, that wait's `timeout`,
    /// whichever ends first, bound every try, resend, poll after a `202`, reconciling read and the wait itself.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad id or an empty, overlong or control-character reason, before
    /// sending; [`Error::DecisionConflict`] and [`Error::DecisionOutcomeUnknown`] as above; [`Error::OperationFailed`]
    /// when the accepted operation ends as `Failed` or `Canceled` and the request shows no decision; any other
    /// refusal of the service (a [`Error::Service`] such as a 403 or 404) when nothing was recorded.
    pub async fn update_status(
        &self,
        request_id: &str,
        decision: ApprovalDecision,
        reason: &str,
        options: Option<DecisionOptions>,
    ) -> Result<Decision> {
        let DecisionOptions { follow, until_final } = options.unwrap_or_default();
        let order = self.order(request_id, decision, reason)?;
        let call_timeout = self.core.pipeline().settings().call_timeout;
        // The wait's timeout (and the client's) bounds the whole call, decision and reconciling reads included.
        let bound = Bound::new([call_timeout, until_final.as_ref().and_then(|wait| wait.timeout)]);
        // The bound covers the wait: the poller keeps only the wait's frequency.
        let waiter = match until_final {
            Some(wait) => Some(self.wait_for_decision(request_id, Some(WaiterOptions { timeout: None, ..wait }))?),
            None => None,
        };
        decision::decide(&self.core, order, bound, follow, waiter).await
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
    /// [`LockboxRequestStatus::is_final`](crate::models::LockboxRequestStatus::is_final)), reading it with `Requests_Get` at the options' frequency, and gives
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
    /// task). Failed listings are retried with backoff. A transient failure is yielded as an `Err` only after
    /// [`WatchOptions::max_consecutive_failures`] in a row, any other (e.g. a 403) at once; the watch then goes
    /// on. `None` takes the default [`WatchOptions`]. See [`Watch`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use azure_customer_lockbox::{
    ///     RequestFilter, RequestsClient, Result, WatchEvent, models::LockboxRequestStatus, options::WatchOptions,
    /// };
    ///
    /// async fn watch_pending(requests: RequestsClient) -> Result<()> {
    ///     let mut watch = requests.watch(Some(WatchOptions {
    ///         interval: Duration::from_secs(60),
    ///         filter: Some(RequestFilter::status(LockboxRequestStatus::Pending)),
    ///         ..Default::default()
    ///     }))?;
    ///     loop {
    ///         match watch.try_next().await {
    ///             Ok(Some(WatchEvent::New(request))) => println!("new request {:?}", request.request_id()),
    ///             Ok(Some(WatchEvent::StatusChanged { request, old, new })) => {
    ///                 println!("{:?}: {old} -> {new}", request.request_id())
    ///             }
    ///             Ok(Some(WatchEvent::Removed { request_id })) => println!("{request_id} is no longer pending"),
    ///             Ok(Some(_)) => {}
    ///             // A watch never ends by itself.
    ///             Ok(None) => return Ok(()),
    ///             // The watch goes on after a failure: say it, and call again.
    ///             Err(error) => eprintln!("listing keeps failing: {error}"),
    ///         }
    ///     }
    /// }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (`interval`) when [`WatchOptions::interval`] is shorter than
    /// [`MIN_WATCH_INTERVAL`](crate::options::MIN_WATCH_INTERVAL), which protects Resource Manager's read budget;
    /// nothing is sent. Against a loopback endpoint (the emulator) any interval is taken.
    pub fn watch(&self, options: Option<WatchOptions>) -> Result<Watch> {
        self.watch_with(options.unwrap_or_default(), None)
    }

    /// A watch whose first listing reports what `first_listing` says, else what the options say (the
    /// tenant-wide watch, for a subscription that appears later). Requests missing from a listing are read
    /// to confirm they are gone.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an interval below the floor of the endpoint (see [`checked_interval`]).
    pub(crate) fn watch_with(&self, mut options: WatchOptions, first_listing: Option<FirstListing>) -> Result<Watch> {
        options.interval = checked_interval("interval", options.interval, self.core.pipeline().on_loopback())?;
        let (requests, reader) = (self.clone(), self.clone());
        let read: Read = Box::new(move |id| {
            let reader = reader.clone();
            Box::pin(async move { reader.get(&id, None).await })
        });
        Ok(Watch::new(move |options| requests.list(Some(options)), read, options, first_listing))
    }
}

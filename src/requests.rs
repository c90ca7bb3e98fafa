//! Access requests of one subscription: read, list, approve, deny.

use std::sync::Arc;

use crate::{
    client::CustomerLockboxClient,
    error::{Error, Result},
    generated::ClientRequestsExt,
    models::{Approval, LockboxRequestResponse, RequestListResult},
    pager::{ContinuationToken, Fetch, Links, Pager},
    poller::{Poller, PollerOptions},
    status::{ApprovalDecision, LockboxRequestStatus},
    validate,
    watch::{Watch, WatchOptions},
};

/// An OData `$filter` for [`RequestsClient::list`]. The service understands only a status comparison.
///
/// ```
/// use azure_customer_lockbox::{RequestFilter, models::LockboxRequestStatus};
/// let filter = RequestFilter::status(LockboxRequestStatus::Pending);
/// assert_eq!(filter.as_str(), "properties/status eq 'Pending'");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestFilter(String);

impl RequestFilter {
    /// Requests in the given status: `properties/status eq '<status>'`, with quotes in the value escaped.
    pub fn status(status: LockboxRequestStatus) -> Self {
        Self(format!("properties/status eq '{}'", status.as_str().replace('\'', "''")))
    }

    /// Any filter text, sent as given (URL-encoded on the wire).
    pub fn raw(filter: impl Into<String>) -> Self {
        Self(filter.into())
    }

    /// The filter text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Options of [`RequestsClient::list`].
#[derive(Clone, Debug, Default)]
pub struct RequestsListOptions {
    /// Only requests matching this filter. The default is `None`: every request.
    pub filter: Option<RequestFilter>,
    /// Resume a listing from a token taken from an earlier [`Pager`] or page. The default is `None`: start at
    /// the first page. With a token, `filter` is ignored: the token carries the listing's own filter.
    pub continuation: Option<ContinuationToken>,
}

impl RequestsListOptions {
    /// Options with a filter.
    pub fn filter(filter: RequestFilter) -> Self {
        Self { filter: Some(filter), ..Default::default() }
    }
}

/// The access requests of one subscription. Obtained from [`CustomerLockboxClient::requests`].
#[derive(Clone, Debug)]
pub struct RequestsClient {
    client: CustomerLockboxClient,
    subscription_id: Arc<str>,
}

impl RequestsClient {
    pub(crate) fn new(client: CustomerLockboxClient, subscription_id: String) -> Self {
        Self { client, subscription_id: subscription_id.into() }
    }

    /// The subscription whose requests this client reads and decides on.
    pub fn subscription_id(&self) -> &str {
        &self.subscription_id
    }

    /// Reads one request (`Requests_Get`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty, overlong, dot-segment or control-character id, before sending;
    /// a [`Error::Service`] with status 404 when there is no such request.
    pub async fn get(&self, request_id: &str) -> Result<LockboxRequestResponse> {
        let request_id = validate::request_id(request_id)?;
        let inner = &self.client.inner;
        let send = || {
            inner
                .requests_get()
                .subscription_id(&*self.subscription_id)
                .request_id(request_id)
                .api_version(self.client.api_version())
                .send()
        };
        Ok(inner.inner.read("requests_get", send).await.0?.into_inner())
    }

    /// Lists requests (`Requests_List`), lazily, a page at a time. Sends nothing until the pager is polled.
    pub fn list(&self, options: Option<RequestsListOptions>) -> Pager<LockboxRequestResponse> {
        let options = options.unwrap_or_default();
        let client = self.client.clone();
        let subscription_id = self.subscription_id.clone();
        let filter: Option<Arc<str>> = options.filter.map(|f| f.0.into());
        let fetch: Fetch<LockboxRequestResponse> = Arc::new(move |link| {
            let client = client.clone();
            let subscription_id = subscription_id.clone();
            let filter = filter.clone();
            Box::pin(async move {
                let inner = &client.inner;
                let (result, _) = match link {
                    None => {
                        let send = || {
                            let builder = inner
                                .requests_list()
                                .subscription_id(&*subscription_id)
                                .api_version(client.api_version());
                            match filter.as_deref() {
                                Some(filter) => builder.filter(filter),
                                None => builder,
                            }
                            .send()
                        };
                        inner.inner.read("requests_list", send).await
                    }
                    Some(link) => inner.inner.get_json(inner, "requests_list", "nextLink", &link).await,
                };
                let page: RequestListResult = result?.into_inner();
                Ok((page.value, page.next_link))
            })
        });
        let links = Links::new(
            &self.client.inner.inner,
            &["subscriptions", &self.subscription_id, "providers", "Microsoft.CustomerLockbox", "requests"],
        );
        Pager::new(fetch, links, options.continuation)
    }

    /// Lists the requests waiting for a decision: `list` with `properties/status eq 'Pending'`.
    pub fn list_pending(&self) -> Pager<LockboxRequestResponse> {
        self.list(Some(RequestsListOptions::filter(RequestFilter::status(LockboxRequestStatus::Pending))))
    }

    /// Approves a pending request. See [`update_status`](Self::update_status).
    ///
    /// # Errors
    /// As [`update_status`](Self::update_status).
    pub async fn approve(&self, request_id: &str, reason: &str) -> Result<Approval> {
        self.update_status(request_id, ApprovalDecision::Approve, reason).await
    }

    /// Denies a pending request. See [`update_status`](Self::update_status).
    ///
    /// # Errors
    /// As [`update_status`](Self::update_status).
    pub async fn deny(&self, request_id: &str, reason: &str) -> Result<Approval> {
        self.update_status(request_id, ApprovalDecision::Deny, reason).await
    }

    /// Starts approving a pending request. See [`begin_update_status`](Self::begin_update_status).
    ///
    /// # Errors
    /// As [`begin_update_status`](Self::begin_update_status).
    pub async fn begin_approve(&self, request_id: &str, reason: &str) -> Result<Poller<Approval>> {
        self.begin_update_status(request_id, ApprovalDecision::Approve, reason).await
    }

    /// Starts denying a pending request. See [`begin_update_status`](Self::begin_update_status).
    ///
    /// # Errors
    /// As [`begin_update_status`](Self::begin_update_status).
    pub async fn begin_deny(&self, request_id: &str, reason: &str) -> Result<Poller<Approval>> {
        self.begin_update_status(request_id, ApprovalDecision::Deny, reason).await
    }

    /// Records a decision on a pending request (`Requests_UpdateStatus`), exactly once, and waits for the
    /// service to accept it: an answer of `202 Accepted` is polled with default [`PollerOptions`]. See
    /// [`begin_update_status`](Self::begin_update_status) for how retries are made safe.
    ///
    /// # Errors
    /// As [`begin_update_status`](Self::begin_update_status); [`Error::OperationFailed`] when the accepted
    /// operation ends as `Failed` or `Canceled`.
    pub async fn update_status(&self, request_id: &str, decision: ApprovalDecision, reason: &str) -> Result<Approval> {
        self.begin_update_status(request_id, decision, reason).await?.await
    }

    /// Starts recording a decision on a pending request (`Requests_UpdateStatus`), exactly once, and returns a
    /// [`Poller`] for it: ready at once when the service answers 200, polled when it answers 202.
    ///
    /// A decision is not blindly resent after it may have reached the service: after a 500, 502 or 504, a read
    /// timeout, a connection lost once the request was sent, or the client's `timeout` passing while it was on
    /// its way, the SDK reads the request instead. If its status
    /// already reflects the decision (`Approving`/`Approved` for an approval, `Denying`/`Denied` for a denial),
    /// the call succeeds; if it is still `Pending`, the decision is sent again; otherwise the call fails with
    /// [`Error::DecisionConflict`] carrying the status. Throttling (429), 503 and refused connections, which
    /// guarantee nothing was done, are retried as usual. If the request cannot be read either, the call fails
    /// with [`Error::DecisionOutcomeUnknown`]: it never reports a plain failure for a decision that may have
    /// been taken. A success status whose body is lost or undecodable counts as the decision taken: the poller
    /// is ready with the decision and reason that were sent.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad id or an empty, overlong or control-character reason, before
    /// sending; [`Error::DecisionConflict`] and [`Error::DecisionOutcomeUnknown`] as above; a [`Error::Service`] 409 whose
    /// [`current_status`](Error::current_status) tells where the request stands when it was not pending.
    pub async fn begin_update_status(
        &self,
        request_id: &str,
        decision: ApprovalDecision,
        reason: &str,
    ) -> Result<Poller<Approval>> {
        let request_id = validate::request_id(request_id)?;
        let reason = validate::reason(reason)?;
        if let ApprovalDecision::Other(value) = &decision {
            return Err(Error::invalid("decision", format!("{value:?} is not a decision this SDK can send")));
        }
        let body = Approval { status: Some(decision.clone()), reason: Some(reason.to_owned()) };
        let inner = &self.client.inner;
        let rounds = inner.inner.shared().retry.max_retries() + 1;
        let mut uncertain = false;
        let mut round = 0;
        loop {
            round += 1;
            let send = inner
                .requests_update_status()
                .subscription_id(&*self.subscription_id)
                .request_id(request_id)
                .api_version(self.client.api_version())
                .body(body.clone())
                .send();
            let fallback = serde_json::to_value(&body).ok();
            let (result, meta) = Poller::start(&self.client, "requests_update_status", send, true, fallback).await;
            let error = match result {
                Ok(poller) => return Ok(poller),
                Err(error) => error,
            };
            if let Some(status) = error.status().filter(reqwest::StatusCode::is_success) {
                // The service said yes; only its answer's body was lost or could not be decoded. The decision
                // was taken: report it as sent, not as a failure that would invite a second one.
                tracing::warn!(
                    request_id,
                    status = status.as_u16(),
                    "decision accepted, but the answer's body could not be read ({error}); reporting it as sent"
                );
                return Ok(self.recorded(body));
            }
            if !meta.ambiguous {
                // A definite answer. After an earlier attempt that may have gone through, a "not pending"
                // refusal showing our decision means that attempt did.
                return match (uncertain, error.current_status()) {
                    (true, Some(status)) if status.reflects(&decision) => Ok(self.recorded(body)),
                    _ => Err(error),
                };
            }
            uncertain = true;
            tracing::info!(request_id, round, "decision outcome unknown ({error}); reading the request to reconcile");
            let status = match self.read_status(request_id).await {
                Ok(status) => status,
                // Cannot tell what happened: say so, rather than report a failure for a decision that may
                // have been taken.
                Err(read_error) => {
                    return Err(Error::DecisionOutcomeUnknown {
                        request_id: request_id.to_owned(),
                        decision,
                        source: Box::new(read_error),
                    });
                }
            };
            if status.reflects(&decision) {
                tracing::info!(request_id, %status, "decision was recorded by the failed attempt");
                return Ok(self.recorded(body));
            }
            if !status.is_pending() {
                return Err(Error::DecisionConflict {
                    request_id: request_id.to_owned(),
                    decision,
                    current_status: status,
                });
            }
            if round >= rounds {
                return Err(error);
            }
        }
    }

    /// Reads a request's status to reconcile an uncertain decision. A read is safe to repeat, so a read that
    /// fails even after the pipeline's retries is tried again, up to three times in all.
    async fn read_status(&self, request_id: &str) -> Result<LockboxRequestStatus> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.get(request_id).await {
                Ok(request) => return Ok(request.status().cloned().unwrap_or(LockboxRequestStatus::Unknown)),
                Err(error) if tries < 3 && error.is_retryable() => {
                    tracing::info!(request_id, tries, "reconciling read failed ({error}); reading again");
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn recorded(&self, body: Approval) -> Poller<Approval> {
        Poller::done(&self.client, "requests_update_status", body)
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
        options: Option<PollerOptions>,
    ) -> Result<Poller<LockboxRequestResponse>> {
        let request_id = validate::request_id(request_id)?;
        // The same URL the generated Requests_Get builds (see `Pipeline::operation_url`).
        let sub = self.subscription_id();
        let url = self.client.inner.inner.operation_url(
            &["subscriptions", sub, "providers", "Microsoft.CustomerLockbox", "requests", request_id],
            self.client.api_version(),
        );
        Ok(Poller::for_request(&self.client, url.into())?.with_options(options.unwrap_or_default()))
    }

    /// Approves a request, then waits until its status is final; the options' timeout covers both steps.
    ///
    /// # Errors
    /// As [`update_status`](Self::update_status) and [`wait_for_decision`](Self::wait_for_decision);
    /// [`Error::DecisionConflict`] when the request ends in a status that does not reflect the approval.
    pub async fn approve_and_wait(
        &self,
        request_id: &str,
        reason: &str,
        options: Option<PollerOptions>,
    ) -> Result<LockboxRequestResponse> {
        self.decide_and_wait(request_id, ApprovalDecision::Approve, reason, options.unwrap_or_default()).await
    }

    /// Denies a request, then waits until its status is final; the options' timeout covers both steps.
    ///
    /// # Errors
    /// As [`approve_and_wait`](Self::approve_and_wait).
    pub async fn deny_and_wait(
        &self,
        request_id: &str,
        reason: &str,
        options: Option<PollerOptions>,
    ) -> Result<LockboxRequestResponse> {
        self.decide_and_wait(request_id, ApprovalDecision::Deny, reason, options.unwrap_or_default()).await
    }

    async fn decide_and_wait(
        &self,
        request_id: &str,
        decision: ApprovalDecision,
        reason: &str,
        options: PollerOptions,
    ) -> Result<LockboxRequestResponse> {
        let started = tokio::time::Instant::now();
        self.begin_update_status(request_id, decision.clone(), reason).await?.with_options(options.clone()).await?;
        let timeout = options.timeout.map(|limit| limit.saturating_sub(started.elapsed()));
        let request = self.wait_for_decision(request_id, Some(PollerOptions { timeout, ..options }))?.await?;
        let status = request.status().cloned().unwrap_or(LockboxRequestStatus::Unknown);
        if status.reflects(&decision) {
            Ok(request)
        } else {
            Err(Error::DecisionConflict { request_id: request_id.to_owned(), decision, current_status: status })
        }
    }

    /// Watches the requests: lists them (every page) every [`WatchOptions::interval`], with jitter, and yields
    /// a [`WatchEvent`](crate::WatchEvent) for each request that appeared, changed status or disappeared since
    /// the previous listing. Sends nothing until the watch is polled; dropping it stops it (no background
    /// task). Failed listings are retried with backoff. A transient failure is yielded as `WatchEvent::Error`
    /// only after [`WatchOptions::max_consecutive_failures`] in a row, any other (e.g. a 403) at once; the
    /// watch then goes on. See [`Watch`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use azure_customer_lockbox::{RequestFilter, WatchEvent, WatchOptions, models::LockboxRequestStatus};
    ///
    /// # async fn demo(requests: azure_customer_lockbox::RequestsClient) {
    /// let mut watch = requests.watch(WatchOptions {
    ///     interval: Duration::from_secs(60),
    ///     filter: Some(RequestFilter::status(LockboxRequestStatus::Pending)),
    ///     ..Default::default()
    /// });
    /// loop {
    ///     match watch.next_event().await {
    ///         WatchEvent::New(request) => println!("new request {:?}", request.request_id()),
    ///         WatchEvent::StatusChanged { request, old, new } => {
    ///             println!("{:?}: {old} -> {new}", request.request_id())
    ///         }
    ///         WatchEvent::Removed { request_id } => println!("{request_id} is no longer pending"),
    ///         WatchEvent::Error(error) => eprintln!("listing keeps failing: {error}"),
    ///         _ => {}
    ///     }
    /// }
    /// # }
    /// ```
    pub fn watch(&self, options: WatchOptions) -> Watch {
        Watch::new(self.clone(), options)
    }
}

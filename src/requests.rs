//! Access requests of one subscription: read, list, approve, deny.

use std::sync::Arc;

use crate::{
    client::CustomerLockboxClient,
    error::{Error, Result},
    generated::ClientRequestsExt,
    models::{Approval, LockboxRequestResponse, RequestListResult},
    pager::{ContinuationToken, Fetch, Pager},
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
        let send = inner
            .requests_get()
            .subscription_id(&*self.subscription_id)
            .request_id(request_id)
            .api_version(self.client.api_version())
            .send();
        Ok(inner.inner.call("requests_get", send).await.0?.into_inner())
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
                        let mut builder =
                            inner.requests_list().subscription_id(&*subscription_id).api_version(client.api_version());
                        if let Some(filter) = filter.as_deref() {
                            builder = builder.filter(filter);
                        }
                        inner.inner.call("requests_list", builder.send()).await
                    }
                    Some(link) => inner.inner.get_json(inner, "requests_list", "nextLink", &link).await,
                };
                let page: RequestListResult = result?.into_inner();
                Ok((page.value, page.next_link))
            })
        });
        Pager::new(fetch, options.continuation)
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

    /// Records a decision on a pending request (`Requests_UpdateStatus`), exactly once.
    ///
    /// A decision is not blindly resent after it may have reached the service: after a 500, 502 or 504, a read
    /// timeout or a connection lost once the request was sent, the SDK reads the request instead. If its status
    /// already reflects the decision (`Approving`/`Approved` for an approval, `Denying`/`Denied` for a denial),
    /// the call succeeds; if it is still `Pending`, the decision is sent again; otherwise the call fails with
    /// [`Error::DecisionConflict`] carrying the status. Throttling (429), 503 and refused connections, which
    /// guarantee nothing was done, are retried as usual.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad id or an empty, overlong or control-character reason, before
    /// sending; [`Error::DecisionConflict`] as above; a [`Error::Service`] 409 whose
    /// [`current_status`](Error::current_status) tells where the request stands when it was not pending.
    pub async fn update_status(&self, request_id: &str, decision: ApprovalDecision, reason: &str) -> Result<Approval> {
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
            let (result, meta) = inner.inner.call("requests_update_status", send).await;
            let error = match result {
                Ok(value) => return Ok(value.into_inner()),
                Err(error) => error,
            };
            if !meta.ambiguous {
                // A definite answer. After an earlier attempt that may have gone through, a "not pending"
                // refusal showing our decision means that attempt did.
                return match (uncertain, error.current_status()) {
                    (true, Some(status)) if status.reflects(&decision) => Ok(body),
                    _ => Err(error),
                };
            }
            uncertain = true;
            tracing::info!(request_id, round, "decision outcome unknown ({error}); reading the request to reconcile");
            let status = match self.get(request_id).await {
                Ok(request) => request.status().cloned().unwrap_or(LockboxRequestStatus::Unknown),
                // Cannot tell what happened: report the original failure rather than guess.
                Err(_) => return Err(error),
            };
            if status.reflects(&decision) {
                tracing::info!(request_id, %status, "decision was recorded by the failed attempt");
                return Ok(body);
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

    /// Watches the requests: lists them (every page) every [`WatchOptions::interval`], with jitter, and yields
    /// a [`WatchEvent`](crate::WatchEvent) for each request that appeared, changed status or disappeared since
    /// the previous listing. Sends nothing until the watch is polled; dropping it stops it (no background
    /// task). Failed listings are retried with backoff and yielded as `WatchEvent::Error` only after
    /// [`WatchOptions::max_consecutive_failures`] in a row; the watch then goes on. See [`Watch`].
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

//! What a listing of access requests takes: a filter and a continuation token. Used by `requests.rs` and
//! `watch.rs`; uses `pager` and `status`.

use crate::{pager::ContinuationToken, status::LockboxRequestStatus};

/// An OData `$filter` for [`RequestsClient::list`](crate::RequestsClient::list). The service understands only a status comparison.
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

/// Options of [`RequestsClient::list`](crate::RequestsClient::list).
#[derive(Clone, Debug, Default)]
pub struct RequestsListOptions {
    /// Only requests matching this filter. The default is `None`: every request.
    pub filter: Option<RequestFilter>,
    /// Resume a listing from a token taken from an earlier [`Listing`](crate::Listing) or page. The default is `None`: start at
    /// the first page. With a token, `filter` is ignored: the token carries the listing's own filter.
    pub continuation: Option<ContinuationToken>,
}

impl RequestsListOptions {
    /// Options with a filter.
    pub fn filter(filter: RequestFilter) -> Self {
        Self { filter: Some(filter), ..Default::default() }
    }

    /// Options that list only the requests waiting for a decision (`properties/status eq 'Pending'`).
    ///
    /// ```
    /// use azure_customer_lockbox::{RequestFilter, models::LockboxRequestStatus, options::RequestsListOptions};
    /// let pending = RequestsListOptions::pending();
    /// assert_eq!(pending.filter, Some(RequestFilter::status(LockboxRequestStatus::Pending)));
    /// ```
    pub fn pending() -> Self {
        Self::filter(RequestFilter::status(LockboxRequestStatus::Pending))
    }
}

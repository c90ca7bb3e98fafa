//! The options of the single reads ([`RequestsClient::get`](crate::RequestsClient::get),
//! [`TenantClient::get_opt_in_status`](crate::TenantClient::get_opt_in_status), …) and of the subscriptions
//! listing: plain types; the calls are in the clients' files.

use std::time::Duration;

use crate::pager::ContinuationToken;

/// Options of one read: [`RequestsClient::get`](crate::RequestsClient::get),
/// [`RequestsClient::get_with_response`](crate::RequestsClient::get_with_response),
/// [`TenantClient::get_opt_in_status`](crate::TenantClient::get_opt_in_status) and
/// [`TenantClient::is_opted_in`](crate::TenantClient::is_opted_in). Start from `Default`.
///
/// ```
/// use std::time::Duration;
/// use azure_customer_lockbox::options::ReadOptions;
///
/// // This read may take at most two seconds, retries included, whatever the client's own timeout.
/// let options = ReadOptions { timeout: Some(Duration::from_secs(2)) };
/// assert_eq!(ReadOptions::default().timeout, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The time limit of this call, retries included, in place of the client's
    /// [`timeout`](crate::CustomerLockboxClientOptions::timeout). The default is `None`: the client's.
    pub timeout: Option<Duration>,
}

/// Options of [`SubscriptionsClient::list`](crate::SubscriptionsClient::list). Start from `Default`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionsListOptions {
    /// Resume an earlier listing of subscriptions from its
    /// [`continuation`](crate::Listing::continuation). The default is `None`: from the first page.
    pub continuation: Option<ContinuationToken>,
}

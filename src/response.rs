//! What a call returns when its caller wants more than the model: the ids the service gave the call and how
//! many attempts it took, for an audit log or a support ticket. [`WithCallIds`] wraps any model;
//! [`Decision`](crate::Decision) (in `decision/result.rs`) is the result of an approval or a denial.

use std::ops::Deref;

use crate::error::CallMeta;

/// A model with what the service said about the call that returned it, in the style of azure_core's
/// `Response<T>` (named apart from it, see the README's "Using it beside other Azure crates"):
/// [`into_model`](Self::into_model) gives the model; it also derefs to it.
///
/// ```no_run
/// use azure_customer_lockbox::{RequestsClient, Result};
///
/// async fn read(requests: RequestsClient) -> Result<()> {
///     let response = requests.get_with_response("req-1").await?;
///     println!("x-ms-request-id {:?}, {} attempt(s)", response.service_request_id(), response.attempts());
///     let request = response.into_model();
///     println!("{:?}", request.status());
///     Ok(())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct WithCallIds<T> {
    model: T,
    ids: CallIds,
}

/// The ids of one call, as an audit log cites them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CallIds {
    pub(crate) service_request_id: Option<String>,
    pub(crate) correlation_request_id: Option<String>,
    pub(crate) client_request_id: Option<String>,
    pub(crate) attempts: u32,
}

impl CallIds {
    pub(crate) fn from_meta(meta: &CallMeta) -> Self {
        Self {
            service_request_id: meta.last_request_id.clone(),
            correlation_request_id: meta.last_correlation_id.clone(),
            client_request_id: meta.client_request_id.clone(),
            attempts: meta.attempts,
        }
    }
}

impl<T> WithCallIds<T> {
    pub(crate) fn new(model: T, ids: CallIds) -> Self {
        Self { model, ids }
    }

    /// The model.
    pub fn into_model(self) -> T {
        self.model
    }

    /// The `x-ms-request-id` the service gave the call (its last answer), if it sent one.
    pub fn service_request_id(&self) -> Option<&str> {
        self.ids.service_request_id.as_deref()
    }

    /// The `x-ms-correlation-request-id` of the call's last answer, if the service sent one.
    pub fn correlation_request_id(&self) -> Option<&str> {
        self.ids.correlation_request_id.as_deref()
    }

    /// The `x-ms-client-request-id` the SDK sent with every attempt of the call.
    pub fn client_request_id(&self) -> Option<&str> {
        self.ids.client_request_id.as_deref()
    }

    /// How many attempts the call took (retries included).
    pub fn attempts(&self) -> u32 {
        self.ids.attempts
    }
}

impl<T> Deref for WithCallIds<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.model
    }
}

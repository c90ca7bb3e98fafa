//! What a call returns when its caller wants more than the model: the ids the service gave the call and how
//! many attempts it took ([`CallIds`]), for an audit log or a support ticket. [`WithCallIds`] wraps any model;
//! [`Decision`](crate::Decision) (in `decision/result.rs`) is the result of an approval or a denial.

use std::ops::Deref;

use crate::call_ids::CallIds;

/// A model with what the service said about the call that returned it, in the style of azure_core's
/// `Response<T>` (named apart from it, see the README's "Using it beside other Azure crates"):
/// [`into_model`](Self::into_model) gives the model; it also derefs to it.
///
/// ```no_run
/// use azure_customer_lockbox::{RequestsClient, Result};
///
/// async fn read(requests: RequestsClient) -> Result<()> {
///     let response = requests.get_with_response("req-1", None).await?;
///     let ids = response.call_ids();
///     println!("x-ms-request-id {:?}, {} attempt(s)", ids.service_request_id, ids.attempts);
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

impl<T> WithCallIds<T> {
    pub(crate) fn new(model: T, ids: CallIds) -> Self {
        Self { model, ids }
    }

    /// The model.
    pub fn into_model(self) -> T {
        self.model
    }

    /// The identity of the call: the ids the service gave it and its attempts.
    pub fn call_ids(&self) -> &CallIds {
        &self.ids
    }
}

impl<T> Deref for WithCallIds<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.model
    }
}

//! [`CallIds`]: the identity of one call (the ids the service and the SDK gave it, and its attempts), one type
//! from the wire to a caller's audit log: in a [`WithCallIds`](crate::WithCallIds), a
//! [`Decision`](crate::Decision) and a [`ServiceError`](crate::ServiceError).

use serde::{Deserialize, Serialize};

/// The identity of one call, as an audit log or a support ticket cites it: the ids the service gave its last
/// answer, the id the SDK sent with every attempt, and how many attempts it took.
///
/// It serializes as it reads (camelCase JSON: `serviceRequestId`, `correlationRequestId`, `clientRequestId`,
/// `attempts`), so a record can embed it whole:
///
/// ```
/// use azure_customer_lockbox::CallIds;
///
/// let ids: CallIds = serde_json::from_str(r#"{"serviceRequestId":"c2f1","attempts":2}"#).unwrap();
/// assert_eq!(ids.service_request_id.as_deref(), Some("c2f1"));
/// assert_eq!(ids.attempts, 2);
/// assert_eq!(serde_json::to_string(&ids).unwrap(), r#"{"serviceRequestId":"c2f1","attempts":2}"#);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CallIds {
    /// The `x-ms-request-id` of the call's last answer, if the service sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_request_id: Option<String>,
    /// The `x-ms-correlation-request-id` of the call's last answer, if the service sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_request_id: Option<String>,
    /// The `x-ms-client-request-id` the SDK sent with every attempt of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    /// How many attempts the call took, retries included (`0` when nothing was sent).
    #[serde(default)]
    pub attempts: u32,
}

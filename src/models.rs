//! The data types of the Customer Lockbox API, generated from our OpenAPI document.
//!
//! Unknown JSON fields are ignored, missing optional fields are `None`, and the two enums are extensible (see
//! [`LockboxRequestStatus`]). The ARM error envelope is decoded by the hand-written
//! [`ArmErrorDetail`]; the generated error models are not exported.
//! [`LockboxRequestResponseProperties`] is hand-written, so that it also reads the shapes older answers used
//! (see [`AccessDuration`]).

use std::{fmt, ops::Deref, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

pub use crate::error::{ArmAdditionalInfo, ArmErrorDetail};
pub use crate::generated::types::{
    Approval, LockboxRequestResponse, Operation, OperationDisplay, OperationListResult, RequestListResult,
    TenantOptInResponse,
};
pub use crate::status::{ApprovalDecision, LockboxRequestStatus, SubscriptionState};
pub use crate::subscriptions::{ManagedByTenant, Subscription, SubscriptionPolicies};

/// What the engineer asked for and where the request stands (`properties` of an access request).
///
/// The same fields as the API document describes, decoding two shapes of answer: `duration` as a string
/// (current answers) or a number (older ones), and `workitemsource` (current) or `workItemSource` (older).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
pub struct LockboxRequestResponseProperties {
    /// Level of access asked for.
    #[serde(rename = "accessLevel", skip_serializing_if = "Option::is_none")]
    pub access_level: Option<String>,
    /// When the request was made.
    #[serde(rename = "createdDateTime", skip_serializing_if = "Option::is_none")]
    pub created_date_time: Option<DateTime<Utc>>,
    /// How long access is asked for, as the service wrote it (see [`AccessDuration`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<AccessDuration>,
    /// When a pending request lapses: four days after it was made.
    #[serde(rename = "expirationDateTime", skip_serializing_if = "Option::is_none")]
    pub expiration_date_time: Option<DateTime<Utc>>,
    /// Why the engineer needs access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// Identifier of the request.
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Comma-separated resource ids the access would cover; [`resource_ids`](Self::resource_ids) splits them.
    #[serde(rename = "resourceIds", skip_serializing_if = "Option::is_none")]
    pub resource_ids: Option<String>,
    /// Type of the resources concerned.
    #[serde(rename = "resourceType", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Where the request stands now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<LockboxRequestStatus>,
    /// Subscription of the resources.
    #[serde(rename = "subscriptionId", skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// Link to the support case.
    #[serde(rename = "supportCaseUrl", skip_serializing_if = "Option::is_none")]
    pub support_case_url: Option<String>,
    /// Support ticket the request belongs to.
    #[serde(rename = "supportRequest", skip_serializing_if = "Option::is_none")]
    pub support_request: Option<String>,
    /// Ticketing system the request came from. Read from `workitemsource`, or `workItemSource` in older
    /// answers; written as `workitemsource`.
    #[serde(alias = "workItemSource", skip_serializing_if = "Option::is_none")]
    pub workitemsource: Option<String>,
}

impl LockboxRequestResponseProperties {
    /// The ARM resource ids the access would cover: `resourceIds` split at commas, trimmed, empties dropped.
    ///
    /// ```
    /// use azure_customer_lockbox::models::LockboxRequestResponseProperties;
    /// let p = LockboxRequestResponseProperties {
    ///     resource_ids: Some("/subscriptions/s/resourceGroups/a, /subscriptions/s/resourceGroups/b".into()),
    ///     ..Default::default()
    /// };
    /// assert_eq!(p.resource_ids(), ["/subscriptions/s/resourceGroups/a", "/subscriptions/s/resourceGroups/b"]);
    /// ```
    pub fn resource_ids(&self) -> Vec<&str> {
        self.resource_ids
            .as_deref()
            .map(|ids| ids.split(',').map(str::trim).filter(|id| !id.is_empty()).collect())
            .unwrap_or_default()
    }

    /// Time left before the request expires, at `now`: `None` without an expiry, zero once it has passed.
    pub fn time_left(&self, now: DateTime<Utc>) -> Option<Duration> {
        let expiry = self.expiration_date_time?;
        Some(expiry.signed_duration_since(now).to_std().unwrap_or(Duration::ZERO))
    }

    /// Whether the request can still be approved or denied at `now`: it is `Pending` and not past its expiry
    /// (when the answer gives one). The service has the last word; this spares a call bound to fail.
    pub fn can_be_decided(&self, now: DateTime<Utc>) -> bool {
        self.status.as_ref().is_some_and(LockboxRequestStatus::is_pending)
            && self.expiration_date_time.is_none_or(|expiry| now < expiry)
    }
}

/// How long access is asked for, kept as the text the service sent.
///
/// Current answers carry a string, which is usually a number of hours (`"8"`) but may be free text
/// (`"Support request lifetime"`); older answers carried a number (`8`). Both decode; a number is kept as its
/// decimal text. [`hours`](Self::hours) reads the hours when the text is a whole number.
///
/// ```
/// use azure_customer_lockbox::models::AccessDuration;
/// let d: AccessDuration = serde_json::from_str("8").unwrap();
/// assert_eq!((d.as_str(), d.hours()), ("8", Some(8)));
/// let d: AccessDuration = serde_json::from_str(r#""Support request lifetime""#).unwrap();
/// assert_eq!(d.hours(), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AccessDuration(String);

impl AccessDuration {
    /// A duration from its text.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text, as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hours, when the text is a whole number (surrounding spaces allowed).
    pub fn hours(&self) -> Option<u64> {
        self.0.trim().parse().ok()
    }
}

impl Deref for AccessDuration {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccessDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<AccessDuration> for String {
    fn from(value: AccessDuration) -> Self {
        value.0
    }
}

impl Serialize for AccessDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AccessDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl de::Visitor<'_> for Text {
            type Value = AccessDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AccessDuration(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(AccessDuration(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(AccessDuration(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(AccessDuration(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(AccessDuration(v.to_string()))
            }
        }
        deserializer.deserialize_any(Text)
    }
}

impl LockboxRequestResponse {
    /// The request's status, if the service sent one.
    pub fn status(&self) -> Option<&LockboxRequestStatus> {
        self.properties.as_ref()?.status.as_ref()
    }

    /// The request id: `properties.requestId`, or else the resource `name`.
    pub fn request_id(&self) -> Option<&str> {
        self.properties.as_ref().and_then(|p| p.request_id.as_deref()).or(self.name.as_deref())
    }

    /// Whether the request's status is final (approved, denied, expired, revoked, completed or failed): it will
    /// not change again. `false` without a status. See [`LockboxRequestStatus::is_final`].
    pub fn is_final(&self) -> bool {
        self.status().is_some_and(LockboxRequestStatus::is_final)
    }

    /// The ARM resource ids the access would cover (see [`LockboxRequestResponseProperties::resource_ids`]).
    pub fn resource_ids(&self) -> Vec<&str> {
        self.properties.as_ref().map(LockboxRequestResponseProperties::resource_ids).unwrap_or_default()
    }

    /// Time left before the request expires, at `now` (see [`LockboxRequestResponseProperties::time_left`]).
    pub fn time_left(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.properties.as_ref()?.time_left(now)
    }

    /// Whether the request can still be decided at `now` (see
    /// [`LockboxRequestResponseProperties::can_be_decided`]).
    pub fn can_be_decided(&self, now: DateTime<Utc>) -> bool {
        self.properties.as_ref().is_some_and(|p| p.can_be_decided(now))
    }
}

impl Approval {
    /// The decision recorded.
    pub fn decision(&self) -> Option<&ApprovalDecision> {
        self.status.as_ref()
    }
}

//! One stored Lockbox request ([`StoredRequest`]), the decisions made on it ([`Decision`]), and the time helpers
//! its JSON and transitions use.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

use super::model::NewLockboxRequest;

/// RFC 3339 with whole seconds and `Z`, as ARM writes times.
pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn to_delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// An approval decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Approve,
    Deny,
}

impl Decision {
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("Approve") {
            Some(Self::Approve)
        } else if s.eq_ignore_ascii_case("Deny") {
            Some(Self::Deny)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "Approve",
            Self::Deny => "Deny",
        }
    }

    /// The status a request shows while this decision takes effect.
    pub fn interim(self) -> &'static str {
        match self {
            Self::Approve => "Approving",
            Self::Deny => "Denying",
        }
    }

    /// The status a request reaches once this decision has taken effect.
    pub fn settled(self) -> &'static str {
        match self {
            Self::Approve => "Approved",
            Self::Deny => "Denied",
        }
    }

    /// The approval JSON the service echoes.
    pub fn echo(self, reason: Option<&str>) -> Value {
        match reason {
            Some(reason) => json!({"status": self.as_str(), "reason": reason}),
            None => json!({"status": self.as_str()}),
        }
    }
}

/// One stored Lockbox request.
#[derive(Debug, Clone)]
pub(crate) struct StoredRequest {
    pub subscription_id: String,
    pub request_id: String,
    pub status: String,
    /// `(when, final status)` of an `Approving` / `Denying` transition.
    pub transition: Option<(DateTime<Utc>, &'static str)>,
    pub created: DateTime<Utc>,
    pub expiration: DateTime<Utc>,
    pub support_request: String,
    pub new: NewLockboxRequest,
    /// Decision POSTs received for this request, and how many of them came after its decision was recorded.
    pub posts: DecisionPostCounts,
}

/// Per-request counts of decision POSTs (not capped, unlike the received log).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DecisionPostCounts {
    pub received: u64,
    pub after_decision: u64,
    /// Whether a decision was recorded for the request.
    pub decided: bool,
}

impl StoredRequest {
    pub fn new(
        subscription_id: &str,
        request_id: Option<String>,
        status: &str,
        created: DateTime<Utc>,
        expiration: DateTime<Utc>,
        new: NewLockboxRequest,
    ) -> Self {
        let support_request = if new.support_request.is_empty() {
            format!("{}{:010}", created.format("%y%m%d"), fastrand::u64(..10_000_000_000))
        } else {
            new.support_request.clone()
        };
        Self {
            subscription_id: subscription_id.to_owned(),
            request_id: request_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            status: status.to_owned(),
            transition: None,
            created,
            expiration,
            support_request,
            new,
            posts: DecisionPostCounts::default(),
        }
    }

    /// The status a read shows at `now`.
    pub fn status_at(&self, now: DateTime<Utc>) -> &str {
        match self.transition {
            Some((at, target)) if now >= at => target,
            _ if self.status == "Pending" && now >= self.expiration => "Expired",
            _ => &self.status,
        }
    }

    pub fn to_json(&self, now: DateTime<Utc>) -> Value {
        let sub = &self.subscription_id;
        let rid = &self.request_id;
        let resource_ids = if self.new.resource_ids.is_empty() {
            format!(
                "/subscriptions/{sub}/resourceGroups/contoso-rg/providers/Microsoft.Storage/storageAccounts/contosodata"
            )
        } else {
            self.new.resource_ids.join(",")
        };
        json!({
            "id": format!("/subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests/{rid}"),
            "name": rid,
            "type": "requests",
            "properties": {
                "requestId": rid,
                "justification": self.new.justification,
                "status": self.status_at(now),
                "createdDateTime": rfc3339(self.created),
                "expirationDateTime": rfc3339(self.expiration),
                "duration": self.new.duration_hours.to_string(),
                "resourceIds": resource_ids,
                "resourceType": self.new.resource_type,
                "supportRequest": self.support_request,
                "supportCaseUrl": format!(
                    "https://portal.azure.com/#resource/subscriptions/{sub}/providers/Microsoft.Support/supportTickets/{}",
                    self.support_request
                ),
                "workitemsource": self.new.workitem_source,
                "subscriptionId": sub,
                "accessLevel": self.new.access_level,
            }
        })
    }
}

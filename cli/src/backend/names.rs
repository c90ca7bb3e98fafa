//! How a command names a request (a bare id, or its resource id) and compares subscriptions (as GUIDs).

use azure_customer_lockbox::Error;

use super::Located;
use crate::failure::Failure;

/// How a command names a request: a bare id, or a full ARM resource id that carries its subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestRef {
    Id(String),
    Arm { subscription: String, id: String },
}

impl RequestRef {
    /// Reads `<id>` or `/subscriptions/<sub>/providers/Microsoft.CustomerLockbox/requests/<id>` (any letter
    /// case for the fixed segments, an optional trailing slash).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        if !text.starts_with('/') {
            return Ok(Self::Id(text.to_owned()));
        }
        let parts: Vec<&str> = text.trim_end_matches('/').split('/').skip(1).collect();
        match parts.as_slice() {
            [s, sub, p, ns, r, id]
                if s.eq_ignore_ascii_case("subscriptions")
                    && p.eq_ignore_ascii_case("providers")
                    && ns.eq_ignore_ascii_case("Microsoft.CustomerLockbox")
                    && r.eq_ignore_ascii_case("requests")
                    && !sub.is_empty()
                    && !id.is_empty() =>
            {
                Ok(Self::Arm { subscription: (*sub).to_owned(), id: (*id).to_owned() })
            }
            _ => Err(Error::InvalidArgument {
                name: "request",
                reason: format!(
                    "{text:?} is not a request id nor a resource id like \
                     /subscriptions/<subscription>/providers/Microsoft.CustomerLockbox/requests/<id>"
                ),
            }),
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::Id(id) | Self::Arm { id, .. } => id,
        }
    }
}

/// A bare id that names requests in several subscriptions: a usage error naming each by its full resource id,
/// so the next command can name the one meant.
pub(super) fn ambiguous(id: &str, found: &[Located]) -> Failure {
    let candidates: Vec<String> = found
        .iter()
        .map(|l| format!("  /subscriptions/{}/providers/Microsoft.CustomerLockbox/requests/{id}", l.subscription))
        .collect();
    crate::failure::usage(format!(
        "request id {id} names {} requests, one in each of these subscriptions; give the full resource id of the one \
         you mean:\n{}",
        found.len(),
        candidates.join("\n")
    ))
}

/// A subscription id as compared: the GUID it reads as (so letter case and braces do not count), or its text
/// in lower case when it is not one.
pub fn guid_key(subscription: &str) -> String {
    let text = subscription.trim();
    let text = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(text);
    uuid::Uuid::try_parse(text).map_or_else(|_| text.to_ascii_lowercase(), |guid| guid.hyphenated().to_string())
}

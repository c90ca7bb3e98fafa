//! Extensible enums of the Lockbox API.
//!
//! Azure marks these enums `modelAsString`: the service may add values at any time. Each enum here has a
//! variant per value this SDK knows, plus `Other(String)`, which keeps any new value as sent and serializes it
//! back unchanged, so a response never fails to decode because of one new enum value.

use std::{fmt, str::FromStr};

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{self, Visitor},
};

macro_rules! extensible_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the SDK does not know, kept exactly as the service sent it.
            Other(String),
        }

        impl $name {
            /// Every value this version of the SDK knows, in the service's order.
            pub const KNOWN: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Other(s) => s.as_str(),
                }
            }

            /// Parses a wire value, matching known values without regard to letter case.
            ///
            /// Unknown values become [`Self::Other`] with the text unchanged; this never fails.
            pub fn parse(value: &str) -> Self {
                $( if value.eq_ignore_ascii_case($wire) { return $name::$variant; } )+
                $name::Other(value.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(s))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // A visitor sees the text where it lies (serde's `Cow<str>` always copies it into a `String`), so
                // a known value costs no allocation.
                struct Text;
                impl<'de> Visitor<'de> for Text {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: de::Error>(self, text: &str) -> Result<$name, E> {
                        $( if text == $wire { return Ok($name::$variant); } )+
                        Ok($name::parse(text))
                    }
                    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<$name, E> {
                        let text = std::str::from_utf8(bytes)
                            .map_err(|_| E::invalid_value(de::Unexpected::Bytes(bytes), &self))?;
                        self.visit_str(text)
                    }
                }
                deserializer.deserialize_str(Text)
            }
        }
    };
}

extensible_enum! {
    /// Where a Customer Lockbox request stands.
    ///
    /// A request starts `Pending`; the customer's decision moves it through `Approving` to `Approved` or
    /// through `Denying` to `Denied`; a request nobody decides on becomes `Expired`.
    LockboxRequestStatus {
        /// The request is being set up.
        Initializing => "Initializing",
        /// Waiting for the customer's decision.
        Pending => "Pending",
        /// Approved; the approval is being carried out.
        Approving => "Approving",
        /// Denied; the denial is being carried out.
        Denying => "Denying",
        /// The customer approved the request.
        Approved => "Approved",
        /// The customer denied the request.
        Denied => "Denied",
        /// Nobody decided before the request's expiry.
        Expired => "Expired",
        /// Granted access is being withdrawn.
        Revoking => "Revoking",
        /// Granted access was withdrawn.
        Revoked => "Revoked",
        /// The request failed.
        Error => "Error",
        /// The service does not know the state.
        Unknown => "Unknown",
        /// The access granted was used and is finished.
        Completed => "Completed",
        /// The access granted is finishing.
        Completing => "Completing",
    }
}

impl LockboxRequestStatus {
    /// True while a decision can still be made: the request is [`Pending`](Self::Pending).
    pub fn is_pending(&self) -> bool {
        matches!(self, Self::Pending)
    }

    /// True for statuses that will not change without a new action: the request left the decision flow.
    ///
    /// `Pending`, `Initializing`, `Approving`, `Denying`, `Revoking` and `Completing` are in flight; so is any
    /// status this SDK does not know, which is the safe assumption for a caller that waits.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Approved | Self::Denied | Self::Expired | Self::Revoked | Self::Error | Self::Completed)
    }

    /// True when this status shows that `decision` was taken: `Approving`/`Approved` (and the later
    /// `Completing`/`Completed`, `Revoking`/`Revoked`) for an approval, `Denying`/`Denied` for a denial.
    pub fn reflects(&self, decision: &ApprovalDecision) -> bool {
        match decision {
            ApprovalDecision::Approve => matches!(
                self,
                Self::Approving | Self::Approved | Self::Completing | Self::Completed | Self::Revoking | Self::Revoked
            ),
            ApprovalDecision::Deny => matches!(self, Self::Denying | Self::Denied),
            ApprovalDecision::Other(_) => false,
        }
    }
}

extensible_enum! {
    /// The customer's decision on a request, sent with `Requests_UpdateStatus`.
    ApprovalDecision {
        /// Grant the engineer the access asked for.
        Approve => "Approve",
        /// Refuse the access.
        Deny => "Deny",
    }
}

extensible_enum! {
    /// The life-cycle state of a subscription (Resource Manager's `Subscriptions_List`).
    SubscriptionState {
        /// In use.
        Enabled => "Enabled",
        /// Usable, with a warning (for example a spending limit reached soon).
        Warned => "Warned",
        /// Usable, but a payment is overdue.
        PastDue => "PastDue",
        /// Read-only: its resources are stopped.
        Disabled => "Disabled",
        /// Gone.
        Deleted => "Deleted",
    }
}

impl SubscriptionState {
    /// Whether the subscription still works (`Enabled`, `Warned`, `PastDue`), so that its Lockbox requests are
    /// worth listing. `Disabled`, `Deleted` and unknown states are not.
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Enabled | Self::Warned | Self::PastDue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_status_round_trips_unchanged() {
        let s: LockboxRequestStatus = serde_json::from_str("\"BrandNewState\"").unwrap();
        assert_eq!(s, LockboxRequestStatus::Other("BrandNewState".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"BrandNewState\"");
    }

    #[test]
    fn known_status_matches_any_case() {
        assert_eq!(LockboxRequestStatus::parse("pending"), LockboxRequestStatus::Pending);
        let s: LockboxRequestStatus = serde_json::from_str("\"APPROVED\"").unwrap();
        assert_eq!(s, LockboxRequestStatus::Approved);
        assert_eq!(s.to_string(), "Approved");
    }

    #[test]
    fn reflects_only_the_matching_decision() {
        assert!(LockboxRequestStatus::Approving.reflects(&ApprovalDecision::Approve));
        assert!(!LockboxRequestStatus::Approved.reflects(&ApprovalDecision::Deny));
        assert!(LockboxRequestStatus::Denied.reflects(&ApprovalDecision::Deny));
        assert!(!LockboxRequestStatus::Pending.reflects(&ApprovalDecision::Approve));
    }
}

//! One line of the bot's audit trail, typed: [`AuditRecord`] and its [`Outcome`]. Every line the bot writes is
//! one of these serialised as one JSON object; recovery reads them back the same way (see `recover.rs`).

use azure_customer_lockbox::CallIds;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// The version of the audit record this build writes, in each line's `version` field. Lines from before the
/// record was typed have no `version` (read as 0): their fields are the same, but outcome lines carry no
/// `intent` id (an outcome is paired with the last open intent for its request), and a lost race was spelled
/// `"already decided"`.
pub const VERSION: u32 = 1;

/// One line of the audit trail: an intent written before a decision is sent, or an outcome.
///
/// The fields, as each line spells them (JSON, camelCase, one spelling each):
/// - `version`: [`VERSION`].
/// - `time`: when the line was written (RFC 3339, UTC).
/// - `intent`: on an intent line and on its outcome line, the same id (a UUID), which pairs them; absent on a
///   line for a request left for a person or not decided in a dry run (no intent precedes those).
/// - `request`, `subscription`: the request's id and its subscription.
/// - `rule`, `decision`, `reason`: the rule that matched, its action (`approve`, `deny`, `leave`) and its reason
///   (the one sent with the decision). On a settled intent (`reconciled`), those of the intent.
/// - `dryRun`: whether this was a dry run (which sends nothing).
/// - `outcome`: see [`Outcome`]; `sending` on an intent line.
/// - `reconciled`: true when the outcome was learned by reading the request rather than from the service's
///   answer to this bot's call: a try whose answer was lost, or an intent settled at the bot's next start.
/// - `serviceRequestId`, `correlationRequestId`, `clientRequestId`, `attempts`: the SDK's
///   [`CallIds`] of the call the outcome is known from (the decision's call, or
///   its refusal), serialized as the SDK spells them: its `x-ms-request-id`, `x-ms-correlation-request-id`, the
///   `x-ms-client-request-id` sent, and how many times it was sent (`0`: not sent). An id the service did not
///   give is absent.
/// - `currentStatus`: the request's status when it was not this bot's to decide any more, or as read when
///   settling an intent.
/// - `error`: why a decision failed or its outcome is unknown, on one line.
/// - `explanation`: with `--explain`, why each rule did or did not match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    #[serde(default)]
    pub version: u32,
    pub time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    pub request: String,
    pub subscription: String,
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub dry_run: bool,
    pub outcome: Outcome,
    #[serde(default, deserialize_with = "null_is_false")]
    pub reconciled: bool,
    /// The SDK's [`CallIds`] of the call the outcome is known from, as they are.
    #[serde(flatten)]
    pub call: CallIds,
    #[serde(default)]
    pub current_status: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Vec<String>>,
}

/// What became of a request, as the `outcome` field spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// An intent: the decision is about to be sent. Its outcome line follows (at the latest, at the next start).
    #[serde(rename = "sending")]
    Sending,
    /// This bot approved it: the service's answer to this bot's own call recorded the approval.
    #[serde(rename = "approved")]
    Approved,
    /// This bot denied it: the service's answer to this bot's own call recorded the denial.
    #[serde(rename = "denied")]
    Denied,
    /// Someone else decided it first (a person, or another replica of the bot): the service refused this bot's
    /// decision, or the request shows the other decision. `currentStatus` says which.
    #[serde(rename = "decided by another", alias = "already decided")]
    DecidedByAnother,
    /// The request shows this bot's decision, but the service's answer to this bot's call was lost (a try that
    /// may have been taken, or a bot stopped or killed while the call was out): the bot cannot tell its own
    /// decision from the same one made by another, so it does not claim it. `currentStatus` says the status.
    #[serde(rename = "decided, by this bot or another")]
    DecidedUnattributed,
    /// Settled at a later start: the request was still pending, so the decision never took effect; the request
    /// is decided afresh (a new intent).
    #[serde(rename = "not sent")]
    NotSent,
    /// Expired before it was decided.
    #[serde(rename = "expired")]
    Expired,
    /// No rule decides it: left for a person.
    #[serde(rename = "left for a human")]
    LeftForAHuman,
    /// A dry run: the decision was not sent.
    #[serde(rename = "not decided (dry run)")]
    NotDecidedDryRun,
    /// The service refused the decision for another reason (nothing was recorded); `error` says why.
    #[serde(rename = "failed")]
    Failed,
    /// The decision may or may not have been recorded; `error` says why. Settled (read again) at the start of
    /// the next pass, or the next start.
    #[serde(rename = "outcome unknown")]
    Unknown,
}

impl Outcome {
    /// The outcome as the `outcome` field spells it (the metrics' `outcome` label).
    pub fn label(self) -> String {
        // A unit variant always serialises as its name.
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(name)) => name,
            _ => String::new(),
        }
    }

    /// Whether this outcome ends an intent for good. An intent with no outcome, or only `outcome unknown`, is
    /// open: it is settled before the bot decides anything new.
    pub fn settles(self) -> bool {
        !matches!(self, Self::Sending | Self::Unknown | Self::LeftForAHuman | Self::NotDecidedDryRun)
    }
}

impl AuditRecord {
    /// The line as JSON text (one line, no newline).
    pub fn to_line(&self) -> String {
        // A struct of strings, numbers and options always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The line as a JSON value (for `--output` other than the trail itself).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Lines of version 0 wrote `"reconciled": null` when nothing was read.
fn null_is_false<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(false))
}

//! Policy mode: approve, deny or leave pending requests by ordered rules read from a TOML file, and write one
//! JSON audit line per decision and per request left alone.
//!
//! The format (every key of a rule is optional except `action`; a rule matches when all its conditions hold,
//! and a list condition holds when any of its values matches):
//!
//! ```toml
//! default = "leave"                      # for requests no rule matches: "leave" (the default) or "deny"
//! # default_reason = "..."               # required with default = "deny"
//!
//! [[rule]]
//! name = "storage reads in working hours"
//! action = "approve"                     # "approve", "deny" (needs `reason`) or "leave" (for a human)
//! reason = "routine diagnostics"         # sent with the decision; approve defaults to "lockbox policy: <name>"
//! subscriptions = ["6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21"]
//! resource_types = ["Storage Account", "Microsoft.Storage/storageAccounts"]  # resourceType or ARM type
//! resource_id_prefixes = ["/subscriptions/6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21/resourceGroups/contoso-rg"]
//! access_levels = ["Read"]
//! max_duration_hours = 8                 # numeric durations only; "Support request lifetime" never matches
//! support_case = true                    # true: a support case is named; false: none is
//! justification = "(?i)diagnostic"       # a regular expression searched in the justification
//! working_hours = { days = ["mon", "tue", "wed", "thu", "fri"], start = "08:00", end = "18:00", utc_offset = "+01:00" }
//! # unconditional = true               # required on an approve rule with no condition (it approves everything)
//! ```
//!
//! Values are compared as what they mean, not as text: letter case is ignored; subscription ids are compared
//! as GUIDs; resource ids are parsed into their segments whatever their spelling (the service writes
//! `SUBSCRIPTIONS/…/RESOURCEGROUPS/PROD-RG/…` as well as `/subscriptions/…/resourceGroups/prod-rg/…`), and
//! every resource id of a request must begin with all the segments of one of the prefixes (`…/contoso-rg`
//! is not a prefix of `…/contoso-rg-prod`); the ARM type is derived from the same parsed id.
//! Working hours use a fixed UTC offset (no daylight-saving rules; write the offset in force, minutes
//! included: `+05:45`); `end` may be before `start` for a night shift, which belongs to the day it starts
//! (Friday's `22:00`-`06:00` covers Saturday 02:00), and `24:00` is the end of the day.

use std::path::Path;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::Deserialize;
use uuid::Uuid;

use self::{hours::Hours, resource::ResourceId};
use crate::backend::Located;

mod conditions;
mod hours;
mod resource;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    default: Option<toml::Spanned<Action>>,
    default_reason: Option<String>,
    #[serde(default)]
    rule: Vec<toml::Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    action: Action,
    reason: Option<String>,
    subscriptions: Option<Vec<String>>,
    resource_types: Option<Vec<String>>,
    resource_id_prefixes: Option<Vec<String>>,
    access_levels: Option<Vec<String>>,
    max_duration_hours: Option<u32>,
    support_case: Option<bool>,
    justification: Option<toml::Spanned<String>>,
    working_hours: Option<toml::Spanned<RawHours>>,
    /// `true` on an approve rule with no condition: it approves every request, and says so on purpose.
    unconditional: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHours {
    days: Option<Vec<String>>,
    start: String,
    end: String,
    utc_offset: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Approve,
    Deny,
    Leave,
}

impl Action {
    /// As the policy file and the audit lines spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Deny => "deny",
            Self::Leave => "leave",
        }
    }
}

pub struct Rule {
    pub name: String,
    action: Action,
    reason: String,
    /// Compared as GUIDs, whatever their spelling.
    subscriptions: Option<Vec<Uuid>>,
    resource_types: Option<Vec<String>>,
    /// Compared segment by segment, without regard to case.
    resource_id_prefixes: Option<Vec<ResourceId>>,
    access_levels: Option<Vec<String>>,
    max_duration_hours: Option<u32>,
    support_case: Option<bool>,
    justification: Option<Regex>,
    working_hours: Option<Hours>,
}

/// A checked policy.
pub struct Policy {
    rules: Vec<Rule>,
    default: Action,
    default_reason: String,
}

/// What the policy says about one request.
pub struct Verdict<'a> {
    pub rule: &'a str,
    pub action: Action,
    pub reason: &'a str,
}

impl Policy {
    /// Reads and checks a policy file; every error names the file and line.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|(line, message)| format!("{} line {line}: {message}", path.display()))
    }

    fn parse(text: &str) -> Result<Self, (usize, String)> {
        let line = |offset: usize| text[..offset.min(text.len())].matches('\n').count().saturating_add(1);
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(1, |s| line(s.start));
            (at, e.message().trim().to_owned())
        })?;
        let mut rules = Vec::new();
        for (index, spanned) in raw.rule.into_iter().enumerate() {
            let at = line(spanned.span().start);
            let raw = spanned.into_inner();
            let name = raw.name.unwrap_or_else(|| format!("rule {}", index.saturating_add(1)));
            let reason = match (raw.action, raw.reason) {
                (_, Some(reason)) if reason.trim().is_empty() => return Err((at, format!("{name}: empty reason"))),
                (_, Some(reason)) => reason,
                (Action::Deny, None) => return Err((at, format!("{name}: a deny rule needs a reason"))),
                (_, None) => format!("lockbox policy: {name}"),
            };
            let subscriptions = match raw.subscriptions {
                Some(list) => Some(
                    list.iter()
                        .map(|text| {
                            Uuid::try_parse(text.trim()).map_err(|_| {
                                (
                                    at,
                                    format!(
                                        "{name}: subscription {text:?} is not a subscription id (a GUID), so it never \
                                         matches"
                                    ),
                                )
                            })
                        })
                        .collect::<Result<Vec<Uuid>, _>>()?,
                ),
                None => None,
            };
            let resource_id_prefixes = match raw.resource_id_prefixes {
                Some(list) => Some(
                    list.iter()
                        .map(|text| {
                            ResourceId::parse(text).map_err(|e| (at, format!("{name}: resource_id_prefixes: {e}")))
                        })
                        .collect::<Result<Vec<ResourceId>, _>>()?,
                ),
                None => None,
            };
            let justification = match raw.justification {
                Some(pattern) => {
                    let at = line(pattern.span().start);
                    Some(Regex::new(pattern.get_ref()).map_err(|e| {
                        (
                            at,
                            format!(
                                "{name}: justification {:?} is not a regular expression: {}",
                                pattern.get_ref(),
                                regex_error(&e)
                            ),
                        )
                    })?)
                }
                None => None,
            };
            let working_hours = match raw.working_hours {
                Some(hours) => {
                    let at = line(hours.span().start);
                    Some(Hours::from_raw(hours.into_inner()).map_err(|e| (at, format!("{name}: working_hours: {e}")))?)
                }
                None => None,
            };
            let rule = Rule {
                name,
                action: raw.action,
                reason,
                subscriptions,
                resource_types: raw.resource_types,
                resource_id_prefixes,
                access_levels: raw.access_levels,
                max_duration_hours: raw.max_duration_hours,
                support_case: raw.support_case,
                justification,
                working_hours,
            };
            if rule.action == Action::Approve && rule.conditions().is_empty() && raw.unconditional != Some(true) {
                return Err((
                    at,
                    format!(
                        "{}: an approve rule with no condition approves every request; add a condition, or write \
                         `unconditional = true` to mean it",
                        rule.name
                    ),
                ));
            }
            rules.push(rule);
        }
        let default = match raw.default {
            Some(action) if *action.get_ref() == Action::Approve => {
                return Err((
                    line(action.span().start),
                    "the default may be \"leave\" or \"deny\", not \"approve\"".into(),
                ));
            }
            Some(action) => *action.get_ref(),
            None => Action::Leave,
        };
        let default_reason = match (default, raw.default_reason) {
            (_, Some(reason)) if !reason.trim().is_empty() => reason,
            (Action::Deny, _) => return Err((1, "default = \"deny\" needs a default_reason".into())),
            _ => "no rule matched".into(),
        };
        Ok(Self { rules, default, default_reason })
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first rule that matches the request at `now`, or the default.
    pub fn evaluate(&self, located: &Located, now: DateTime<Utc>) -> Verdict<'_> {
        match self.rules.iter().find(|rule| rule.matches(located, now)) {
            Some(rule) => Verdict { rule: &rule.name, action: rule.action, reason: &rule.reason },
            None => Verdict { rule: "default", action: self.default, reason: &self.default_reason },
        }
    }

    /// The verdict, and in words each rule tried: which of its conditions failed and why
    /// (`rule 1 'storage reads in working hours': outside working hours 08:00-18:00 +01:00 (request at 18:11)`),
    /// up to the rule that matched, or the default. The words hold text the requester chose: show them through
    /// `output::Shown`.
    pub fn explain(&self, located: &Located, now: DateTime<Utc>) -> (Verdict<'_>, Vec<String>) {
        let mut lines = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let number = index.saturating_add(1);
            let failed = rule.why_not(located, now);
            if failed.is_empty() {
                let window = rule.working_hours.as_ref().and_then(|h| h.matched(now));
                let window = window.map(|w| format!(" (working hours: {w})")).unwrap_or_default();
                lines.push(format!("rule {number} '{}': matched: {}{window}", rule.name, rule.action.name()));
                return (Verdict { rule: &rule.name, action: rule.action, reason: &rule.reason }, lines);
            }
            let why: Vec<&str> = failed.iter().map(|(_, why)| why.as_str()).collect();
            lines.push(format!("rule {number} '{}': {}", rule.name, why.join("; ")));
        }
        lines.push(format!("no rule matched: the default: {}", self.default.name()));
        (self.evaluate(located, now), lines)
    }
}

/// What the regex crate says is wrong, without the pattern and the caret it draws under it (the message names
/// the pattern itself): `unclosed character class`.
fn regex_error(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(&text);
    last.trim().trim_start_matches("error: ").to_owned()
}

impl Rule {
    /// The conditions this rule has, by their key in the policy file.
    pub fn conditions(&self) -> Vec<&'static str> {
        let has = [
            ("subscriptions", self.subscriptions.is_some()),
            ("resource_types", self.resource_types.is_some()),
            ("resource_id_prefixes", self.resource_id_prefixes.is_some()),
            ("access_levels", self.access_levels.is_some()),
            ("max_duration_hours", self.max_duration_hours.is_some()),
            ("support_case", self.support_case.is_some()),
            ("justification", self.justification.is_some()),
            ("working_hours", self.working_hours.is_some()),
        ];
        has.into_iter().filter(|(_, present)| *present).map(|(name, _)| name).collect()
    }
}

#[cfg(test)]
mod tests;

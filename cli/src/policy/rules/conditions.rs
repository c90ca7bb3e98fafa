//! The conditions of a rule, each checked on parsed values and, when it does not hold, said in words.
//!
//! Values are compared as what they mean, not as text: subscription ids as GUIDs, resource ids segment by
//! segment without regard to case or to a leading or trailing `/` (see `resource.rs`), resource types as
//! derived from those ids.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Rule, resource::ResourceId};
use crate::backend::Located;

fn any_eq(list: &[String], value: &str) -> bool {
    list.iter().any(|v| v.trim().eq_ignore_ascii_case(value.trim()))
}

impl Rule {
    pub(super) fn matches(&self, located: &Located, now: DateTime<Utc>) -> bool {
        self.why_not(located, now).is_empty()
    }

    /// The conditions of this rule that do not hold for `located` at `now`, by their key in the policy file.
    pub fn failing(&self, located: &Located, now: DateTime<Utc>) -> Vec<&'static str> {
        self.why_not(located, now).into_iter().map(|(key, _)| key).collect()
    }

    /// Each condition of this rule that does not hold for `located` at `now`: its key in the policy file, and
    /// why, in words (`outside working hours 08:00-18:00 +01:00 (request at 18:11)`). The words hold text the
    /// requester chose: show them through `output::Shown`.
    pub fn why_not(&self, located: &Located, now: DateTime<Utc>) -> Vec<(&'static str, String)> {
        let p = located.request.properties.clone().unwrap_or_default();
        let texts: Vec<&str> =
            p.resource_ids.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        // An id that does not parse (an empty segment) matches no prefix and has no type.
        let ids: Vec<(&str, Option<ResourceId>)> = texts.iter().map(|t| (*t, ResourceId::parse(t).ok())).collect();
        let mut failed = Vec::new();
        if let Some(list) = &self.subscriptions {
            let subscription = Uuid::try_parse(located.subscription.trim()).ok();
            if !subscription.is_some_and(|s| list.contains(&s)) {
                let list: Vec<String> = list.iter().map(Uuid::to_string).collect();
                failed.push((
                    "subscriptions",
                    format!("subscription {} is not one of {}", located.subscription, list.join(", ")),
                ));
            }
        }
        if let Some(types) = &self.resource_types {
            let named = p.resource_type.as_deref().is_some_and(|t| any_eq(types, t));
            let arm = !ids.is_empty()
                && ids.iter().all(|(_, id)| {
                    id.as_ref().and_then(ResourceId::arm_type).is_some_and(|t| types.iter().any(|want| t.is(want)))
                });
            if !named && !arm {
                let kinds: Vec<String> = ids
                    .iter()
                    .filter_map(|(_, id)| id.as_ref().and_then(ResourceId::arm_type))
                    .map(|t| t.to_string())
                    .collect();
                let seen = match (&p.resource_type, kinds.is_empty()) {
                    (Some(named), true) => format!("'{named}'"),
                    (Some(named), false) => format!("'{named}' ({})", kinds.join(", ")),
                    (None, false) => kinds.join(", "),
                    (None, true) => "none".into(),
                };
                failed.push(("resource_types", format!("resource type {seen} is not one of {}", types.join(", "))));
            }
        }
        if let Some(prefixes) = &self.resource_id_prefixes {
            let under =
                |id: &Option<ResourceId>| id.as_ref().is_some_and(|id| prefixes.iter().any(|p| id.starts_with(p)));
            match ids.iter().find(|(_, id)| !under(id)) {
                _ if ids.is_empty() => failed.push(("resource_id_prefixes", "the request names no resource".into())),
                Some((text, _)) => {
                    let list: Vec<String> = prefixes.iter().map(ResourceId::to_string).collect();
                    failed.push(("resource_id_prefixes", format!("resource {text} is not under {}", list.join(", "))))
                }
                None => {}
            }
        }
        if let Some(levels) = &self.access_levels {
            match p.access_level.as_deref() {
                Some(level) if any_eq(levels, level) => {}
                Some(level) => failed
                    .push(("access_levels", format!("access level '{level}' is not one of {}", levels.join(", ")))),
                None => failed.push(("access_levels", "the request names no access level".into())),
            }
        }
        if let Some(max) = self.max_duration_hours {
            let text = p.duration.as_deref().map(str::trim);
            match text.map(|d| (d, d.parse::<u32>())) {
                Some((_, Ok(hours))) if hours <= max => {}
                Some((_, Ok(hours))) => {
                    failed.push(("max_duration_hours", format!("duration {hours} h is over {max} h")))
                }
                Some((d, Err(_))) => {
                    failed.push(("max_duration_hours", format!("duration '{d}' is not a number of hours")))
                }
                None => failed.push(("max_duration_hours", "the request names no duration".into())),
            }
        }
        let case = p.support_request.as_deref().map(str::trim).filter(|s| !s.is_empty());
        match (self.support_case, case) {
            (Some(true), None) => failed.push(("support_case", "no support case is named".into())),
            (Some(false), Some(case)) => failed.push(("support_case", format!("a support case is named ({case})"))),
            _ => {}
        }
        if let Some(re) = self.justification.as_ref() {
            let text = p.justification.as_deref().unwrap_or("");
            if !re.is_match(text) {
                failed.push(("justification", format!("justification '{text}' does not match {}", re.as_str())));
            }
        }
        if let Some(why) = self.working_hours.as_ref().and_then(|h| h.why_not(now)) {
            failed.push(("working_hours", why));
        }
        failed
    }
}

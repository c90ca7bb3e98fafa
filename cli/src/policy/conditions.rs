//! The conditions of a rule, each checked and, when it does not hold, said in words.

use chrono::{DateTime, Datelike, Timelike, Utc};

use super::{Hours, Rule};
use crate::backend::Located;

impl Hours {
    /// `None` when `now` is in the window; else why not, in words.
    fn why_not(&self, now: DateTime<Utc>) -> Option<String> {
        let local = now.with_timezone(&self.offset);
        // At most 23 * 60 + 59: a time of day cannot overflow.
        let minute = local.hour().saturating_mul(60).saturating_add(local.minute());
        let in_window = if self.start <= self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        };
        let (start, end, at) = (hhmm(self.start), hhmm(self.end), local.format("%H:%M"));
        if !in_window {
            return Some(format!("outside working hours {start}-{end} {} (request at {at})", self.offset));
        }
        if !self.days.contains(&local.weekday()) {
            let days: Vec<String> = self.days.iter().map(|d| d.to_string().to_lowercase()).collect();
            return Some(format!(
                "not a working day ({}) at {} (request on {} at {at})",
                days.join(", "),
                self.offset,
                local.weekday().to_string().to_lowercase()
            ));
        }
        None
    }
}

/// Minutes since midnight as `HH:MM` (`24:00` for the end of the day).
fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The ARM resource type of a resource id: `Microsoft.Storage/storageAccounts` (nested types joined).
fn arm_type(id: &str) -> Option<String> {
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    let at = parts.iter().rposition(|p| p.eq_ignore_ascii_case("providers"))?;
    let rest = parts.get(at.saturating_add(1)..)?;
    let mut kind = vec![*rest.first()?];
    kind.extend(rest[1..].iter().step_by(2));
    (kind.len() > 1).then(|| kind.join("/"))
}

fn any_eq(list: &[String], value: &str) -> bool {
    list.iter().any(|v| v.eq_ignore_ascii_case(value))
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
        let ids: Vec<&str> =
            p.resource_ids.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let mut failed = Vec::new();
        if let Some(list) = self.subscriptions.as_ref().filter(|s| !any_eq(s, &located.subscription)) {
            failed.push((
                "subscriptions",
                format!("subscription {} is not one of {}", located.subscription, list.join(", ")),
            ));
        }
        if let Some(types) = &self.resource_types {
            let named = p.resource_type.as_deref().is_some_and(|t| any_eq(types, t));
            let arm = !ids.is_empty() && ids.iter().all(|id| arm_type(id).is_some_and(|t| any_eq(types, &t)));
            if !named && !arm {
                let kinds: Vec<String> = ids.iter().filter_map(|id| arm_type(id)).collect();
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
                |id: &&str| prefixes.iter().any(|pre| id.to_ascii_lowercase().starts_with(&pre.to_ascii_lowercase()));
            match ids.iter().find(|id| !under(id)) {
                _ if ids.is_empty() => failed.push(("resource_id_prefixes", "the request names no resource".into())),
                Some(id) => {
                    failed.push(("resource_id_prefixes", format!("resource {id} is not under {}", prefixes.join(", "))))
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

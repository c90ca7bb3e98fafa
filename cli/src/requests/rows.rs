//! A request as the tool shows it: its row in a list (`table`, `wide`, `tsv`, JSON), the block that shows it in
//! full (`show`, and before a decision), and the order of a list.

use azure_customer_lockbox::models::{AccessDuration, LockboxRequestResponse, LockboxRequestStatus};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::{
    backend::Located,
    output::{Row, Shown},
};

/// `3d 4h`, `2h 10m`, `12m`, or `expired`; `-` without an expiry.
pub fn time_left(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(expires) = expires else { return "-".into() };
    let minutes = expires.signed_duration_since(now).num_minutes();
    match minutes {
        ..=0 => "expired".into(),
        1..60 => format!("{minutes}m"),
        60..1440 => format!("{}h {}m", minutes / 60, minutes % 60),
        _ => format!("{}d {}h", minutes / 1440, minutes % 1440 / 60),
    }
}

/// The access duration for a person: `8 h` when the service wrote a number of hours, else its text as written
/// (`Support request lifetime`).
pub fn duration(duration: &AccessDuration) -> String {
    match duration.hours() {
        Some(hours) => format!("{hours} h"),
        None => duration.to_string(),
    }
}

/// The short name of the first resource in `resourceIds` (its last path segment), `+N` for more.
pub fn resource_short_name(request: &LockboxRequestResponse) -> String {
    let ids: Vec<&str> = request
        .properties
        .as_ref()
        .and_then(|p| p.resource_ids.as_deref())
        .map(|ids| ids.split(',').map(str::trim).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    match ids.as_slice() {
        [] => "-".into(),
        [one] => one.trim_end_matches('/').rsplit('/').next().unwrap_or(one).to_owned(),
        [first, rest @ ..] => {
            format!("{} +{}", first.trim_end_matches('/').rsplit('/').next().unwrap_or(first), rest.len())
        }
    }
}

/// A request as a row: sorted by the caller by time left.
pub struct RequestRow<'a>(pub &'a Located, pub DateTime<Utc>);

impl Row for RequestRow<'_> {
    const COLUMNS: &'static [&'static str] =
        &["ID", "SUBSCRIPTION", "TIME LEFT", "STATUS", "ACCESS", "RESOURCE", "SUPPORT TICKET", "JUSTIFICATION"];
    const WIDE: &'static [&'static str] = &[
        "ID",
        "SUBSCRIPTION",
        "STATUS",
        "TIME LEFT",
        "EXPIRES",
        "CREATED",
        "ACCESS",
        "DURATION",
        "RESOURCE TYPE",
        "RESOURCES",
        "SUPPORT CASE",
        "JUSTIFICATION",
    ];

    fn cells(&self) -> Vec<String> {
        let request = &self.0.request;
        let p = request.properties.clone().unwrap_or_default();
        let pending = p.status.as_ref().is_some_and(LockboxRequestStatus::is_pending);
        vec![
            request.request_id().unwrap_or("-").to_owned(),
            self.0.subscription.clone(),
            if pending { time_left(p.expiration_date_time, self.1) } else { "-".into() },
            p.status.map_or("-".into(), |s| s.to_string()),
            p.access_level.unwrap_or_else(|| "-".into()),
            match &p.resource_type {
                Some(kind) => format!("{} ({kind})", resource_short_name(request)),
                None => resource_short_name(request),
            },
            p.support_request.unwrap_or_else(|| "-".into()),
            p.justification.unwrap_or_default(),
        ]
    }

    fn json(&self) -> Value {
        let mut value = serde_json::to_value(&self.0.request).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.insert("subscription".into(), json!(self.0.subscription));
        }
        value
    }

    fn wide_cells(&self) -> Vec<String> {
        let p = self.0.request.properties.clone().unwrap_or_default();
        let time = |t: Option<DateTime<Utc>>| t.map_or("-".into(), |t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
        let cells = self.cells();
        vec![
            cells[0].clone(),
            cells[1].clone(),
            cells[3].clone(),
            cells[2].clone(),
            time(p.expiration_date_time),
            time(p.created_date_time),
            cells[4].clone(),
            p.duration.as_ref().map_or("-".into(), duration),
            p.resource_type.unwrap_or_else(|| "-".into()),
            p.resource_ids.unwrap_or_else(|| "-".into()),
            cells[6].clone(),
            cells[7].clone(),
        ]
    }

    /// Raw values, as scripts read them: nothing shortened, times in ISO 8601 (UTC), the time left and the
    /// duration in seconds, an empty cell for what the request does not say.
    fn raw_cells(&self) -> Vec<String> {
        let p = self.0.request.properties.clone().unwrap_or_default();
        let time = |t: Option<DateTime<Utc>>| t.map_or(String::new(), |t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
        let pending = p.status.as_ref().is_some_and(LockboxRequestStatus::is_pending);
        let left =
            p.expiration_date_time.filter(|_| pending).map(|e| e.signed_duration_since(self.1).num_seconds().max(0));
        let duration = p.duration.as_deref().map(str::trim).map(|d| match d.parse::<u64>() {
            Ok(hours) => hours.saturating_mul(3600).to_string(),
            Err(_) => d.to_owned(),
        });
        vec![
            self.0.request.request_id().unwrap_or_default().to_owned(),
            self.0.subscription.clone(),
            p.status.map(|s| s.to_string()).unwrap_or_default(),
            left.map(|s| s.to_string()).unwrap_or_default(),
            time(p.expiration_date_time),
            time(p.created_date_time),
            p.access_level.unwrap_or_default(),
            duration.unwrap_or_default(),
            p.resource_type.unwrap_or_default(),
            p.resource_ids.unwrap_or_default(),
            p.support_request.unwrap_or_default(),
            p.justification.unwrap_or_default(),
        ]
    }

    fn colour(&self, column: &str) -> Option<&'static str> {
        let p = self.0.request.properties.as_ref()?;
        match column {
            "TIME LEFT" if p.expiration_date_time.is_some_and(|e| e.signed_duration_since(self.1).num_hours() < 4) => {
                Some("31")
            }
            "STATUS" => match p.status.as_ref()? {
                LockboxRequestStatus::Pending => Some("33"),
                LockboxRequestStatus::Approved | LockboxRequestStatus::Approving => Some("32"),
                LockboxRequestStatus::Denied | LockboxRequestStatus::Denying => Some("31"),
                _ => Some("2"),
            },
            _ => None,
        }
    }
}

/// Sorts requests by time left before expiry: pending ones soonest first, then the rest by expiry.
pub fn sort_by_time_left(requests: &mut [Located]) {
    requests.sort_by_key(|l| {
        let p = l.request.properties.as_ref();
        let pending = p.and_then(|p| p.status.as_ref()).is_some_and(LockboxRequestStatus::is_pending);
        (!pending, p.and_then(|p| p.expiration_date_time).is_none(), p.and_then(|p| p.expiration_date_time))
    });
}

/// The block that shows a request in full: for `show` and before a decision.
pub fn details(located: &Located, now: DateTime<Utc>) -> String {
    let request = &located.request;
    let p = request.properties.clone().unwrap_or_default();
    let mut lines = vec![
        ("Request", request.request_id().unwrap_or("-").to_owned()),
        ("Subscription", located.subscription.clone()),
        ("Status", p.status.as_ref().map_or("-".into(), ToString::to_string)),
    ];
    // Only a pending request has time left: a decided one's expiry is shown below, as a date.
    if p.status.as_ref().is_some_and(LockboxRequestStatus::is_pending) {
        lines.push(("Time left", time_left(p.expiration_date_time, now)));
    }
    lines.extend([
        ("Access level", p.access_level.clone().unwrap_or_else(|| "-".into())),
        ("Duration", p.duration.as_ref().map_or("-".into(), duration)),
        ("Resource type", p.resource_type.clone().unwrap_or_else(|| "-".into())),
    ]);
    let resources = p.resource_ids.clone().unwrap_or_default();
    for (i, id) in resources.split(',').map(str::trim).filter(|s| !s.is_empty()).enumerate() {
        lines.push((if i == 0 { "Resources" } else { "" }, id.to_owned()));
    }
    lines.push(("Support case", p.support_request.clone().unwrap_or_else(|| "-".into())));
    if let Some(url) = p.support_case_url.clone() {
        lines.push(("Support case URL", url));
    }
    lines.push(("Created", p.created_date_time.map_or("-".into(), |t| t.to_rfc3339())));
    lines.push(("Expires", p.expiration_date_time.map_or("-".into(), |t| t.to_rfc3339())));
    lines.push(("Justification", p.justification.clone().unwrap_or_default()));
    // Every value is what the requester or the service chose: a newline in one never starts a line of its own.
    lines.iter().map(|(k, v)| format!("{k:<17} {}", Shown(v))).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests;

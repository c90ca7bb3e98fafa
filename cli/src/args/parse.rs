//! The parsers of option values that clap does not know: request statuses and durations.

use std::time::Duration;

use azure_customer_lockbox::models::LockboxRequestStatus;

/// Accepts the statuses the service knows, in any letter case.
pub(super) fn parse_status(text: &str) -> Result<LockboxRequestStatus, String> {
    match LockboxRequestStatus::parse(text) {
        LockboxRequestStatus::Other(_) => {
            let known: Vec<String> = LockboxRequestStatus::KNOWN.iter().map(|s| s.as_str().to_lowercase()).collect();
            Err(format!("unknown status; expected one of {}", known.join(", ")))
        }
        status => Ok(status),
    }
}

fn too_long(text: &str) -> String {
    format!("{text:?} is longer than any interval this tool can wait")
}

/// Durations like `30s`, `2m`, `1h` or `500ms`; a bare number is seconds.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number.parse().map_err(|_| format!("{text:?} is not a duration like 30s, 2m or 500ms"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(value),
        "" | "s" => Duration::from_secs(value),
        // Checked: `--interval 9999999999999999h` is refused, not an overflow.
        "m" => Duration::from_secs(value.checked_mul(60).ok_or_else(|| too_long(text))?),
        "h" => Duration::from_secs(value.checked_mul(3600).ok_or_else(|| too_long(text))?),
        _ => return Err(format!("unknown unit {unit:?}; use ms, s, m or h")),
    };
    if duration.is_zero() {
        return Err("the interval must be more than zero".into());
    }
    Ok(duration)
}

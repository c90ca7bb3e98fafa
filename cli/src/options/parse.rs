//! The parsers of option values that clap does not know: request statuses and durations.

use std::time::Duration;

use azure_customer_lockbox::models::LockboxRequestStatus;

/// Accepts the statuses the service knows, in any letter case.
pub fn parse_status(text: &str) -> Result<LockboxRequestStatus, String> {
    match LockboxRequestStatus::parse(text) {
        LockboxRequestStatus::Other(_) => {
            let known: Vec<String> = LockboxRequestStatus::KNOWN.iter().map(|s| s.as_str().to_lowercase()).collect();
            Err(format!("unknown status; expected one of {}", known.join(", ")))
        }
        status => Ok(status),
    }
}

/// Durations as `humantime` reads them (`30s`, `2m`, `1h 30m`, `500ms`); a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let with_unit =
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) { format!("{text}s") } else { text.to_owned() };
    let duration = humantime::parse_duration(&with_unit).map_err(|error| match error {
        // `--interval 9999999999999999h` is refused, not an overflow.
        humantime::DurationError::NumberOverflow => format!("{text:?} is longer than any interval this tool can wait"),
        other => format!("{text:?} is not a duration like 30s, 2m or 500ms: {other}"),
    })?;
    if duration.is_zero() {
        return Err("the interval must be more than zero".into());
    }
    Ok(duration)
}

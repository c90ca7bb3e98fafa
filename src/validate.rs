//! Checks on caller input, made before anything is sent.

use crate::error::{Error, Result};

/// Longest request id accepted.
pub(crate) const MAX_REQUEST_ID_LEN: usize = 256;
/// Longest decision reason accepted, in bytes.
pub const MAX_REASON_LEN: usize = 4096;

/// A GUID in its usual 8-4-4-4-12 hexadecimal form, optionally in braces (which are dropped), as given (its
/// letter case kept). The `uuid` crate reads it; only the hyphenated forms are taken, as Resource Manager
/// writes them (not the 32-digit simple form nor a `urn:uuid:`).
pub(crate) fn guid(name: &'static str, value: &str) -> Result<String> {
    let trimmed = value.strip_prefix('{').and_then(|v| v.strip_suffix('}')).unwrap_or(value);
    let hyphenated = trimmed.len() == uuid::fmt::Hyphenated::LENGTH;
    if hyphenated && uuid::Uuid::try_parse(trimmed).is_ok() {
        Ok(trimmed.to_owned())
    } else {
        let shown: String = value.chars().take(64).collect();
        Err(Error::invalid(
            name,
            format!("{shown:?} is not a GUID (expected the form 00000000-0000-0000-0000-000000000000)"),
        ))
    }
}

/// A request id: non-empty, at most 256 characters, no control characters or backslash, not `.` or `..` (which
/// URL normalisation would turn into a different path). Anything else is percent-encoded into one path segment.
pub(crate) fn request_id(value: &str) -> Result<&str> {
    let name = "request_id";
    if value.trim().is_empty() {
        return Err(Error::invalid(name, "must not be empty"));
    }
    // One pass over the characters (this runs on every read of a request).
    let (mut count, mut control, mut backslash) = (0usize, false, false);
    for c in value.chars() {
        // Saturating: a count of characters of a `str` cannot reach `usize::MAX` anyway.
        count = count.saturating_add(1);
        control |= c.is_control();
        backslash |= c == '\\';
    }
    if count > MAX_REQUEST_ID_LEN {
        return Err(Error::invalid(name, format!("is longer than {MAX_REQUEST_ID_LEN} characters")));
    }
    if control {
        return Err(Error::invalid(name, "contains control characters"));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid(name, "must not be a dot segment"));
    }
    // URL parsers treat `\` in an http(s) path as `/`, which would split the id into two path segments.
    if backslash {
        return Err(Error::invalid(name, "must not contain a backslash"));
    }
    Ok(value)
}

/// A decision's reason: non-blank, at most [`MAX_REASON_LEN`] bytes, no control characters but newlines and tabs.
pub(crate) fn reason(value: &str) -> Result<&str> {
    let name = "reason";
    if value.trim().is_empty() {
        return Err(Error::invalid(name, "must not be empty: the engineer and the audit log see it"));
    }
    if value.len() > MAX_REASON_LEN {
        return Err(Error::invalid(name, format!("is {} bytes; at most {MAX_REASON_LEN} are accepted", value.len())));
    }
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(Error::invalid(name, "contains control characters"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(guid("x", "00000000-0000-0000-0000-000000000000").is_ok());
        assert_eq!(
            guid("x", "{ABCDEF01-2345-6789-abcd-ef0123456789}").unwrap(),
            "ABCDEF01-2345-6789-abcd-ef0123456789"
        );
        for bad in [
            "",
            "x",
            "00000000-0000-0000-0000-00000000000g",
            "000000000000-0000-0000-0000-00000000",
            "é",
            "00000000000000000000000000000000",
            "urn:uuid:00000000-0000-0000-0000-000000000000",
            "{{00000000-0000-0000-0000-000000000000}}",
            "+0000000-0000-0000-0000-000000000000",
        ] {
            assert!(guid("x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_ids() {
        for bad in ["", " ", ".", "..", "a\u{0}b", "a\nb", "a\\b", "\\"] {
            assert!(request_id(bad).is_err(), "{bad:?}");
        }
        assert!(request_id(&"a".repeat(257)).is_err());
        for ok in ["abc", "a/b", "%2F", "a?b#c", "é ü", "../x"] {
            assert!(request_id(ok).is_ok(), "{ok:?}");
        }
    }
}

//! Listing: `$filter` parsing, `$skipToken` paging with absolute `nextLink`s, and the operations catalogue.

use axum::response::Response;
use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Value, json};

use super::arm::{ArmError, ok_json, query_param};
use super::model::canonical_status;
use super::state::Shared;

/// Percent-encode everything but RFC 3986 unreserved characters.
pub(crate) const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// One page of `items` (offset from `$skipToken`), with an absolute `nextLink` unless it is the last.
pub(crate) fn page(
    shared: &Shared,
    query: &[(String, String)],
    items: Vec<Value>,
    marker: &str,
    next_link: impl Fn(&str) -> String,
) -> Result<Response, ArmError> {
    let offset = page_offset(query, marker)?;
    let value: Vec<Value> = items.iter().skip(offset).take(shared.page_size).cloned().collect();
    Ok(page_answer(shared, offset, value, items.len(), marker, next_link))
}

/// Where the page asked for starts: the offset in its `$skipToken`, or 0.
pub(crate) fn page_offset(query: &[(String, String)], marker: &str) -> Result<usize, ArmError> {
    match query_param(query, "$skipToken") {
        Some(token) => decode_skip_token(token, marker),
        None => Ok(0),
    }
}

/// The answer holding `value`, the page at `offset` of a listing of `total` items, with an absolute `nextLink`
/// unless it is the last.
pub(crate) fn page_answer(
    shared: &Shared,
    offset: usize,
    value: Vec<Value>,
    total: usize,
    marker: &str,
    next_link: impl Fn(&str) -> String,
) -> Response {
    let end = offset.saturating_add(shared.page_size);
    let mut body = json!({ "value": value });
    if end < total {
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{end}:{marker}"));
        body["nextLink"] = json!(next_link(&token));
    }
    ok_json(body)
}

fn decode_skip_token(token: &str, marker: &str) -> Result<usize, ArmError> {
    let invalid =
        || ArmError::bad_request("InvalidSkipToken", "The $skipToken is invalid or does not belong to this query.");
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(offset), Some(m)) if m == marker => offset.parse().map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

/// `properties/status eq '<Status>'` (case-insensitive, flexible whitespace) → canonical status.
pub(crate) fn parse_filter(filter: &str) -> Result<&'static str, ArmError> {
    let invalid = || {
        ArmError::bad_request(
            "InvalidFilter",
            format!("The $filter '{filter}' is not supported. Only \"properties/status eq '<status>'\" is supported."),
        )
    };
    let strip = |s: &str, prefix: &str| -> Option<usize> {
        s.get(..prefix.len()).filter(|head| head.eq_ignore_ascii_case(prefix)).map(|_| prefix.len())
    };
    let s = filter.trim();
    let rest = strip(s, "properties/status").map(|n| &s[n..]).ok_or_else(invalid)?;
    let after = rest.trim_start();
    if after.len() == rest.len() {
        return Err(invalid());
    }
    let rest = strip(after, "eq").map(|n| &after[n..]).ok_or_else(invalid)?;
    let value = rest.trim_start();
    if value.len() == rest.len() {
        return Err(invalid());
    }
    let quoted = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).ok_or_else(invalid)?;
    canonical_status(quoted).ok_or_else(invalid)
}

pub(crate) fn operations_catalogue() -> Vec<Value> {
    let op = |name: &str, data: bool, resource: &str, operation: &str, description: &str| {
        json!({
            "name": format!("Microsoft.CustomerLockbox/{name}"),
            "isDataAction": if data { "true" } else { "false" },
            "display": {
                "provider": "Microsoft Customer Lockbox",
                "resource": resource,
                "operation": operation,
                "description": description,
            },
            "origin": "user,system",
        })
    };
    vec![
        op(
            "register/action",
            false,
            "Customer Lockbox",
            "Register Provider",
            "Registers the subscription for the Microsoft Customer Lockbox resource provider.",
        ),
        op(
            "operations/read",
            false,
            "Operations",
            "Read Operations",
            "Lists the operations available for the Microsoft Customer Lockbox resource provider.",
        ),
        op("requests/read", false, "Lockbox requests", "Read request", "Reads a Customer Lockbox access request."),
        op(
            "requests/updateApproval/action",
            false,
            "Lockbox requests",
            "Approve or deny request",
            "Approves or denies a Customer Lockbox access request.",
        ),
        op(
            "tenantOptedIn/read",
            false,
            "Tenant opt-in",
            "Read tenant opt-in",
            "Reads whether the tenant has opted in to Customer Lockbox.",
        ),
        op(
            "enableLockbox/action",
            false,
            "Customer Lockbox",
            "Enable Customer Lockbox",
            "Enables Customer Lockbox for the tenant.",
        ),
        op(
            "disableLockbox/action",
            false,
            "Customer Lockbox",
            "Disable Customer Lockbox",
            "Disables Customer Lockbox for the tenant.",
        ),
    ]
}

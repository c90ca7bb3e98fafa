//! The ARM dispatcher: sanity checks, auth, api-version, routing, faults, and the seven operations.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use percent_encoding::{percent_decode_str, utf8_percent_encode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::arm::{ArmError, bearer_token, check_api_version, ok_json, query_pairs, query_param, tenant_from_token};
use super::asyncops::{OpEffect, accepted};
use super::between;
use super::faults::{FaultKind, Operation, fault_response};
use super::listing::{COMPONENT, operations_catalogue, page, page_answer, page_offset, parse_filter};
use super::model::{API_VERSION, WhileRunning};
use super::request::Decision;
use super::state::{Shared, not_found};
use super::subscriptions::{SUBSCRIPTIONS_API_VERSION, principal};

/// Put into every request's extensions: cancelling it makes the connection task drop the connection
/// (closing the socket) without writing anything more.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionKill(pub CancellationToken);

/// Longest accepted request path.
const MAX_PATH: usize = 2048;

/// A routed ARM call.
#[derive(Debug, Clone)]
enum Route {
    OperationsList,
    TenantOptedIn(String),
    Lockbox(bool),
    OpStatus(String),
    OpResult(String),
    List(String),
    Get(String, String),
    Update(String, String),
    Subscriptions,
}

impl Route {
    fn operation(&self) -> Option<Operation> {
        // Every route has an operation; `Option` because faults match on `Option<Operation>`.
        Some(match self {
            Self::OperationsList => Operation::OperationsList,
            Self::TenantOptedIn(_) => Operation::GetTenantOptedIn,
            Self::Lockbox(true) => Operation::EnableLockbox,
            Self::Lockbox(false) => Operation::DisableLockbox,
            Self::List(_) => Operation::RequestsList,
            Self::Get(..) => Operation::RequestsGet,
            Self::Update(..) => Operation::RequestsUpdateStatus,
            Self::Subscriptions => Operation::SubscriptionsList,
            Self::OpStatus(_) | Self::OpResult(_) => Operation::AsyncOperationPoll,
        })
    }

    fn method(&self) -> Method {
        match self {
            Self::Lockbox(_) | Self::Update(..) => Method::POST,
            _ => Method::GET,
        }
    }
}

/// Everything the handlers need about one call.
struct Call {
    route: Route,
    tenant: String,
    query: Vec<(String, String)>,
    body: Bytes,
}

/// Fallback handler for everything outside `/_emulator/`.
pub(crate) async fn dispatch(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let kill = parts.extensions.get::<ConnectionKill>().cloned();
    let call = match prepare(&shared, &parts) {
        Ok(route) => route,
        Err(error) => return error.into_response(),
    };
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let call = Call { body, ..call };
    if let Route::Update(sub, rid) = &call.route {
        shared.with(|inner, _| inner.count_decision_post(sub, rid));
    }
    let called = parts.headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let called = called.rsplit_once(':').map_or(called, |(host, _)| host);
    if shared.base_url.host_str().is_some_and(|own| !own.eq_ignore_ascii_case(called)) {
        shared.with(|inner, _| inner.foreign_host_requests += 1);
    }

    let continuation = query_param(&call.query, "$skipToken").is_some();
    let fault = shared.with(|inner, _| inner.take_fault(call.route.operation(), continuation));
    let Some(fault) = fault else {
        return handle(&shared, &call).into_response();
    };
    match fault.kind {
        FaultKind::Delay(by) => {
            tokio::time::sleep(by).await;
            handle(&shared, &call).into_response()
        }
        FaultKind::CutBody => cut_body(handle(&shared, &call).into_response()).await,
        FaultKind::ForeignPollingHost => foreign_polling_host(handle(&shared, &call).into_response()),
        FaultKind::BetweenPages(change) => {
            // `Fault::matches` gives this fault to listings only: a subscription's requests, or the subscriptions.
            let sub = match &call.route {
                Route::List(sub) => Some(sub.as_str()),
                _ => None,
            };
            between::change(&shared, sub, &call.query, change);
            handle(&shared, &call).into_response()
        }
        kind => {
            if fault.after_commit {
                drop(handle(&shared, &call));
            }
            if kind == FaultKind::DropConnection { drop_connection(kill).await } else { fault_response(&kind) }
        }
    }
}

/// The response with its status and headers, a `content-length` for its whole body, and only the first half
/// of the body: the body stream then fails, and the server closes the connection.
async fn cut_body(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    parts.headers.insert(axum::http::header::CONTENT_LENGTH, body.len().into());
    let half = body.slice(..body.len() / 2);
    let cut = async {
        // Pending once, so that the server writes out the head and the first half before the stream fails;
        // failing at once would make it drop everything unsent.
        tokio::task::yield_now().await;
        Err::<Bytes, _>(std::io::Error::other("body cut by an injected fault"))
    };
    let chunks = futures::StreamExt::chain(futures::stream::once(async { Ok(half) }), futures::stream::once(cut));
    Response::from_parts(parts, axum::body::Body::from_stream(chunks))
}

/// A `202`'s polling headers with their host swapped (`127.0.0.1` <-> `localhost`, same port).
fn foreign_polling_host(mut response: Response) -> Response {
    if response.status() != StatusCode::ACCEPTED {
        return response;
    }
    for name in ["azure-asyncoperation", "location"] {
        let Some(mut url) =
            response.headers().get(name).and_then(|v| v.to_str().ok()).and_then(|v| url::Url::parse(v).ok())
        else {
            continue;
        };
        let foreign = if url.host_str() == Some("localhost") { "127.0.0.1" } else { "localhost" };
        if url.set_host(Some(foreign)).is_ok()
            && let Ok(value) = axum::http::HeaderValue::from_str(url.as_str())
        {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Closes the connection without answering: the connection task drops the connection when told.
async fn drop_connection(kill: Option<ConnectionKill>) -> Response {
    match kill {
        Some(kill) => {
            kill.0.cancel();
            // The connection (and this future with it) is dropped before this ends.
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        None => ArmError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "DropConnection is not supported by this server.",
        )
        .into_response(),
    }
}

/// Sanity checks, authentication, api-version and routing, in ARM's order.
fn prepare(shared: &Shared, parts: &axum::http::request::Parts) -> Result<Call, ArmError> {
    let raw = parts.uri.path();
    if raw.starts_with("/_emulator/") {
        return Err(ArmError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("No emulator admin endpoint at '{raw}'."),
        ));
    }
    let invalid_uri = || ArmError::bad_request("InvalidRequestUri", "The request URI is not valid.");
    if raw.len() > MAX_PATH {
        return Err(ArmError::new(
            StatusCode::URI_TOO_LONG,
            "RequestUriTooLong",
            format!("The request URI exceeds the maximum length of {MAX_PATH} characters."),
        ));
    }
    let trimmed = raw.strip_suffix('/').unwrap_or(raw);
    let mut segments = Vec::new();
    for segment in trimmed.split('/').skip(1) {
        let decoded = percent_decode_str(segment).decode_utf8().map_err(|_| invalid_uri())?;
        if decoded.is_empty() || decoded == "." || decoded == ".." || decoded.chars().any(char::is_control) {
            return Err(invalid_uri());
        }
        segments.push(decoded.into_owned());
    }

    let token = bearer_token(&parts.headers)?;
    let tenant = tenant_from_token(&token).unwrap_or_else(|| shared.default_tenant_id.clone());
    shared.with(|inner, now| inner.arm.charge(&principal(&token), now))?;
    let query = query_pairs(parts.uri.query());
    let subscriptions = matches!(segments.as_slice(), [only] if only.eq_ignore_ascii_case("subscriptions"));
    check_api_version(&query, if subscriptions { SUBSCRIPTIONS_API_VERSION } else { API_VERSION })?;

    let route = route(&segments)?;
    if parts.method != route.method() {
        return Err(ArmError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The HTTP method '{}' is not supported for '{raw}'.", parts.method),
        )
        .with_header("allow", route.method().as_str()));
    }
    Ok(Call { route, tenant, query, body: Bytes::new() })
}

fn route(segments: &[String]) -> Result<Route, ArmError> {
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let seg = |i: usize| segments.get(i).cloned().unwrap_or_default();
    let unknown_type = |name: &str| {
        ArmError::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            format!(
                "The resource type '{name}' could not be found in the namespace 'Microsoft.CustomerLockbox' for api version '{API_VERSION}'."
            ),
        )
    };
    match lower.as_slice() {
        ["subscriptions"] => Ok(Route::Subscriptions),
        ["providers", "microsoft.customerlockbox", rest @ ..] => match rest {
            ["operations"] => Ok(Route::OperationsList),
            ["tenantoptedin", _] => Ok(Route::TenantOptedIn(seg(3))),
            ["enablelockbox"] => Ok(Route::Lockbox(true)),
            ["disablelockbox"] => Ok(Route::Lockbox(false)),
            ["operationstatuses", _] => Ok(Route::OpStatus(seg(3))),
            ["operationresults", _] => Ok(Route::OpResult(seg(3))),
            _ => Err(unknown_type(&segments[2..].join("/"))),
        },
        ["subscriptions", _, "providers", "microsoft.customerlockbox", rest @ ..] => match rest {
            ["requests"] => Ok(Route::List(seg(1))),
            ["requests", _] => Ok(Route::Get(seg(1), seg(5))),
            ["requests", _, "updateapproval"] => Ok(Route::Update(seg(1), seg(5))),
            _ => Err(unknown_type(&segments[4..].join("/"))),
        },
        _ => Err(ArmError::new(StatusCode::NOT_FOUND, "NotFound", "The requested resource path was not found.")),
    }
}

fn handle(shared: &Shared, call: &Call) -> Result<Response, ArmError> {
    let refused = |sub: &str, action: &str| shared.with(|inner, _| inner.arm.refusal(sub, action));
    let lockbox_action = match &call.route {
        Route::List(sub) | Route::Get(sub, _) => Some((sub, "Microsoft.CustomerLockbox/requests/read")),
        Route::Update(sub, _) => Some((sub, "Microsoft.CustomerLockbox/requests/updateApproval/action")),
        _ => None,
    };
    if let Some((sub, action)) = lockbox_action
        && let Some(refusal) = refused(sub, action)
    {
        return Err(refusal);
    }
    match &call.route {
        Route::Subscriptions => {
            // Only the page's subscriptions are turned into JSON: a page costs its own size, not the tenant's.
            let offset = page_offset(&call.query, "subscriptions")?;
            let (value, total) = shared.with(|inner, _| {
                let all = inner.arm.list();
                let on_page = all.iter().skip(offset).take(shared.page_size);
                (on_page.map(|s| s.to_json(&shared.default_tenant_id)).collect(), all.len())
            });
            let next = |token: &str| {
                format!("{}subscriptions?api-version={SUBSCRIPTIONS_API_VERSION}&$skipToken={token}", shared.base_url)
            };
            Ok(page_answer(shared, offset, value, total, "subscriptions", next))
        }
        Route::OperationsList => {
            let catalogue = operations_catalogue();
            let next = |token: &str| {
                format!(
                    "{}providers/Microsoft.CustomerLockbox/operations?api-version={API_VERSION}&$skipToken={token}",
                    shared.base_url
                )
            };
            page(shared, &call.query, catalogue, "operations", next)
        }
        Route::TenantOptedIn(tenant) => Ok(ok_json(json!({"isOptedIn": shared.with(|inner, _| inner.tenant(tenant))}))),
        Route::Lockbox(on) => {
            let effect = OpEffect::Tenant { tenant: call.tenant.clone(), on: *on };
            Ok(shared.with(|inner, now| match inner.start_op(effect, now) {
                Some((id, retry)) => accepted(&shared.base_url, &id, retry),
                None => {
                    inner.set_tenant(&call.tenant, *on);
                    StatusCode::OK.into_response()
                }
            }))
        }
        Route::OpStatus(id) => shared.with(|inner, _| inner.op_status(id)),
        Route::OpResult(id) => shared.with(|inner, _| inner.op_result(id, &shared.base_url)),
        Route::Get(sub, rid) => shared.with(|inner, now| {
            inner.find(sub, rid).map(|r| ok_json(r.to_json(now))).ok_or_else(|| not_found(sub, rid))
        }),
        Route::List(sub) => {
            let status = match query_param(&call.query, "$filter") {
                Some(filter) if !filter.trim().is_empty() => Some(parse_filter(filter)?),
                _ => None,
            };
            let marker = status.unwrap_or("*");
            let offset = page_offset(&call.query, marker)?;
            let (value, total) = shared.with(|inner, now| inner.list_page(sub, status, now, offset, shared.page_size));
            let next = |token: &str| {
                let mut link = format!(
                    "{}subscriptions/{}/providers/Microsoft.CustomerLockbox/requests?api-version={API_VERSION}",
                    shared.base_url,
                    utf8_percent_encode(sub, COMPONENT)
                );
                if let Some(status) = status {
                    let filter = format!("properties/status eq '{status}'");
                    link.push_str("&$filter=");
                    link.extend(utf8_percent_encode(&filter, COMPONENT));
                }
                link.push_str("&$skipToken=");
                link.push_str(token);
                link
            };
            Ok(page_answer(shared, offset, value, total, marker, next))
        }
        Route::Update(sub, rid) => {
            let (decision, reason) = parse_approval(&call.body)?;
            shared.with(|inner, now| {
                if let Some(mode) = inner.decision_mode(sub) {
                    let begun = match mode {
                        // The request moves to Approving/Denying now: a second decision is refused.
                        WhileRunning::Interim => inner.begin_decision(sub, rid, decision, now).map(|()| true)?,
                        // The request stays Pending until the operation ends.
                        WhileRunning::Pending => inner.check_decidable(sub, rid, now).map(|()| false)?,
                    };
                    let effect = OpEffect::Decide {
                        sub: sub.clone(),
                        rid: rid.clone(),
                        decision,
                        reason: reason.clone(),
                        begun,
                    };
                    if let Some((id, retry)) = inner.start_op(effect, now) {
                        // Accepted: from here a decision POST for this request is a duplicate.
                        inner.mark_decided(sub, rid);
                        return Ok(accepted(&shared.base_url, &id, retry));
                    }
                }
                inner.decide(sub, rid, decision, reason.as_deref(), now)?;
                Ok(ok_json(decision.echo(reason.as_deref())))
            })
        }
    }
}

/// `{"status":"Approve"|"Deny","reason":"..."}`.
fn parse_approval(body: &[u8]) -> Result<(Decision, Option<String>), ArmError> {
    let invalid = |why: &str| {
        ArmError::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: {why}"),
        )
    };
    let value: Value = serde_json::from_slice(body).map_err(|e| invalid(&format!("malformed JSON ({e}).")))?;
    let status = value
        .get("status")
        .ok_or_else(|| invalid("required property 'status' is missing."))?
        .as_str()
        .ok_or_else(|| invalid("'status' must be a string."))?;
    let decision = Decision::parse(status).ok_or_else(|| {
        invalid(&format!("'{status}' is not a valid value for 'status'; expected 'Approve' or 'Deny'."))
    })?;
    let reason = match value.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(reason)) => Some(reason.clone()),
        Some(_) => return Err(invalid("'reason' must be a string.")),
    };
    Ok((decision, reason))
}

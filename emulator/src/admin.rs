//! The admin HTTP API under `/_emulator/` (no authentication), for the standalone runner.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::arm::{ArmError, ok_json};
use super::faults::FaultSpec;
use super::model::{NewLockboxRequest, Seed};
use super::request::{rfc3339, to_delta};
use super::state::Shared;
use super::subscriptions::{NewSubscription, TenantSeed};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/requests", post(create_request))
        .route("/_emulator/seed", post(seed))
        .route("/_emulator/clock", get(clock))
        .route("/_emulator/clock/advance", post(advance))
        .route("/_emulator/received", get(received).delete(clear_received))
        .route("/_emulator/faults", post(inject).delete(clear_faults))
        .route("/_emulator/decisions", get(decisions))
        .route("/_emulator/decision-posts", get(decision_posts))
        .route("/_emulator/subscriptions", post(add_subscription))
        .route("/_emulator/seed-tenant", post(seed_tenant))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ArmError> {
    serde_json::from_slice(body).map_err(|e| {
        ArmError::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: {e}."),
        )
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    subscription_id: String,
    #[serde(flatten)]
    request: NewLockboxRequest,
}

async fn create_request(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<CreateRequest>(&body) {
        Ok(new) => {
            let id = super::create(&shared, &new.subscription_id, new.request);
            (StatusCode::CREATED, axum::Json(json!({"id": id}))).into_response()
        }
        Err(error) => error.into_response(),
    }
}

async fn seed(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let result = parse::<Seed>(&body).and_then(|seed| {
        super::apply_seed(&shared, seed).map_err(|e| ArmError::bad_request("InvalidRequestContent", e))
    });
    match result {
        Ok(ids) => ok_json(json!({"ids": ids})),
        Err(error) => error.into_response(),
    }
}

async fn clock(State(shared): State<Arc<Shared>>) -> Response {
    ok_json(json!({"now": rfc3339(shared.now())}))
}

#[derive(Deserialize)]
struct Advance {
    seconds: i64,
}

async fn advance(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<Advance>(&body) {
        Ok(Advance { seconds }) => {
            let delta = to_delta(Duration::from_secs(seconds.unsigned_abs()));
            let now = shared.with(|inner, _| {
                inner.clock_offset = if seconds >= 0 {
                    inner.clock_offset.checked_add(&delta)
                } else {
                    inner.clock_offset.checked_sub(&delta)
                }
                .unwrap_or(inner.clock_offset);
                inner.now()
            });
            ok_json(json!({"now": rfc3339(now)}))
        }
        Err(error) => error.into_response(),
    }
}

async fn received(State(shared): State<Arc<Shared>>) -> Response {
    let list: Vec<_> = shared.with(|inner, _| inner.received.iter().cloned().collect());
    ok_json(json!(list))
}

async fn clear_received(State(shared): State<Arc<Shared>>) -> Response {
    shared.with(|inner, _| inner.received.clear());
    StatusCode::NO_CONTENT.into_response()
}

async fn inject(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let fault = parse::<FaultSpec>(&body)
        .and_then(|spec| spec.into_fault().map_err(|e| ArmError::bad_request("InvalidRequestContent", e)));
    match fault {
        Ok(fault) => {
            shared.with(|inner, _| {
                if fault.count > 0 {
                    inner.faults.push_back(fault);
                }
            });
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// Drops every fault still queued (those injected and not used up).
async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.with(|inner, _| inner.faults.clear());
    StatusCode::NO_CONTENT.into_response()
}

async fn decisions(State(shared): State<Arc<Shared>>) -> Response {
    let list = shared.with(|inner, _| inner.decisions.clone());
    ok_json(json!(list))
}

async fn decision_posts(State(shared): State<Arc<Shared>>) -> Response {
    let list = shared.with(|inner, _| super::decision_posts(inner));
    let duplicates: u64 = list.iter().map(|p| p.after_decision).sum();
    ok_json(json!({"duplicateDecisions": duplicates, "requests": list}))
}

async fn add_subscription(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<NewSubscription>(&body) {
        Ok(new) => {
            shared.with(|inner, _| inner.arm.add(new));
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => error.into_response(),
    }
}

async fn seed_tenant(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<TenantSeed>(&body) {
        Ok(seed) => {
            let ids = shared.with(|inner, now| super::seed_tenant(inner, &seed, now));
            ok_json(json!({ "subscriptionIds": ids }))
        }
        Err(error) => error.into_response(),
    }
}

//! Long-running operations (`202 Accepted` + `Azure-AsyncOperation` / `Location` polling).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use url::Url;

use super::arm::{ArmError, ok_json};
use super::model::{API_VERSION, AsyncOperations};
use super::request::{Decision, rfc3339, to_delta};

/// What an operation does when it succeeds.
#[derive(Debug, Clone)]
pub(crate) enum OpEffect {
    /// A decision; `begun` when the request already moved to `Approving` or `Denying` as it was accepted
    /// ([`WhileRunning::Interim`](super::model::WhileRunning::Interim)), so that only its end remains.
    Decide {
        sub: String,
        rid: String,
        decision: Decision,
        reason: Option<String>,
        begun: bool,
    },
    Tenant {
        tenant: String,
        on: bool,
    },
}

/// One long-running operation.
#[derive(Debug, Clone)]
pub(crate) struct AsyncOp {
    pub id: String,
    pub effect: OpEffect,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub fail_with: Option<(String, String)>,
    /// `None` while running; then the final answer: a body (or none) or an error.
    pub outcome: Option<Result<Option<Value>, ArmError>>,
}

/// The long-running operations started so far.
#[derive(Debug, Default)]
pub(crate) struct Ops {
    list: Vec<AsyncOp>,
}

impl Ops {
    /// Starts one with `cfg` at `now`: its id, and the `Retry-After` its `202` carries.
    pub fn start(&mut self, cfg: &AsyncOperations, effect: OpEffect, now: DateTime<Utc>) -> (String, u64) {
        let id = uuid::Uuid::new_v4().to_string();
        self.list.push(AsyncOp {
            id: id.clone(),
            effect,
            start: now,
            end: now.checked_add_signed(to_delta(cfg.duration)).unwrap_or(now),
            fail_with: cfg.fail_with.clone(),
            outcome: None,
        });
        (id, cfg.retry_after_secs)
    }

    /// The operations due by `now` that have no outcome yet, in the order they end.
    pub fn due(&self, now: DateTime<Utc>) -> Vec<AsyncOp> {
        let mut due: Vec<AsyncOp> =
            self.list.iter().filter(|op| op.outcome.is_none() && op.end <= now).cloned().collect();
        due.sort_by_key(|op| op.end);
        due
    }

    /// Records how operation `id` ended.
    pub fn finish(&mut self, id: &str, outcome: Result<Option<Value>, ArmError>) {
        if let Some(op) = self.list.iter_mut().find(|op| op.id == id) {
            op.outcome = Some(outcome);
        }
    }

    fn get(&self, id: &str) -> Result<&AsyncOp, ArmError> {
        self.list.iter().find(|op| op.id.eq_ignore_ascii_case(id)).ok_or_else(|| {
            ArmError::new(StatusCode::NOT_FOUND, "OperationNotFound", format!("The operation '{id}' was not found."))
        })
    }

    /// `GET .../operationStatuses/{id}`; a running operation's answer carries `Retry-After: retry_after_secs`.
    pub fn status(&self, id: &str, retry_after_secs: Option<u64>) -> Result<Response, ArmError> {
        let op = self.get(id)?;
        let mut body = json!({
            "id": format!("/providers/Microsoft.CustomerLockbox/operationStatuses/{}", op.id),
            "name": op.id,
            "status": "InProgress",
            "startTime": rfc3339(op.start),
        });
        if let Some(outcome) = &op.outcome {
            body["endTime"] = json!(rfc3339(op.end));
            match outcome {
                Ok(_) => body["status"] = json!("Succeeded"),
                Err(error) => {
                    body["status"] = json!("Failed");
                    body["error"] = json!({"code": error.code, "message": error.message});
                }
            }
        }
        let mut response = ok_json(body);
        if op.outcome.is_none()
            && let Some(secs) = retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert("retry-after", value);
        }
        Ok(response)
    }

    /// `GET .../operationResults/{id}`: `202` again (with `Retry-After: retry_after_secs`) while it runs.
    pub fn result(&self, id: &str, base: &Url, retry_after_secs: u64) -> Result<Response, ArmError> {
        let op = self.get(id)?;
        match &op.outcome {
            None => Ok(accepted(base, &op.id, retry_after_secs)),
            Some(Ok(Some(body))) => Ok(ok_json(body.clone())),
            Some(Ok(None)) => Ok(StatusCode::OK.into_response()),
            Some(Err(error)) => Err(error.clone()),
        }
    }
}

fn op_url(base: &Url, kind: &str, id: &str) -> String {
    format!("{}providers/Microsoft.CustomerLockbox/{kind}/{id}?api-version={API_VERSION}", base.as_str())
}

/// `202 Accepted` with `Azure-AsyncOperation`, `Location` and `Retry-After`, empty body.
pub(crate) fn accepted(base: &Url, id: &str, retry_after_secs: u64) -> Response {
    let mut response = StatusCode::ACCEPTED.into_response();
    let headers = response.headers_mut();
    let pairs = [
        ("azure-asyncoperation", op_url(base, "operationStatuses", id)),
        ("location", op_url(base, "operationResults", id)),
        ("retry-after", retry_after_secs.to_string()),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

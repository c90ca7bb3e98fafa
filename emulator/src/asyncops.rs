//! Long-running operations (`202 Accepted` + `Azure-AsyncOperation` / `Location` polling).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use url::Url;

use super::arm::{ArmError, ok_json};
use super::model::{API_VERSION, AsyncOperations, WhileRunning};
use super::state::{Decision, Inner, rfc3339, to_delta};

/// What an operation does when it succeeds.
#[derive(Debug, Clone)]
pub(crate) enum OpEffect {
    /// A decision; `begun` when the request already moved to `Approving` or `Denying` as it was accepted
    /// ([`WhileRunning::Interim`]), so that only its end remains.
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

impl Inner {
    /// The async-mode settings for decisions on this subscription: its own, else the emulator's.
    pub fn async_cfg_for(&self, sub: &str) -> Option<&AsyncOperations> {
        match self.async_by_subscription.get(&sub.to_ascii_lowercase()) {
            Some(own) => own.as_ref(),
            None => self.async_cfg.as_ref(),
        }
    }

    /// How a decision on this subscription is answered: `None` at once, else `202` with this request state
    /// while its operation runs.
    pub fn decision_mode(&self, sub: &str) -> Option<WhileRunning> {
        self.async_cfg_for(sub).map(|cfg| cfg.while_running)
    }

    /// Starts an operation if async mode is on; returns its id.
    pub fn start_op(&mut self, effect: OpEffect, now: DateTime<Utc>) -> Option<(String, u64)> {
        let cfg = match &effect {
            OpEffect::Decide { sub, .. } => self.async_cfg_for(sub),
            OpEffect::Tenant { .. } => self.async_cfg.as_ref(),
        }
        .cloned()?;
        let id = uuid::Uuid::new_v4().to_string();
        self.ops.push(AsyncOp {
            id: id.clone(),
            effect,
            start: now,
            end: now.checked_add_signed(to_delta(cfg.duration)).unwrap_or(now),
            fail_with: cfg.fail_with,
            outcome: None,
        });
        Some((id, cfg.retry_after_secs))
    }

    /// Finishes every operation due by `now`, in the order they end, applying their effects.
    pub fn settle(&mut self, now: DateTime<Utc>) {
        let mut due: Vec<usize> =
            (0..self.ops.len()).filter(|&i| self.ops[i].outcome.is_none() && self.ops[i].end <= now).collect();
        due.sort_by_key(|&i| self.ops[i].end);
        for i in due {
            let op = self.ops[i].clone();
            let failed =
                op.fail_with.map(|(code, message)| ArmError::new(StatusCode::INTERNAL_SERVER_ERROR, &code, message));
            let outcome = if let Some(error) = failed {
                if let OpEffect::Decide { sub, rid, decision, reason, begun: true } = &op.effect {
                    self.end_decision(sub, rid, *decision, reason.as_deref(), op.end, false);
                }
                Err(error)
            } else {
                match op.effect {
                    OpEffect::Decide { sub, rid, decision, reason, begun: true } => {
                        self.end_decision(&sub, &rid, decision, reason.as_deref(), op.end, true);
                        Ok(Some(decision.echo(reason.as_deref())))
                    }
                    OpEffect::Decide { sub, rid, decision, reason, begun: false } => self
                        .decide(&sub, &rid, decision, reason.as_deref(), op.end)
                        .map(|()| Some(decision.echo(reason.as_deref()))),
                    OpEffect::Tenant { tenant, on } => {
                        self.set_tenant(&tenant, on);
                        Ok(None)
                    }
                }
            };
            self.ops[i].outcome = Some(outcome);
        }
    }

    fn op(&self, id: &str) -> Result<&AsyncOp, ArmError> {
        self.ops.iter().find(|op| op.id.eq_ignore_ascii_case(id)).ok_or_else(|| {
            ArmError::new(StatusCode::NOT_FOUND, "OperationNotFound", format!("The operation '{id}' was not found."))
        })
    }

    /// `GET .../operationStatuses/{id}`.
    pub fn op_status(&self, id: &str) -> Result<Response, ArmError> {
        let op = self.op(id)?;
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
            && let Some(cfg) = &self.async_cfg
            && let Ok(value) = HeaderValue::from_str(&cfg.retry_after_secs.to_string())
        {
            response.headers_mut().insert("retry-after", value);
        }
        Ok(response)
    }

    /// `GET .../operationResults/{id}`.
    pub fn op_result(&self, id: &str, base: &Url) -> Result<Response, ArmError> {
        let op = self.op(id)?;
        match &op.outcome {
            None => {
                let retry = self.async_cfg.as_ref().map_or(1, |c| c.retry_after_secs);
                Ok(accepted(base, &op.id, retry))
            }
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

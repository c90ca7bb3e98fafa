//! The polling state machine behind [`Poller`](super::Poller): what a poll means for each kind of polling URL,
//! and what a [`ResumeToken`] holds.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::{StatusCode, header::HeaderMap};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::time::Instant;

use super::{MIN_FREQUENCY, PollerOptions, PollerStatus, ResumeToken};
use crate::{
    client::CustomerLockboxClient,
    error::{ArmErrorDetail, Error, Result, header, redact},
    retry,
    status::LockboxRequestStatus,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum Kind {
    AzureAsyncOperation,
    OperationLocation,
    Location,
    /// A Lockbox request, polled with `Requests_Get` until its status is final.
    Request,
}

/// What a poller needs to continue; exactly what a [`ResumeToken`] holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct State {
    pub(super) kind: Kind,
    pub(super) poll: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) location: Option<String>,
    pub(super) op: String,
    /// Whether the result is read from the final body; `false` for results without one, such as `()`.
    pub(super) body: bool,
    /// The result when the final answer has no body (e.g. the decision sent); JSON `null` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) fallback: Option<serde_json::Value>,
}

impl State {
    pub(super) fn new(kind: Kind, poll: String, op: &str, body: bool, fallback: Option<serde_json::Value>) -> Self {
        Self { kind, poll, location: None, op: op.into(), body, fallback }
    }
}

/// Operations that may be polled, with the operation id their polls are traced (and retried) as.
const POLL_OPERATIONS: &[(&str, &str)] = &[
    ("post_enable_lockbox", "post_enable_lockbox_poll"),
    ("post_disable_lockbox", "post_disable_lockbox_poll"),
    ("requests_update_status", "requests_update_status_poll"),
    ("requests_get", "requests_get"),
];

pub(super) fn poll_operation(op: &str) -> &'static str {
    POLL_OPERATIONS.iter().find(|(o, _)| *o == op).map_or("long_running_operation_poll", |(_, p)| p)
}

/// Picks the polling header: `Azure-AsyncOperation`, then `Operation-Location`, then `Location`.
pub(super) fn polling_header(headers: &HeaderMap) -> Option<(Kind, String)> {
    [
        (Kind::AzureAsyncOperation, "azure-asyncoperation"),
        (Kind::OperationLocation, "operation-location"),
        (Kind::Location, "location"),
    ]
    .into_iter()
    .find_map(|(kind, name)| header(headers, name).filter(|v| !v.trim().is_empty()).map(|v| (kind, v)))
}

pub(super) enum End<T> {
    Done(String, T),
    Failed(PollerStatus, Option<ArmErrorDetail>),
}

pub(super) struct Core<T> {
    pub(super) client: CustomerLockboxClient,
    pub(super) state: State,
    pub(super) options: PollerOptions,
    pub(super) wait: Option<Duration>,
    pub(super) started: Instant,
    pub(super) last: String,
    pub(super) end: Option<End<T>>,
    pub(super) reported: bool,
}

#[derive(Deserialize)]
pub(super) struct Monitor {
    pub(super) status: String,
    #[serde(default)]
    pub(super) error: Option<ArmErrorDetail>,
}

/// One 2xx answer of the operation `op`.
pub(super) struct Answer {
    pub(super) op: &'static str,
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

impl Answer {
    pub(super) fn decode<D: DeserializeOwned>(&self, body: &Bytes) -> Result<D> {
        serde_json::from_slice(body).map_err(|source| Error::Decode {
            operation: self.op,
            status: self.status,
            request_id: header(&self.headers, "x-ms-request-id"),
            body: redact(body.slice(..body.len().min(4096)), None),
            source,
        })
    }
}

impl<T: DeserializeOwned + Send + 'static> Core<T> {
    pub(super) fn new(client: &CustomerLockboxClient, state: State, wait: Option<Duration>) -> Self {
        Self {
            client: client.clone(),
            state,
            options: PollerOptions::default(),
            wait,
            started: Instant::now(),
            last: "none seen".into(),
            end: None,
            reported: false,
        }
    }

    pub(super) fn token(&self) -> Option<ResumeToken> {
        let json = serde_json::to_vec(&self.state).ok().filter(|_| self.end.is_none())?;
        Some(ResumeToken(azure_core::base64::encode_url_safe(json)))
    }

    pub(super) async fn step(mut self) -> (Self, Option<Result<PollerStatus>>) {
        if let Some(end) = &self.end {
            if self.reported {
                return (self, None);
            }
            self.reported = true;
            let status = match end {
                End::Done(text, _) => PollerStatus::Succeeded(text.clone()),
                End::Failed(status, _) => status.clone(),
            };
            return (self, Some(Ok(status)));
        }
        let item = self.poll().await;
        self.reported = self.end.is_some();
        if let Ok(status) = &item {
            tracing::info!(operation = self.state.op, %status, next_poll_ms = self.wait.map(|w| w.as_millis() as u64));
        }
        (self, Some(item))
    }

    /// Waits as asked, unless that would pass the deadline: then waits until it and fails.
    pub(super) async fn sleep(&mut self) -> Result<()> {
        let wait = self.wait.take().unwrap_or_default();
        if let Some(limit) = self.options.timeout {
            let deadline = self.started + limit;
            if Instant::now() + wait > deadline {
                tokio::time::sleep_until(deadline).await;
                let what = format!("{} to finish", self.state.op);
                return Err(Error::Timeout { what, elapsed: self.started.elapsed(), last_status: self.last.clone() });
            }
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    pub(super) async fn poll(&mut self) -> Result<PollerStatus> {
        loop {
            self.sleep().await?;
            let op = poll_operation(&self.state.op);
            let inner = &self.client.inner;
            let response = inner.inner.get_raw(inner, op, "polling URL", &self.state.poll).await.0?;
            let (status, headers) = (response.status(), response.headers().clone());
            let answer = Answer { op, status, headers, body: response.into_inner() };
            let frequency = self.options.frequency.max(MIN_FREQUENCY);
            let hint = retry::retry_after(&answer.headers, SystemTime::now()).filter(|d| !d.is_zero());
            self.wait = Some(hint.unwrap_or(frequency));
            match self.state.kind {
                Kind::AzureAsyncOperation | Kind::OperationLocation => {
                    let monitor: Monitor = answer.decode(&answer.body)?;
                    self.last = monitor.status.clone();
                    match PollerStatus::parse(&monitor.status) {
                        PollerStatus::Succeeded(text) => match self.state.location.take() {
                            // final-state-via location: read the result there, at once.
                            Some(location) => {
                                self.state.kind = Kind::Location;
                                self.state.poll = location;
                                self.wait = None;
                            }
                            None => return self.finish(text, &answer, false),
                        },
                        failed @ (PollerStatus::Failed(_) | PollerStatus::Canceled(_)) => {
                            self.end = Some(End::Failed(failed.clone(), monitor.error));
                            return Ok(failed);
                        }
                        running => return Ok(running),
                    }
                }
                Kind::Location if status == StatusCode::ACCEPTED => {
                    if let Some(next) = header(&answer.headers, "location").filter(|v| !v.trim().is_empty()) {
                        self.state.poll = next;
                    }
                    self.last = "InProgress".into();
                    return Ok(PollerStatus::InProgress(self.last.clone()));
                }
                Kind::Location => return self.finish("Succeeded".into(), &answer, true),
                Kind::Request => {
                    let request: serde_json::Value = answer.decode(&answer.body)?;
                    let text = request.pointer("/properties/status").and_then(|s| s.as_str()).unwrap_or("Unknown");
                    self.last = text.to_owned();
                    if !LockboxRequestStatus::parse(text).is_final() {
                        return Ok(PollerStatus::InProgress(self.last.clone()));
                    }
                    return self.finish(self.last.clone(), &answer, true);
                }
            }
        }
    }

    /// Ends with the result: the answer's body when it has one that counts, else the fallback.
    pub(super) fn finish(&mut self, text: String, answer: &Answer, has_body: bool) -> Result<PollerStatus> {
        self.last = text.clone();
        let value = if has_body && self.state.body && !answer.body.iter().all(u8::is_ascii_whitespace) {
            answer.decode(&answer.body)?
        } else {
            answer.decode(&Bytes::from(self.state.fallback.clone().unwrap_or_default().to_string()))?
        };
        self.end = Some(End::Done(text.clone(), value));
        Ok(PollerStatus::Succeeded(text))
    }

    pub(super) fn into_result(self) -> Result<T> {
        match self.end {
            Some(End::Done(_, value)) => Ok(value),
            Some(End::Failed(status, error)) => {
                Err(Error::OperationFailed { status: status.as_str().to_owned(), error: error.map(Box::new) })
            }
            None => Err(Error::Timeout {
                what: format!("{} to finish", self.state.op),
                elapsed: self.started.elapsed(),
                last_status: self.last,
            }),
        }
    }
}

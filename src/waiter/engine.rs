//! The polling state machine behind [`Waiter`](super::Waiter): what a poll means for each kind of polling URL,
//! where the operation stands ([`Progress`]), and what a [`ContinuationToken`] holds ([`Target`]).
//!
//! ```text
//!   Running { wait } --poll: still running--> Running { next wait }
//!         |   \--poll: Failed/Canceled--> Ended(Failed)  --status yielded--> Reported(Failed)
//!         \--poll: done--> Ended(Done(value))  --status yielded--> Reported(Done(value))
//! ```
//!
//! The poll that finds the end yields the terminal status itself, so it goes straight to `Reported`.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::{StatusCode, header::HeaderMap};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::time::Instant;

use super::types::{WaiterOptions, WaiterStatus};
use crate::{
    core::Core,
    error::{ArmErrorDetail, Error, Result, header, kept},
    operation::{Operation, Polled},
    pager::ContinuationToken,
    pipeline::LinkKind,
    retry,
    status::LockboxRequestStatus,
};

/// What kind of URL is polled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum Kind {
    AzureAsyncOperation,
    OperationLocation,
    Location,
    /// A Lockbox request, polled with `Requests_Get` until its status is final.
    Request,
}

/// What the result is once the operation is done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Expect {
    /// No result (`()`): a final body is not read.
    Nothing,
    /// The final answer's body.
    Body,
    /// The final answer's body, or this value (what was sent) when the final answer has none.
    BodyOr(serde_json::Value),
}

/// What is polled, and for what: exactly what a [`ContinuationToken`] holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Target {
    pub(super) kind: Kind,
    pub(super) poll: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) location: Option<String>,
    #[serde(with = "by_name")]
    pub(super) op: Operation,
    pub(super) expect: Expect,
}

/// An [`Operation`] in a resume token: its name.
mod by_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::operation::Operation;

    pub(super) fn serialize<S: Serializer>(op: &Operation, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(op.name())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Operation, D::Error> {
        let name = String::deserialize(d)?;
        Operation::from_name(&name).ok_or_else(|| D::Error::custom(format!("unknown operation {name:?}")))
    }
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

/// How an operation ended.
pub(super) enum End<T> {
    Done(String, T),
    Failed(WaiterStatus, Option<ArmErrorDetail>),
}

impl<T> End<T> {
    fn status(&self) -> WaiterStatus {
        match self {
            End::Done(text, _) => WaiterStatus::Succeeded(text.clone()),
            End::Failed(status, _) => status.clone(),
        }
    }
}

/// Where the operation stands.
pub(super) enum Progress<T> {
    /// Not finished: wait this long, then poll.
    Running { wait: Duration },
    /// Finished; its terminal status not yet yielded.
    Ended(End<T>),
    /// Finished, and its terminal status yielded: nothing more is sent.
    Reported(End<T>),
}

/// A poller's state between steps.
pub(super) struct Engine<T> {
    pub(super) core: Core,
    pub(super) target: Target,
    pub(super) options: WaiterOptions,
    pub(super) started: Instant,
    /// The last status seen, for a timeout's error.
    pub(super) last: String,
    pub(super) progress: Progress<T>,
}

#[derive(Deserialize)]
struct Monitor {
    status: String,
    #[serde(default)]
    error: Option<ArmErrorDetail>,
}

/// One 2xx answer of the operation `op`.
pub(super) struct Answer {
    pub(super) op: Operation,
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

impl Answer {
    fn decode<D: DeserializeOwned>(&self, body: &Bytes) -> Result<D> {
        serde_json::from_slice(body).map_err(|source| Error::Decode {
            operation: self.op.name(),
            status: self.status,
            request_id: header(&self.headers, "x-ms-request-id"),
            body: kept(body.clone()),
            source,
        })
    }
}

impl<T: DeserializeOwned + Send + 'static> Engine<T> {
    pub(super) fn new(core: &Core, target: Target, progress: Progress<T>) -> Self {
        Self {
            core: core.clone(),
            target,
            options: WaiterOptions::default(),
            started: Instant::now(),
            last: "none seen".into(),
            progress,
        }
    }

    /// The token to resume from; `None` once the operation has finished.
    pub(super) fn token(&self) -> Option<ContinuationToken> {
        let Progress::Running { .. } = self.progress else { return None };
        let json = serde_json::to_vec(&self.target).ok()?;
        Some(ContinuationToken::from(azure_core::base64::encode_url_safe(json)))
    }

    /// One status for the stream: the next poll's, the terminal one not yet yielded, or `None` after it.
    pub(super) async fn step(mut self: Box<Self>) -> (Box<Self>, Option<Result<WaiterStatus>>) {
        match std::mem::replace(&mut self.progress, Progress::Running { wait: Duration::ZERO }) {
            Progress::Reported(end) => {
                self.progress = Progress::Reported(end);
                (self, None)
            }
            Progress::Ended(end) => {
                let status = end.status();
                self.progress = Progress::Reported(end);
                (self, Some(Ok(status)))
            }
            Progress::Running { wait } => {
                let item = self.poll(wait).await;
                if let Progress::Ended(_) = self.progress {
                    // The poll that found the end yields its terminal status itself.
                    let Progress::Ended(end) = std::mem::replace(&mut self.progress, Progress::Running { wait }) else {
                        unreachable!("matched just above")
                    };
                    self.progress = Progress::Reported(end);
                }
                if let Ok(status) = &item {
                    let next_poll_ms = match self.progress {
                        Progress::Running { wait } => Some(retry::millis(wait)),
                        _ => None,
                    };
                    tracing::info!(operation = self.target.op.name(), %status, next_poll_ms);
                }
                (self, Some(item))
            }
        }
    }

    /// Waits `wait` (a first answer's `Retry-After` capped as every hint is, see [`MAX_POLL_WAIT`]), unless that
    /// would pass the options' timeout: then waits until it and fails.
    ///
    /// [`MAX_POLL_WAIT`]: super::MAX_POLL_WAIT
    async fn sleep(&mut self, wait: Duration) -> Result<()> {
        // The first answer's hint was taken before the options were known; a zero wait stays zero.
        let wait = if wait.is_zero() { wait } else { self.options.next_wait(Some(wait)) };
        match retry::wait_within(wait, self.started.elapsed(), self.options.timeout) {
            Ok(wait) => {
                tokio::time::sleep(wait).await;
                Ok(())
            }
            Err(left) => {
                tokio::time::sleep(left).await;
                let what = format!("{} to finish", self.target.op.name());
                Err(Error::Timeout { what, elapsed: self.started.elapsed(), last_status: self.last.clone() })
            }
        }
    }

    /// Waits, then polls until there is a status to report (a `Location` found after success is read at once).
    async fn poll(&mut self, mut wait: Duration) -> Result<WaiterStatus> {
        loop {
            self.sleep(wait).await?;
            let op = match self.target.op.polled() {
                Polled::With(poll) => poll,
                Polled::No => self.target.op,
            };
            let response = self.core.pipeline().get_raw(op, LinkKind::PollingUrl, &self.target.poll).await.0?;
            let (status, headers) = (response.status(), response.headers().clone());
            let answer = Answer { op, status, headers, body: response.into_inner() };
            let hint = retry::retry_after(&answer.headers, SystemTime::now()).filter(|d| !d.is_zero());
            wait = self.options.next_wait(hint);
            self.progress = Progress::Running { wait };
            match self.target.kind {
                Kind::AzureAsyncOperation | Kind::OperationLocation => {
                    let monitor: Monitor = answer.decode(&answer.body)?;
                    self.last = monitor.status.clone();
                    match WaiterStatus::parse(&monitor.status) {
                        WaiterStatus::Succeeded(text) => match self.target.location.take() {
                            // final-state-via location: read the result there, at once.
                            Some(location) => {
                                self.target.kind = Kind::Location;
                                self.target.poll = location;
                                wait = Duration::ZERO;
                                self.progress = Progress::Running { wait };
                            }
                            None => return self.finish(text, &answer, false),
                        },
                        failed @ (WaiterStatus::Failed(_) | WaiterStatus::Canceled(_)) => {
                            self.progress = Progress::Ended(End::Failed(failed.clone(), monitor.error));
                            return Ok(failed);
                        }
                        running => return Ok(running),
                    }
                }
                Kind::Location if status == StatusCode::ACCEPTED => {
                    if let Some(next) = header(&answer.headers, "location").filter(|v| !v.trim().is_empty()) {
                        self.target.poll = next;
                    }
                    self.last = "InProgress".into();
                    return Ok(WaiterStatus::InProgress(self.last.clone()));
                }
                Kind::Location => return self.finish("Succeeded".into(), &answer, true),
                Kind::Request => {
                    let request: serde_json::Value = answer.decode(&answer.body)?;
                    let text = request.pointer("/properties/status").and_then(|s| s.as_str()).unwrap_or("Unknown");
                    self.last = text.to_owned();
                    if !LockboxRequestStatus::parse(text).is_final() {
                        return Ok(WaiterStatus::InProgress(self.last.clone()));
                    }
                    return self.finish(self.last.clone(), &answer, true);
                }
            }
        }
    }

    /// Ends with the result: the answer's body when it has one that counts, else what [`Expect`] says.
    pub(super) fn finish(&mut self, text: String, answer: &Answer, has_body: bool) -> Result<WaiterStatus> {
        self.last = text.clone();
        let blank = answer.body.iter().all(u8::is_ascii_whitespace);
        let value = match &self.target.expect {
            Expect::Body | Expect::BodyOr(_) if has_body && !blank => answer.decode(&answer.body)?,
            Expect::BodyOr(sent) => answer.decode(&Bytes::from(sent.to_string()))?,
            Expect::Body | Expect::Nothing => answer.decode(&Bytes::from_static(b"null"))?,
        };
        self.progress = Progress::Ended(End::Done(text.clone(), value));
        Ok(WaiterStatus::Succeeded(text))
    }

    pub(super) fn into_result(self) -> Result<T> {
        match self.progress {
            Progress::Ended(End::Done(_, value)) | Progress::Reported(End::Done(_, value)) => Ok(value),
            Progress::Ended(End::Failed(status, error)) | Progress::Reported(End::Failed(status, error)) => {
                Err(Error::OperationFailed { status: status.as_str().to_owned(), error: error.map(Box::new) })
            }
            Progress::Running { .. } => Err(Error::Timeout {
                what: format!("{} to finish", self.target.op.name()),
                elapsed: self.started.elapsed(),
                last_status: self.last,
            }),
        }
    }
}

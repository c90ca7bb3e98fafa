//! The policy bot as a service: its endpoints (`--listen`), metrics, traces (OpenTelemetry) and the
//! notifications of requests left for a person (`--notify-command`, `--notify-url`).
//!
//! The loop tells an [`Observer`] what it does (a pass started or finished, a verdict, a request left, an
//! error), and the observer keeps the health, counts the metrics, makes the spans and sends the notifications.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant, SystemTime},
};

use opentelemetry::Context;

mod export;
mod health;
mod metrics;
mod notify;
mod server;
#[cfg(test)]
mod tests;
mod traces;

pub use notify::{Hook, Left};
pub use server::PATHS;
pub use traces::EXPORT_LIMIT;

/// The longest the bot waits, when it stops, for the notifications in flight.
pub const NOTIFY_STOP_BOUND: Duration = Duration::from_secs(10);

/// What the options ask of the service.
pub struct Setup {
    /// Where to serve the endpoints (`--listen`).
    pub listen: Option<SocketAddr>,
    /// Where to announce a request left for a person.
    pub hook: Option<Hook>,
    /// The time between passes: readiness allows three.
    pub interval: Duration,
    /// Whether the session's credential has obtained a token: readiness waits for one.
    pub token: crate::credential::TokenSeen,
}

/// The kinds of error the metrics count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A listing of the pending requests failed, wholly or for some subscriptions.
    List,
    /// A decision failed (the service refused it or could not be reached).
    Decide,
    /// A decision's outcome is unknown (it may have been taken).
    OutcomeUnknown,
    /// An audit line could not be written.
    Audit,
    /// A notification was given up.
    Notify,
}

impl ErrorKind {
    const ALL: [Self; 5] = [Self::List, Self::Decide, Self::OutcomeUnknown, Self::Audit, Self::Notify];

    /// The value of the metric's `kind` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Decide => "decide",
            Self::OutcomeUnknown => "outcome_unknown",
            Self::Audit => "audit",
            Self::Notify => "notify",
        }
    }
}

/// The service's ids for the call that carried a decision, and its error if it failed.
#[derive(Default)]
pub struct ServiceIds<'a> {
    pub service_request_id: Option<&'a str>,
    pub correlation_id: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// What the loop tells; cheap to clone (the endpoints hold one).
#[derive(Clone)]
pub struct Observer(Arc<Inner>);

struct Inner {
    interval: Duration,
    token: crate::credential::TokenSeen,
    health: Mutex<health::State>,
    metrics: Arc<metrics::Metrics>,
    traces: Option<traces::Traces>,
    notifier: Option<notify::Notifier>,
    /// The pass in progress: when it started, and its span.
    pass: Mutex<Option<(Instant, Context)>>,
}

/// A verdict being carried out, whose span ends with [`Decision::finished`].
pub struct Decision {
    observer: Observer,
    span: Option<opentelemetry_sdk::trace::Span>,
}

impl Observer {
    /// Starts what `setup` asks: binds `--listen` (said on stderr, with the port when 0 was given), makes the
    /// trace exporter when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and readies the hook. Sends nothing.
    pub async fn start(setup: Setup) -> Result<Self, String> {
        let metrics = Arc::new(metrics::Metrics::default());
        let notifier = setup.hook.map(|hook| notify::Notifier::new(hook, metrics.clone())).transpose()?;
        let observer = Self(Arc::new(Inner {
            interval: setup.interval,
            token: setup.token,
            health: Mutex::new(health::State::default()),
            metrics,
            traces: traces::Traces::from_env()?,
            notifier,
            pass: Mutex::new(None),
        }));
        if let Some(addr) = setup.listen {
            let bound = server::serve(addr, observer.clone()).await?;
            say!("lockbox: policy run: serving {} on http://{bound}", PATHS.join(", "));
        }
        if observer.0.traces.is_some() {
            say!("lockbox: policy run: traces go out through OpenTelemetry (OTLP over HTTP)");
        }
        if let Some(notifier) = &observer.0.notifier {
            say!("lockbox: policy run: requests left for a person are announced to {}", notifier.describe());
        }
        Ok(observer)
    }

    fn health(&self) -> health::State {
        self.0.health.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn update(&self, change: impl FnOnce(&mut health::State, Instant)) {
        let now = Instant::now();
        let mut state = self.0.health.lock().unwrap_or_else(PoisonError::into_inner);
        state.last_life = Some(now);
        change(&mut state, now);
    }

    /// A pass starts.
    pub fn pass_started(&self) {
        self.update(|_, _| {});
        let span = self.0.traces.as_ref().map_or_else(Context::new, traces::Traces::pass);
        *self.0.pass.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), span));
    }

    /// The pass ends: it succeeded (`None`), or why not.
    pub fn pass_finished(&self, failure: Option<&str>) {
        let Some((started, span)) = self.0.pass.lock().unwrap_or_else(PoisonError::into_inner).take() else {
            return;
        };
        if self.0.traces.is_some() {
            traces::Traces::pass_finished(&span, failure);
        }
        let unix = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        self.0.metrics.pass_finished(started.elapsed().as_secs_f64(), failure.is_none().then_some(unix));
        self.update(|state, now| {
            state.last_pass = Some((now, failure.map_or(Ok(()), |reason| Err(reason.to_owned()))));
            if failure.is_none() {
                state.last_success = Some(now);
            }
        });
    }

    /// A verdict on a request is being carried out (decided, or left): its span starts, under the pass's.
    pub fn decision(&self, subscription: &str, request: &str) -> Decision {
        self.update(|_, _| {});
        let span = self.0.traces.as_ref().map(|traces| {
            let pass = self.0.pass.lock().unwrap_or_else(PoisonError::into_inner);
            let parent = pass.as_ref().map_or_else(Context::new, |(_, span)| span.clone());
            traces.decision(&parent, subscription, request)
        });
        Decision { observer: self.clone(), span }
    }

    /// A request was left for a person: counted, and announced through the hook if there is one.
    pub fn left_for_person(&self, left: Left) {
        self.0.metrics.left_for_person();
        if let Some(notifier) = &self.0.notifier {
            notifier.notify(left);
        }
    }

    /// An intent left open (by a kill, a second signal, or an outcome unknown) was settled by reading its
    /// request, with this outcome (as the audit spells it).
    pub fn settled(&self, outcome: &str) {
        self.0.metrics.settled(outcome);
    }

    /// An error of this kind happened.
    pub fn error(&self, kind: ErrorKind) {
        self.0.metrics.error(kind);
    }

    /// The bot was told to stop: not ready from now on.
    pub fn stopping(&self) {
        self.update(|state, _| state.stopping = true);
    }

    /// The loop has ended: waits for the notifications in flight (at most [`NOTIFY_STOP_BOUND`]) and sends the
    /// last traces.
    pub async fn stopped(&self) {
        self.update(|state, _| state.ended = true);
        if let Some(notifier) = &self.0.notifier {
            notifier.finish(NOTIFY_STOP_BOUND).await;
        }
        if self.0.traces.is_some() {
            let observer = self.clone();
            let _ = tokio::task::spawn_blocking(move || observer.0.traces.as_ref().map(traces::Traces::shutdown)).await;
        }
    }
}

impl Decision {
    /// The verdict was carried out: `outcome` as the audit says it, by `rule`, through the call `ids` name.
    pub fn finished(self, outcome: &str, rule: &str, ids: &ServiceIds<'_>) {
        self.observer.0.metrics.decided(outcome, rule);
        if let Some(span) = self.span {
            traces::Traces::decision_finished(span, outcome, rule, ids);
        }
    }
}

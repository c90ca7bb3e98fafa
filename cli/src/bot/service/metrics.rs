//! The bot's metrics, served at `/metrics` in the Prometheus text format (OpenMetrics), all prefixed
//! `lockbox_policy_`:
//!
//! | metric                                      | type      | labels            |
//! |---------------------------------------------|-----------|-------------------|
//! | `lockbox_policy_decisions_total`            | counter   | `outcome`, `rule` |
//! | `lockbox_policy_left_for_person_total`      | counter   |                   |
//! | `lockbox_policy_intents_settled_total`      | counter   | `outcome`         |
//! | `lockbox_policy_pass_duration_seconds`      | histogram |                   |
//! | `lockbox_policy_errors_total`               | counter   | `kind`            |
//! | `lockbox_policy_last_success_timestamp_seconds` | gauge (Unix time) |       |
//! | `lockbox_policy_notifications_total`        | counter   | `result`          |

use std::sync::atomic::AtomicU64;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use super::ErrorKind;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    outcome: String,
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// The metrics and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    left: Counter,
    settled: Family<OutcomeLabels, Counter>,
    pass_duration: Histogram,
    errors: Family<KindLabels, Counter>,
    last_success: Gauge<f64, AtomicU64>,
    notifications: Family<ResultLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("lockbox_policy");
        let decisions = Family::<DecisionLabels, Counter>::default();
        let left = Counter::default();
        let settled = Family::<OutcomeLabels, Counter>::default();
        // 50 ms to about 7 minutes.
        let pass_duration = Histogram::new(exponential_buckets(0.05, 2.0, 14));
        let errors = Family::<KindLabels, Counter>::default();
        let last_success = Gauge::<f64, AtomicU64>::default();
        let notifications = Family::<ResultLabels, Counter>::default();
        registry.register(
            "decisions",
            "Outcome lines written to the audit trail, by outcome (as the audit spells it) and rule",
            decisions.clone(),
        );
        registry.register("left_for_person", "Requests left for a person to decide", left.clone());
        registry.register(
            "intents_settled",
            "Intents with no outcome (a kill, a second signal, an outcome unknown) settled by reading the request, \
             by outcome",
            settled.clone(),
        );
        registry.register(
            "pass_duration_seconds",
            "How long a pass over the pending requests took",
            pass_duration.clone(),
        );
        registry.register("errors", "Errors by kind", errors.clone());
        registry.register(
            "last_success_timestamp_seconds",
            "When the last successful pass ended (Unix time; 0 before the first)",
            last_success.clone(),
        );
        registry.register(
            "notifications",
            "Notifications of requests left for a person, by result",
            notifications.clone(),
        );
        // Every kind of error and result is shown from the start, at 0, so that a rate() has a series to start from.
        for kind in ErrorKind::ALL {
            drop(errors.get_or_create(&KindLabels { kind: kind.label() }));
        }
        for result in ["delivered", "failed"] {
            drop(notifications.get_or_create(&ResultLabels { result }));
        }
        Self { registry, decisions, left, settled, pass_duration, errors, last_success, notifications }
    }
}

impl Metrics {
    pub fn decided(&self, outcome: &str, rule: &str) {
        self.decisions.get_or_create(&DecisionLabels { outcome: outcome.to_owned(), rule: rule.to_owned() }).inc();
    }

    pub fn left_for_person(&self) {
        self.left.inc();
    }

    pub fn settled(&self, outcome: &str) {
        self.settled.get_or_create(&OutcomeLabels { outcome: outcome.to_owned() }).inc();
    }

    pub fn pass_finished(&self, seconds: f64, success_at_unix: Option<f64>) {
        self.pass_duration.observe(seconds);
        if let Some(at) = success_at_unix {
            self.last_success.set(at);
        }
    }

    pub fn error(&self, kind: ErrorKind) {
        self.errors.get_or_create(&KindLabels { kind: kind.label() }).inc();
    }

    pub fn notified(&self, delivered: bool) {
        let result = if delivered { "delivered" } else { "failed" };
        self.notifications.get_or_create(&ResultLabels { result }).inc();
    }

    /// The metrics in the text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

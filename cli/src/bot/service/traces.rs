//! Traces through OpenTelemetry, when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
//! is set: a span `policy pass` per pass, and under it a span `policy decision` per request given a verdict,
//! with the request's ids. Exported over OTLP/HTTP (protobuf) in batches; the standard `OTEL_*` variables
//! configure the exporter (headers, timeout) and the resource (`OTEL_SERVICE_NAME`, default `lockbox-policy`).
//!
//! The versions are those `azure_core_opentelemetry` 1.0 (the Azure SDK's bridge for azure_core 1.x) builds
//! on: `opentelemetry` 0.31.

use opentelemetry::{
    Context, KeyValue,
    trace::{Span as _, Status, TraceContextExt, Tracer as _, TracerProvider as _},
};
use opentelemetry_sdk::{
    Resource,
    trace::{SdkTracer, SdkTracerProvider, Span},
};

/// The longest one export may take (the last one, when the bot stops, too).
pub const EXPORT_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The tracer, and the provider to flush when the bot stops.
pub struct Traces {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

/// The attributes of a decision's span.
pub const REQUEST_ID: &str = "lockbox.request_id";
pub const SUBSCRIPTION: &str = "lockbox.subscription";
pub const RULE: &str = "lockbox.rule";
pub const OUTCOME: &str = "lockbox.outcome";
/// The service's own id of the request that carried the decision (`x-ms-request-id`).
pub const SERVICE_REQUEST_ID: &str = "az.service_request_id";
/// The id Resource Manager correlates the call by (`x-ms-correlation-request-id`).
pub const CORRELATION_ID: &str = "az.correlation_request_id";

impl Traces {
    /// The exporter the `OTEL_*` environment describes, or `None` when no OTLP endpoint is set.
    pub fn from_env() -> Result<Option<Self>, String> {
        let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
        if !set("OTEL_EXPORTER_OTLP_ENDPOINT") && !set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            return Ok(None);
        }
        use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_http_client(super::export::Sender::new(EXPORT_LIMIT)?)
            .build()
            .map_err(|e| format!("cannot make the OpenTelemetry exporter: {e}"))?;
        let resource = if set("OTEL_SERVICE_NAME") {
            Resource::builder().build()
        } else {
            Resource::builder().with_service_name("lockbox-policy").build()
        };
        let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
        let tracer = provider.tracer("lockbox");
        Ok(Some(Self { provider, tracer }))
    }

    /// Starts a pass's span; its context is the parent of the pass's decisions.
    pub fn pass(&self) -> Context {
        Context::new().with_span(self.tracer.start("policy pass"))
    }

    /// Ends a pass's span.
    pub fn pass_finished(pass: &Context, failure: Option<&str>) {
        let span = pass.span();
        if let Some(reason) = failure {
            span.set_status(Status::error(reason.to_owned()));
        }
        span.end();
    }

    /// Starts a decision's span under `parent` (the pass), with the request's ids.
    pub fn decision(&self, parent: &Context, subscription: &str, request: &str) -> Span {
        let mut span = self.tracer.start_with_context("policy decision", parent);
        span.set_attribute(KeyValue::new(SUBSCRIPTION, subscription.to_owned()));
        span.set_attribute(KeyValue::new(REQUEST_ID, request.to_owned()));
        span
    }

    /// Ends a decision's span with its outcome and the service's ids for the call that carried it.
    pub fn decision_finished(mut span: Span, outcome: &str, rule: &str, ids: &super::ServiceIds<'_>) {
        span.set_attribute(KeyValue::new(OUTCOME, outcome.to_owned()));
        span.set_attribute(KeyValue::new(RULE, rule.to_owned()));
        for (key, value) in [(SERVICE_REQUEST_ID, ids.service_request_id), (CORRELATION_ID, ids.correlation_id)] {
            if let Some(value) = value {
                span.set_attribute(KeyValue::new(key, value.to_owned()));
            }
        }
        if let Some(error) = ids.error {
            span.set_status(Status::error(error.to_owned()));
        }
        span.end();
    }

    /// Sends what is left and stops the exporter (blocking: call it off the async threads).
    pub fn shutdown(&self) {
        if let Err(error) = self.provider.shutdown() {
            say!("lockbox: cannot send the last traces: {error}");
        }
    }
}

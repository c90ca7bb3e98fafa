//! Receivers on the loopback, in this process: an OTLP/HTTP trace collector and a webhook.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use opentelemetry_proto::tonic::{collector::trace::v1::ExportTraceServiceRequest, trace::v1::Span};
use prost::Message;

/// Serves `app` on a free loopback port.
async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// An OTLP/HTTP collector: keeps every span posted to `/v1/traces`.
#[derive(Clone, Default)]
pub struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
}

impl Collector {
    /// Starts it; gives the endpoint to set as `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub async fn start() -> (Self, String) {
        let collector = Self::default();
        let app = Router::new().route("/v1/traces", post(Self::export)).with_state(collector.clone());
        (collector, format!("http://{}", serve(app).await))
    }

    async fn export(State(collector): State<Self>, body: Bytes) -> (StatusCode, Vec<u8>) {
        let Ok(request) = ExportTraceServiceRequest::decode(body) else {
            return (StatusCode::BAD_REQUEST, Vec::new());
        };
        let spans = request.resource_spans.into_iter().flat_map(|r| r.scope_spans).flat_map(|s| s.spans);
        collector.spans.lock().unwrap().extend(spans);
        // An empty ExportTraceServiceResponse.
        (StatusCode::OK, Vec::new())
    }

    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }
}

/// One POST the webhook received.
#[derive(Debug, Clone)]
pub struct Posted {
    pub key: Option<String>,
    pub body: serde_json::Value,
    /// The status it was answered with.
    pub status: u16,
}

/// A webhook that answers each POST with the next status of its script (then 200), and keeps what it got.
#[derive(Clone, Default)]
pub struct Webhook {
    script: Arc<Mutex<VecDeque<u16>>>,
    posted: Arc<Mutex<Vec<Posted>>>,
}

impl Webhook {
    /// Starts it; gives its URL.
    pub async fn start(script: &[u16]) -> (Self, String) {
        let webhook = Self { script: Arc::new(Mutex::new(script.iter().copied().collect())), ..Self::default() };
        let app = Router::new().route("/hooks/lockbox", post(Self::receive)).with_state(webhook.clone());
        (webhook, format!("http://{}/hooks/lockbox", serve(app).await))
    }

    async fn receive(State(webhook): State<Self>, headers: HeaderMap, body: Bytes) -> StatusCode {
        let status = webhook.script.lock().unwrap().pop_front().unwrap_or(200);
        let key = headers.get("idempotency-key").map(|v| v.to_str().unwrap().to_owned());
        let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        webhook.posted.lock().unwrap().push(Posted { key, body, status });
        StatusCode::from_u16(status).unwrap()
    }

    pub fn posted(&self) -> Vec<Posted> {
        self.posted.lock().unwrap().clone()
    }
}

//! The HTTP client the trace exporter sends with: the one `reqwest` 0.13 of the workspace (with its TLS), not a
//! second copy. opentelemetry-otlp 0.31 ships clients for `reqwest` 0.12 only; its [`HttpClient`] trait is the
//! seam for another, and this is that seam filled as its own 0.12 one is.
//!
//! The batch span processor exports from a thread of its own, where no async runtime runs: each send is
//! spawned on the bot's Tokio runtime, and awaited from that thread.

use bytes::Bytes;
use http::{Request, Response};
use opentelemetry_http::{HttpClient, HttpError};

/// A `reqwest` client, and the runtime its sends run on.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl Sender {
    /// A client with `timeout` per export, on the current Tokio runtime (call it from the runtime).
    pub fn new(timeout: std::time::Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot make the OpenTelemetry exporter's HTTP client: {e}"))?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| e.to_string())?;
        Ok(Self { client, runtime })
    }
}

#[async_trait::async_trait]
impl HttpClient for Sender {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let sent = self.runtime.spawn(async move {
            let request = reqwest::Request::try_from(request)?;
            let mut answer = client.execute(request).await?.error_for_status()?;
            let headers = std::mem::take(answer.headers_mut());
            let mut response = Response::builder().status(answer.status()).body(answer.bytes().await?)?;
            *response.headers_mut() = headers;
            Ok::<_, HttpError>(response)
        });
        sent.await?
    }
}

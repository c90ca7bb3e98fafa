//! The options of `policy run` as a service: its endpoints and its notifications (botops).

use clap::Args;

/// How `policy run` runs as a service: its endpoints and where a request left for a person is announced.
/// Traces are asked for with the standard OTEL_EXPORTER_OTLP_ENDPOINT, not an option.
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Running as a service")]
pub struct AsService {
    /// Serve GET /healthz (200 while the loop is alive), /readyz (200 once a token was obtained and the last
    /// pass succeeded within three intervals; else 503 and why) and /metrics (Prometheus text) on this address,
    /// e.g. 127.0.0.1:9464 (port 0: a free port, said on stderr). Traces go out through OpenTelemetry when
    /// OTEL_EXPORTER_OTLP_ENDPOINT is set.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Run this shell command for each request left for a person, with a JSON body on its standard input and
    /// LOCKBOX_IDEMPOTENCY_KEY in its environment; tried again with backoff while it exits non-zero.
    #[arg(long, value_name = "CMD", conflicts_with = "notify_url")]
    pub notify_command: Option<String>,
    /// POST a JSON body to this http(s) URL for each request left for a person, with an Idempotency-Key
    /// header; tried again with backoff on a connection error, 408, 429 or 5xx.
    #[arg(long, value_name = "URL", value_parser = parse_webhook)]
    pub notify_url: Option<url::Url>,
}

fn parse_webhook(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(url),
        _ => Err("the webhook must be an http:// or https:// URL with a host".into()),
    }
}

//! The options of `policy run` as a service (its endpoints and its notifications), and what its help says
//! about signals and recovery.

use clap::Args;

/// What `policy run --help` says about signals and recovery (a literal, for `concat!`).
macro_rules! signals_and_recovery {
    () => {
        "Signals: the first SIGTERM or SIGINT (Ctrl-C) stops the bot taking new requests; the decision in flight\n\
         finishes and its outcome line is written (after 20s without an answer it is written as `outcome unknown`),\n\
         and the loop ends within 25s of the signal; then the bot waits at most 10s for the notifications in\n\
         flight and sends its last traces (at most 10s), and exits 0: within 45s in all.\n\
         A second signal exits at once (status 130 for SIGINT, 143 for SIGTERM). With --listen, /readyz answers\n\
         503 \"the bot is stopping\" from the first signal on.\n\n\
         Recovery: at start, before any new decision, every intent line of the --audit FILE with no outcome (a kill,\n\
         a second signal) is settled: the request is read and an outcome line with \"reconciled\": true says what\n\
         became of it (counted in /metrics as lockbox_policy_intents_settled_total). Replicas on the same scope are\n\
         safe: the service refuses a second decision, and the bot whose decision was refused writes \"decided by\n\
         another\".\n\n"
    };
}

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

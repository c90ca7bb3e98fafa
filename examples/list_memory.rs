//! Peak memory of listing N requests, for N = 10 000, 100 000 and 1 000 000 (or the counts given).
//!
//! ```text
//! cargo run --release --example list_memory            # 10000 100000 1000000
//! cargo run --release --example list_memory -- 5000 50000
//! ```
//!
//! Each count runs in a fresh child process (this program run again with `--child N`), so the peaks are
//! independent. The child serves `Requests_List` on loopback from a tiny server that synthesizes page `k` (100
//! items) from the `$skipToken` alone, so neither side ever holds N items; it lists them all through the SDK's
//! `Listing`, one item at a time, and prints its peak resident set size (`VmHWM` in `/proc/self/status`, Linux
//! only). The peak should not grow with N: the pager holds one page.

mod measure;

use std::{process::ExitCode, sync::Arc, time::Instant};

use axum::{
    Router,
    extract::{RawQuery, State},
    response::IntoResponse,
    routing::get,
};
use azure_customer_lockbox::{CustomerLockboxClient, CustomerLockboxClientOptions, StaticTokenCredential};

const SUBSCRIPTION: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
const PAGE: usize = 100;
const DEFAULT_COUNTS: [usize; 3] = [10_000, 100_000, 1_000_000];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let Some(n) = args.get(1).and_then(|n| n.parse().ok()) else {
            eprintln!("usage: list_memory --child N");
            return ExitCode::FAILURE;
        };
        return child(n);
    }
    let counts: Vec<usize> = if args.is_empty() {
        DEFAULT_COUNTS.to_vec()
    } else {
        match args.iter().map(|a| a.replace('_', "").parse()).collect() {
            Ok(counts) => counts,
            Err(_) => {
                eprintln!("usage: list_memory [N ...]");
                return ExitCode::FAILURE;
            }
        }
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("cannot find this program: {e}");
            return ExitCode::FAILURE;
        }
    };
    for n in counts {
        match std::process::Command::new(&exe).arg("--child").arg(n.to_string()).status() {
            Ok(status) if status.success() => {}
            Ok(status) => {
                eprintln!("child for {n} items failed: {status}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("cannot run the child for {n} items: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// Lists `n` items from a synthesizing server in this process and prints the peak RSS.
fn child(n: usize) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(list(n)) {
        Ok((listed, seconds)) => {
            let peak = measure::peak_rss_kib()
                .map_or_else(|| "unknown".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
            println!("list {listed} items: peak RSS {peak}, {seconds:.1} s");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("listing {n} items failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn list(n: usize) -> Result<(usize, f64), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route(&format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.CustomerLockbox/requests"), get(page))
        .with_state(Arc::new(Server { total: n, base: base.clone() }));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let options = CustomerLockboxClientOptions::for_endpoint(&base)?;
    let client = CustomerLockboxClient::new(StaticTokenCredential::new("bench-token"), Some(options))?;
    let requests = client.requests(SUBSCRIPTION)?;
    let started = Instant::now();
    let mut pager = requests.list(None);
    let mut listed = 0usize;
    while let Some(request) = pager.try_next().await? {
        if request.request_id().is_some() {
            listed += 1;
        }
    }
    Ok((listed, started.elapsed().as_secs_f64()))
}

struct Server {
    total: usize,
    base: String,
}

/// Page `k` (from `$skipToken=k`) of `total` synthetic requests, with a `nextLink` unless it is the last.
async fn page(State(server): State<Arc<Server>>, RawQuery(query): RawQuery) -> impl IntoResponse {
    let k: usize = query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("$skipToken=").or_else(|| pair.strip_prefix("%24skipToken=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let start = k.saturating_mul(PAGE).min(server.total);
    let end = start.saturating_add(PAGE).min(server.total);
    let value: Vec<serde_json::Value> = (start..end).map(item).collect();
    let mut body = serde_json::json!({ "value": value });
    if end < server.total {
        body["nextLink"] = serde_json::json!(format!(
            "{}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.CustomerLockbox/requests?api-version=2018-02-28-preview&$skipToken={}",
            server.base,
            k + 1
        ));
    }
    axum::Json(body)
}

/// A realistic request, about 900 bytes of JSON.
fn item(i: usize) -> serde_json::Value {
    let id = format!("{i:08x}-0000-4000-8000-000000000000");
    serde_json::json!({
        "id": format!("/subscriptions/{SUBSCRIPTION}/providers/Microsoft.CustomerLockbox/requests/{id}"),
        "name": id,
        "type": "requests",
        "properties": {
            "requestId": id,
            "justification": "Investigating an unexpected reboot loop reported in the support case; need to read boot diagnostics.",
            "status": "Pending",
            "createdDateTime": "2026-11-28T10:00:00Z",
            "expirationDateTime": "2026-12-02T10:00:00Z",
            "duration": "8",
            "resourceIds": format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-{i}"),
            "resourceType": "Virtual Machine",
            "supportRequest": "2611280010001234",
            "supportCaseUrl": "https://portal.azure.com/#support",
            "workitemsource": "SupportRequest",
            "subscriptionId": SUBSCRIPTION,
            "accessLevel": "Read"
        }
    })
}

//! The HTTP endpoints of `--listen ADDR`: `GET /healthz`, `GET /readyz` and `GET /metrics` (axum).

use std::{net::SocketAddr, time::Instant};

use axum::{Router, extract::State, http::StatusCode, http::header, response::IntoResponse, routing::get};

use super::{Observer, health};

/// The paths served, for the deploy recipes' test and the help text.
pub const PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Binds `addr` and serves the endpoints in a task of their own; the address bound (its port, when 0 was
/// given) is returned.
pub async fn serve(addr: SocketAddr, observer: Observer) -> Result<SocketAddr, String> {
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("--listen {addr}: cannot listen there: {e}"))?;
    let bound = listener.local_addr().map_err(|e| format!("--listen {addr}: {e}"))?;
    let app = Router::new()
        .route(PATHS[0], get(healthz))
        .route(PATHS[1], get(readyz))
        .route(PATHS[2], get(metrics))
        .with_state(observer);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            say!("lockbox: the endpoints on {bound} stopped: {error}");
        }
    });
    Ok(bound)
}

fn answer(verdict: Result<(), String>) -> (StatusCode, String) {
    match verdict {
        Ok(()) => (StatusCode::OK, "ok\n".into()),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")),
    }
}

async fn healthz(State(observer): State<Observer>) -> impl IntoResponse {
    let state = observer.health();
    answer(health::liveness(&state, Instant::now(), observer.0.interval))
}

async fn readyz(State(observer): State<Observer>) -> impl IntoResponse {
    let state = observer.health();
    answer(health::readiness(&state, observer.0.token.obtained(), Instant::now(), observer.0.interval))
}

async fn metrics(State(observer): State<Observer>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        observer.0.metrics.encode(),
    )
}

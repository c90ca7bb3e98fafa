//! The HTTP/1.1 server: an own accept loop so that a handler can drop its connection without a response.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service as _;

use super::routes::ConnectionKill;
use super::state::Shared;
use super::{admin, envelope, routes};

/// How long a graceful shutdown waits for in-flight requests.
const GRACE: Duration = Duration::from_secs(5);

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    admin::routes()
        .fallback(routes::dispatch)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), envelope::arm_envelope))
        .with_state(shared)
}

/// Accepts connections until `shutdown` is cancelled, then waits (bounded) for open connections.
pub(crate) async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) {
    let tracker = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::debug!(%error, "emulator accept failed");
                // E.g. too many open files: back off briefly instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tracker.spawn(connection(stream, router.clone(), shutdown.clone()));
    }
    tracker.close();
    let _ = tokio::time::timeout(GRACE, tracker.wait()).await;
}

async fn connection(stream: tokio::net::TcpStream, router: Router, shutdown: CancellationToken) {
    let kill = CancellationToken::new();
    let handle = ConnectionKill(kill.clone());
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(handle.clone());
        let mut router = router.clone();
        async move { router.call(request).await }
    });
    let conn =
        hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "emulator connection ended with an error");
            }
        }
        () = kill.cancelled() => {
            // Dropping the connection future closes the socket: the client sees no response at all.
        }
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(GRACE, conn.as_mut()).await;
        }
    }
}

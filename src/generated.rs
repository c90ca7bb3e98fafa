//! The progenitor-generated clients, built by `build.rs` from `specs/customer-lockbox/2018-02-28-preview.json`
//! and, in [`subscriptions`], from `specs/arm-subscriptions/2022-12-01.json`. Generated code: never edited. The crate exposes it only through `models` and the hand-written clients.
//!
//! The generated client's inner type is [`Pipeline`], and its hooks below hand every request to it: the
//! generated code depends on `pipeline`, never the reverse. A generated client is built for each call, on
//! the pipeline value that carries the call's context (`Client::on`).
#![allow(missing_docs, unreachable_pub, dead_code, unused_imports, clippy::all, rustdoc::all)]

include!(concat!(env!("OUT_DIR"), "/codegen.rs"));

use crate::{operation::Operation, pipeline::Pipeline};

/// What both generated clients get, written once: `Client::on`, which builds the generated client of one call
/// on the call's pipeline (see `Pipeline::for_call`), so its hooks record what the call learns in that call's
/// context (a copy of the base URL and two reference counts); and the hooks, which hand every request to the
/// pipeline through [`pre`] and [`exec`].
macro_rules! calls_through_the_pipeline {
    ($client:ty) => {
        impl $client {
            pub(crate) fn on(pipeline: Pipeline) -> Self {
                let settings = pipeline.settings();
                let (baseurl, client) = (settings.generated_base.clone(), settings.http.clone());
                Self { baseurl, client, inner: pipeline }
            }
        }

        impl progenitor_client::ClientHooks<Pipeline> for $client {
            async fn pre<E>(
                &self,
                request: &mut reqwest::Request,
                info: &progenitor_client::OperationInfo,
            ) -> std::result::Result<(), progenitor_client::Error<E>> {
                pre(&self.inner, request, info).await
            }

            // Not `async fn`, here and in `exec` below: each would be a future of its own around the pipeline's,
            // holding the request a second time (see `Pipeline::send`).
            fn exec(
                &self,
                request: reqwest::Request,
                info: &progenitor_client::OperationInfo,
            ) -> impl Future<Output = reqwest::Result<reqwest::Response>> {
                exec(&self.inner, request, info)
            }
        }
    };
}

calls_through_the_pipeline!(Client);
calls_through_the_pipeline!(subscriptions::Client);

/// Resource Manager's `Subscriptions_List`, generated with the same settings and hooks as the Lockbox client.
pub(crate) mod subscriptions {
    include!(concat!(env!("OUT_DIR"), "/codegen_subscriptions.rs"));
}

/// The `pre` hook of both generated clients: refuses an operation the SDK does not know, then hands the request
/// to the pipeline (origin check, token).
async fn pre<E>(
    pipeline: &Pipeline,
    request: &mut reqwest::Request,
    info: &progenitor_client::OperationInfo,
) -> std::result::Result<(), progenitor_client::Error<E>> {
    if Operation::from_id(info.operation_id).is_none() {
        let message = format!("operation {} is not known to the SDK", info.operation_id);
        return Err(progenitor_client::Error::Custom(message));
    }
    pipeline.prepare(request, false).await.map_err(progenitor_client::Error::Custom)
}

/// The `exec` hook of both generated clients: sends through the pipeline (headers, retries).
fn exec<'a>(
    pipeline: &'a Pipeline,
    request: reqwest::Request,
    info: &progenitor_client::OperationInfo,
) -> impl Future<Output = reqwest::Result<reqwest::Response>> + 'a {
    // `pre` refused an operation the enum does not know; were one to get here, it is never resent.
    let operation = Operation::from_id(info.operation_id).unwrap_or(Operation::RequestsUpdateStatus);
    pipeline.send(request, operation)
}

//! The crate-private core every per-resource client, pager, poller and watch works with: the client's
//! [`Pipeline`] (settings, token cache, the request path), and the calls made through it with the generated
//! clients (typed request builders), each built for its call (`generated::Client::on`).
//!
//! Only `client.rs` makes one.

use progenitor_client::ResponseValue;
use serde::de::DeserializeOwned;

use crate::{
    error::{CallMeta, Result},
    generated,
    operation::Operation,
    pipeline::{LinkKind, Pipeline, Sent},
    read::ReadOptions,
};

/// The client's pipeline: cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Core(Pipeline);

impl Core {
    pub(crate) fn new(pipeline: Pipeline) -> Self {
        Self(pipeline)
    }

    /// The request path and the client's settings.
    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.0
    }

    /// The api-version every request carries.
    pub(crate) fn api_version(&self) -> &str {
        &self.0.settings().api_version
    }

    /// Sends a generated Lockbox read as one call; see [`Pipeline::read`]. `send` is handed the call's
    /// generated client (again for a resend) and sends the operation on it:
    /// `|api| async move { api.requests_get()…send().await }`.
    pub(crate) async fn read<T, F: Future<Output = Sent<T>>>(
        &self,
        operation: Operation,
        send: impl FnMut(generated::Client) -> F,
    ) -> Result<T> {
        Ok(self.read_with_meta(operation, &ReadOptions::default(), send).await?.0)
    }

    /// [`Self::read`] with a caller's [`ReadOptions`] (its time limit), and what the call learned on its way
    /// (ids, attempts).
    pub(crate) async fn read_with_meta<T, F: Future<Output = Sent<T>>>(
        &self,
        operation: Operation,
        options: &ReadOptions,
        mut send: impl FnMut(generated::Client) -> F,
    ) -> Result<(T, CallMeta)> {
        let limit = options.timeout.or(self.0.settings().call_timeout);
        let on = |call: Pipeline| send(generated::Client::on(call));
        let (result, meta) = self.0.read_within(operation, limit, on).await;
        Ok((result?.into_inner(), meta))
    }

    /// Sends a generated read of Resource Manager's Subscriptions API as one call; see [`Self::read`].
    pub(crate) async fn read_subscriptions<T, F: Future<Output = Sent<T>>>(
        &self,
        operation: Operation,
        mut send: impl FnMut(generated::subscriptions::Client) -> F,
    ) -> Result<T> {
        let on = |call: Pipeline| send(generated::subscriptions::Client::on(call));
        Ok(self.0.read(operation, on).await.0?.into_inner())
    }

    /// GETs the next page of a listing at `link`; see [`Pipeline::get_json`].
    pub(crate) async fn next_page<T: DeserializeOwned>(&self, listing: Operation, link: &str) -> Result<T> {
        let operation = listing.next_page().unwrap_or(listing);
        let result: (Result<ResponseValue<T>>, CallMeta) = self.0.get_json(operation, LinkKind::NextLink, link).await;
        Ok(result.0?.into_inner())
    }
}

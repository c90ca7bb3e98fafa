//! The crate-private core every per-resource client, pager, poller and watch works with: the generated client
//! (typed request builders) with its [`Pipeline`] (settings, token cache, the request path).
//!
//! Only `client.rs` makes one.

use std::sync::Arc;

use progenitor_client::ResponseValue;
use serde::de::DeserializeOwned;

use crate::{
    error::{CallMeta, Result},
    generated,
    operation::Operation,
    pipeline::{LinkKind, Pipeline},
};

/// The generated clients and their pipeline, behind one `Arc`: cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Core(Arc<Clients>);

/// The two generated clients, sharing one pipeline.
#[derive(Debug)]
struct Clients {
    lockbox: generated::Client,
    subscriptions: generated::subscriptions::Client,
}

type Sent<T> = std::result::Result<ResponseValue<T>, progenitor_client::Error<()>>;

impl Core {
    pub(crate) fn new(pipeline: Pipeline) -> Self {
        let settings = pipeline.settings();
        let baseurl = settings.operation_base.as_str().trim_end_matches('/').to_owned();
        let http = settings.http.clone();
        let subscriptions = generated::subscriptions::Client::new_with_client(&baseurl, http.clone(), pipeline.clone());
        Self(Arc::new(Clients { lockbox: generated::Client::new_with_client(&baseurl, http, pipeline), subscriptions }))
    }

    /// The generated client: one request builder per operation.
    pub(crate) fn api(&self) -> &generated::Client {
        &self.0.lockbox
    }

    /// The generated client of Resource Manager's `Subscriptions_List`.
    pub(crate) fn subscriptions_api(&self) -> &generated::subscriptions::Client {
        &self.0.subscriptions
    }

    /// The request path and the client's settings.
    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.0.lockbox.inner
    }

    /// The api-version every request carries.
    pub(crate) fn api_version(&self) -> &str {
        &self.pipeline().settings().api_version
    }

    /// Sends a generated read (`send` makes its future, again for a resend) as one call; see [`Pipeline::read`].
    pub(crate) async fn read<T, F>(&self, operation: Operation, send: impl FnMut() -> F) -> Result<T>
    where
        F: Future<Output = Sent<T>>,
    {
        Ok(self.pipeline().read(operation, send).await.0?.into_inner())
    }

    /// [`Self::read`], with what the call learned on its way (ids, attempts).
    pub(crate) async fn read_with_meta<T, F>(
        &self,
        operation: Operation,
        send: impl FnMut() -> F,
    ) -> Result<(T, CallMeta)>
    where
        F: Future<Output = Sent<T>>,
    {
        let (result, meta) = self.pipeline().read(operation, send).await;
        Ok((result?.into_inner(), meta))
    }

    /// GETs the next page of a listing at `link`; see [`Pipeline::get_json`].
    pub(crate) async fn next_page<T: DeserializeOwned>(&self, listing: Operation, link: &str) -> Result<T> {
        let operation = listing.next_page().unwrap_or(listing);
        let result: (Result<ResponseValue<T>>, CallMeta) =
            self.pipeline().get_json(operation, LinkKind::NextLink, link).await;
        Ok(result.0?.into_inner())
    }
}

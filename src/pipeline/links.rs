//! GETs of URLs the service handed out: next pages (`nextLink`) and polls. Each is checked first (see
//! `urls.rs`), then sent as a read through the same hooks, with a call context, as every generated operation.

use progenitor_client::ResponseValue;
use reqwest::{
    Response, StatusCode,
    header::{ACCEPT, HeaderValue},
};
use serde::de::DeserializeOwned;
use url::Url;

use super::{LinkKind, Pipeline, Sent, body::body};
use crate::{
    error::{CallMeta, Result},
    operation::Operation,
};

impl Pipeline {
    /// GETs a JSON document (a page) from a link the service handed out; a status other than 200 is an error.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        operation: Operation,
        kind: LinkKind,
        link: &str,
    ) -> (Result<ResponseValue<T>>, CallMeta) {
        self.get_link(operation, kind, link, async |response: Response| {
            if response.status() == StatusCode::OK {
                ResponseValue::from_response(response).await
            } else {
                Err(progenitor_client::Error::UnexpectedResponse(response))
            }
        })
        .await
    }

    /// GETs a link the service handed out (a polling URL), and returns any 2xx answer as it came: status,
    /// headers and body. Other statuses are errors.
    pub(crate) async fn get_raw(
        &self,
        operation: Operation,
        kind: LinkKind,
        link: &str,
    ) -> (Result<ResponseValue<bytes::Bytes>>, CallMeta) {
        self.get_link(operation, kind, link, async |response: Response| {
            if !response.status().is_success() {
                return Err(progenitor_client::Error::UnexpectedResponse(response));
            }
            let (status, headers) = (response.status(), response.headers().clone());
            Ok(ResponseValue::new(body(response).await?, status, headers))
        })
        .await
    }

    /// Checks a link (see [`Self::service_url`]), GETs it as a read (see [`Self::read`]), and makes the call's
    /// value of each answer with `answer`.
    async fn get_link<T>(
        &self,
        operation: Operation,
        kind: LinkKind,
        link: &str,
        answer: impl AsyncFn(Response) -> Sent<T>,
    ) -> (Result<ResponseValue<T>>, CallMeta) {
        let api_version = operation.own_api_version().unwrap_or(&self.settings().api_version);
        let url = match self.service_url_with(kind, link, api_version) {
            Ok(url) => url,
            Err(e) => return (Err(e), CallMeta::default()),
        };
        let answer = &answer;
        let send = |call: Pipeline| {
            let url = url.clone();
            async move { answer(call.get(operation, url, kind.is_poll()).await?).await }
        };
        self.read(operation, send).await
    }

    /// Sends a GET to a checked service URL through the same hooks as every generated operation; a `poll` may go
    /// to an allowed poll origin.
    async fn get(
        &self,
        operation: Operation,
        url: Url,
        poll: bool,
    ) -> std::result::Result<Response, progenitor_client::Error<()>> {
        let request = self
            .settings()
            .http
            .get(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .build()
            .map_err(progenitor_client::Error::CommunicationError)?;
        self.prepare(&request, poll).await.map_err(progenitor_client::Error::Custom)?;
        self.send(request, operation).await.map_err(progenitor_client::Error::CommunicationError)
    }
}

//! Reading an answer's body within the client's `max_response_body`. A larger body is not read past the
//! limit: the call scope records it, and the call fails with `Error::ResponseTooLarge`.

use progenitor_client::ResponseValue;
use reqwest::Response;
use serde::de::DeserializeOwned;

use super::scope::with_call;

/// `ResponseValue::from_response` with the body capped: the generated operations call this for a 200 with a
/// body (`build.rs` puts it in place of progenitor's, which reads any body whole).
pub(crate) async fn response_value<T: DeserializeOwned, E>(
    response: Response,
) -> Result<ResponseValue<T>, progenitor_client::Error<E>> {
    let (status, headers) = (response.status(), response.headers().clone());
    let body = capped_body(response).await?;
    match serde_json::from_slice(&body) {
        Ok(inner) => Ok(ResponseValue::new(inner, status, headers)),
        Err(e) => Err(progenitor_client::Error::InvalidResponsePayload(body, e)),
    }
}

/// A response's body, read within the call's `max_response_body`.
pub(crate) async fn capped_body<E>(response: Response) -> Result<bytes::Bytes, progenitor_client::Error<E>> {
    let limit = with_call(|c| c.body_limit).unwrap_or(crate::DEFAULT_MAX_RESPONSE_BODY);
    match read_body(response, limit).await {
        Ok(Some(body)) => Ok(body),
        Ok(None) => {
            with_call(|c| c.body_too_large = true);
            Err(progenitor_client::Error::Custom(format!("response body larger than {limit} bytes")))
        }
        Err(error) => Err(progenitor_client::Error::ResponseBodyError(error)),
    }
}

/// Reads a body of at most `limit` bytes; `Ok(None)` when it is larger, declared or found so, in which case
/// reading stopped at the limit.
pub(super) async fn read_body(mut response: Response, limit: usize) -> reqwest::Result<Option<bytes::Bytes>> {
    match response.content_length() {
        Some(length) if length > limit as u64 => return Ok(None),
        // The body cannot outgrow its declared length: the HTTP layer ends it there.
        Some(_) => return response.bytes().await.map(Some),
        None => {}
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

//! An answer's body, capped at the client's `max_response_body` where it is received: the `exec` hook
//! ([`Pipeline::send`](super::Pipeline::send)) hands back every response with its body wrapped by [`capped`],
//! so whoever reads it (progenitor's generated code, the poller, the error decoder) reads at most the limit,
//! and a larger body fails to read with an error [`too_large`] recognises. The call then ends with
//! `Error::ResponseTooLarge`.

use http_body_util::{LengthLimitError, Limited};
use reqwest::{Response, ResponseBuilderExt};

/// `response` with its body capped at `limit` bytes. A body that declares a larger length fails at its first
/// byte; one that grows past the limit fails there, never having held more than `limit` bytes.
pub(super) fn capped(response: Response, limit: usize) -> Response {
    let declared_too_large = response.content_length().is_some_and(|length| length > limit as u64);
    let url = response.url().clone();
    let (mut parts, body) = http::Response::from(response).into_parts();
    // `From<http::Response>` takes the URL from an extension only `ResponseBuilderExt` can set: keep it.
    if let Ok(with_url) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(with_url.into_parts().0.extensions);
    }
    let limit = if declared_too_large { 0 } else { limit };
    Response::from(http::Response::from_parts(parts, reqwest::Body::wrap(Limited::new(body, limit))))
}

/// Whether reading a body failed because it was larger than the client's `max_response_body`.
pub(crate) fn too_large(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if error.is::<LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// A response's body (capped by [`capped`]); `Ok(None)` when it was larger than the limit.
pub(super) async fn read_body(response: Response) -> reqwest::Result<Option<bytes::Bytes>> {
    match response.bytes().await {
        Ok(body) => Ok(Some(body)),
        Err(error) if too_large(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

/// A response's body, as progenitor's generated code reads it (its error type).
pub(crate) async fn body<E>(response: Response) -> Result<bytes::Bytes, progenitor_client::Error<E>> {
    response.bytes().await.map_err(progenitor_client::Error::ResponseBodyError)
}

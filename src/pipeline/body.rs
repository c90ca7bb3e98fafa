//! An answer as it enters the crate: the `exec` hook ([`Pipeline::send`](super::Pipeline::send)) hands back
//! every response through [`entering`], so whoever reads it (progenitor's generated code, the poller, the error
//! decoder) reads header values and a body that are redacted (`src/error/redact.rs`), and at most the client's
//! `max_response_body`: a larger body fails to read with an error [`too_large`] recognises, and the call ends
//! with `Error::ResponseTooLarge`.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};
use http_body_util::{LengthLimitError, Limited};
use reqwest::{Response, ResponseBuilderExt, header::HeaderValue};

use crate::{
    auth::token_bytes,
    error::{Pieces, Prepared, Redactor},
};

/// `response` as the crate may read it: its header values redacted, its body capped at `limit` bytes and
/// redacted whole, of `token` (the `Authorization` value the request carried: whole or in pieces, plain or
/// escaped) and of anything `Bearer …`, with `pieces` when the caller has them for that token. A body that
/// declares a larger length fails at its first byte; one that grows past the limit fails there, never having
/// held more than `limit` bytes.
pub(super) fn entering(
    response: Response,
    limit: usize,
    token: Option<&HeaderValue>,
    pieces: Option<Arc<Pieces>>,
) -> Response {
    let redactor = Redactor::reusing(token.map(token_bytes), pieces.map(Prepared::from).unwrap_or_default());
    let declared = response.content_length();
    let declared_too_large = declared.is_some_and(|length| length > limit as u64);
    // The response's URL goes along in the extension reqwest reads it back from: without it, the conversion
    // back to a `reqwest::Response` parses a stand-in URL for every answer, a fiftieth of a small
    // `Requests_Get`'s instructions (callgrind, `BENCH_PROFILE=sdk-get`; BENCHMARKS.md).
    let url = http::Response::builder().url(response.url().clone()).body(()).map(|r| r.into_parts().0.extensions);
    let (mut parts, body) = http::Response::from(response).into_parts();
    parts.extensions.extend(url.unwrap_or_default());
    for value in parts.headers.values_mut() {
        if let Some(clean) = redactor.header(value) {
            *value = clean;
        }
    }
    let limit = if declared_too_large { 0 } else { limit };
    // The declared length (within the limit) is room made once: gathering a 74 KB page into a growing buffer
    // copied it about twice over (`cargo bench --bench overhead`, `list 100k`).
    let room = declared.and_then(|length| usize::try_from(length).ok()).filter(|length| *length <= limit);
    let body = Redacted {
        inner: Limited::new(body, limit),
        received: Gathered::new(room.unwrap_or_default()),
        secret: token.cloned(),
        pieces: redactor.into_prepared(),
        ended: false,
    };
    Response::from(http::Response::from_parts(parts, reqwest::Body::wrap(body)))
}

/// A body that is handed on only whole, redacted: the frames are gathered (at most the limit, which `inner`
/// enforces) and come out as one, so a token split across frames is found all the same. An error (a cut
/// connection, the limit) passes through as it came.
struct Redacted {
    inner: Limited<reqwest::Body>,
    received: Gathered,
    /// The `Authorization` value the request carried (shares the token's wiped buffer; see `auth.rs`).
    secret: Option<HeaderValue>,
    /// What the headers' redactor learned of the token: the token cache's, or built at most once per answer.
    pieces: Prepared,
    ended: bool,
}

impl Body for Redacted {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        while !this.ended {
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    // Trailers carry nothing the crate reads: only data is kept.
                    if let Ok(data) = frame.into_data() {
                        this.received.push(data);
                    }
                }
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None => {
                    this.ended = true;
                    let received = std::mem::take(&mut this.received).into_bytes();
                    let pieces = std::mem::take(&mut this.pieces);
                    let redactor = Redactor::reusing(this.secret.as_ref().map(token_bytes), pieces);
                    return Poll::Ready(Some(Ok(Frame::data(redactor.body(received)))));
                }
            }
        }
        Poll::Ready(None)
    }
}

/// A body's frames as they come, joined into one buffer: a body that came as one frame is kept as it came
/// (not copied); one that came in several is copied once into room made for its declared length.
#[derive(Default)]
struct Gathered {
    first: Option<Bytes>,
    joined: BytesMut,
    declared: usize,
}

impl Gathered {
    fn new(declared: usize) -> Self {
        Self { first: None, joined: BytesMut::new(), declared }
    }

    fn push(&mut self, data: Bytes) {
        if self.first.is_none() && self.joined.is_empty() {
            self.first = Some(data);
            return;
        }
        if let Some(first) = self.first.take() {
            self.joined.reserve(self.declared.max(first.len().saturating_add(data.len())));
            self.joined.extend_from_slice(&first);
        }
        self.joined.extend_from_slice(&data);
    }

    fn into_bytes(self) -> Bytes {
        self.first.unwrap_or_else(|| self.joined.freeze())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_answer_keeps_its_url_and_its_body_as_it_enters() {
        let url = url::Url::parse("https://management.azure.com/subscriptions/s/requests/r?api-version=1").unwrap();
        let answer = http::Response::builder().url(url.clone()).body("{}").unwrap();
        let entered = entering(Response::from(answer), 1024, None, None);
        assert_eq!(entered.url(), &url);
        assert_eq!(entered.bytes().await.unwrap(), "{}");
    }
}

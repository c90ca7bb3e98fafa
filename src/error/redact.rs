//! The one redaction step, where text a server chose enters the crate: the `exec` hook
//! (`src/pipeline/hooks.rs`) passes every answer's header values and whole body (`src/pipeline/body.rs`)
//! through [`Redactor`], with the token that request carried, and shows the URL inside a transport error as
//! [`Redactor::url`] says. Nothing a server sent reaches the crate any other way, so what the crate keeps, logs
//! or returns (models, statuses, links, error bodies, request ids) is already clean: no error or log line needs
//! a redaction step of its own, and none has one.
//!
//! What is removed: every run of [`PIECE`] (8) or more of the token's characters in a row, whether the server
//! echoed it as sent, percent-encoded (either hex case, in full or in part), or JSON-escaped (`\u0065yJ…`, `\/`),
//! and whether it echoed the whole token or a piece of it (`pieces.rs` says why 8); and the credential after
//! each `Bearer `. Each is replaced by `<redacted>`, and no other byte changes: nothing is decoded for keeps.
//!
//! Redaction runs on whole bodies: only later are error bodies cut to [`BODY_KEPT`](super::BODY_KEPT), so a
//! token straddling the cut leaves nothing behind.

use std::{
    ops::Range,
    sync::{Arc, OnceLock},
};

use bytes::Bytes;
use reqwest::header::HeaderValue;
use url::Url;

mod pieces;

pub(crate) use pieces::{PIECE, Pieces};

const MASK: &[u8] = b"<redacted>";

/// `text` with every range [`spans`] finds replaced by `<redacted>`; every other byte as it was. The same
/// buffer when there is nothing to remove (the usual case).
fn redact(text: Bytes, secret: Option<&[u8]>, pieces: &Prepared) -> Bytes {
    let mut found = spans(&text, secret, pieces);
    if found.is_empty() {
        return text;
    }
    found.sort_unstable_by_key(|span| span.start);
    let mut out = Vec::with_capacity(text.len());
    let mut copied = 0;
    let mut sorted = found.into_iter().peekable();
    while let Some(mut span) = sorted.next() {
        // Ranges that overlap or touch are masked as one.
        while let Some(next) = sorted.next_if(|next| next.start <= span.end) {
            span.end = span.end.max(next.end);
        }
        out.extend_from_slice(text.get(copied..span.start).unwrap_or_default());
        out.extend_from_slice(MASK);
        copied = span.end;
    }
    out.extend_from_slice(text.get(copied..).unwrap_or_default());
    Bytes::from(out)
}

/// The byte ranges of `text` to mask: every run of [`PIECE`] or more characters of the token, as sent or
/// escaped (`pieces.rs`), and the credential after each `Bearer ` (any case). Unsorted; they may overlap.
fn spans(text: &[u8], secret: Option<&[u8]>, pieces: &Prepared) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    if let Some(secret) = secret.filter(|s| s.len() >= PIECE)
        && text.len() >= PIECE
    {
        pieces.get_or_init(|| Arc::new(Pieces::new(secret))).find(secret, text, &mut found);
    }
    let token_char = |b: &u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(b);
    for space in memchr::memchr_iter(b' ', text) {
        let scheme = space.checked_sub(6).and_then(|start| text.get(start..space));
        if scheme.is_some_and(|s| s.eq_ignore_ascii_case(b"bearer")) {
            let start = space.saturating_add(1);
            let len = text.get(start..).unwrap_or_default().iter().take_while(|b| token_char(b)).count();
            if len > 0 {
                found.push(start..start.saturating_add(len));
            }
        }
    }
    found
}

/// A redactor's [`Pieces`], built the first time a text long enough to hold a piece is looked at, or given
/// (`Prepared::from`): the pipeline builds them once per token, not once per answer (see `pipeline/hooks.rs`).
pub(crate) type Prepared = OnceLock<Arc<Pieces>>;

/// The redaction step, for one token (`None`: only `Bearer …` patterns are scrubbed).
pub(crate) struct Redactor<'a> {
    secret: Option<&'a [u8]>,
    pieces: Prepared,
}

impl<'a> Redactor<'a> {
    pub(crate) fn new(secret: Option<&'a [u8]>) -> Self {
        Self { secret, pieces: Prepared::new() }
    }

    /// A redactor for the same token as the one `pieces` was taken from ([`Self::into_prepared`]): an answer's
    /// body reuses what its headers' redactor built.
    pub(crate) fn reusing(secret: Option<&'a [u8]>, pieces: Prepared) -> Self {
        Self { secret, pieces }
    }

    /// What this redactor built for its token, for [`Self::reusing`].
    pub(crate) fn into_prepared(self) -> Prepared {
        self.pieces
    }

    /// Text that holds what a server chose, or a URL.
    fn text(&self, text: String) -> String {
        // `redact` hands back the same buffer when there is nothing to remove, so this usually copies nothing.
        String::from_utf8(Vec::from(redact(Bytes::from(text), self.secret, &self.pieces)))
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// An answer's whole body, as it entered.
    pub(crate) fn body(&self, body: Bytes) -> Bytes {
        redact(body, self.secret, &self.pieces)
    }

    /// An answer's header value, as it entered: `None` when there is nothing to remove (the usual case).
    pub(crate) fn header(&self, value: &HeaderValue) -> Option<HeaderValue> {
        if spans(value.as_bytes(), self.secret, &self.pieces).is_empty() {
            return None;
        }
        let clean = redact(Bytes::copy_from_slice(value.as_bytes()), self.secret, &self.pieces);
        Some(HeaderValue::from_maybe_shared(clean).unwrap_or(HeaderValue::from_static("<redacted>")))
    }

    /// A URL as an error or a log shows it: no query (it may carry anything: skip tokens, even secrets), no
    /// user info, no fragment, and its path redacted.
    pub(crate) fn url(&self, url: &Url) -> Url {
        let mut shown = url.clone();
        shown.set_query(None);
        shown.set_fragment(None);
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        let path = self.text(shown.path().to_owned());
        if path != shown.path() {
            shown.set_path(&path);
        }
        shown
    }

    /// A transport error with its URL shown as [`Self::url`] says (reqwest prints it in `Display` and `Debug`).
    pub(crate) fn transport(&self, mut error: reqwest::Error) -> reqwest::Error {
        if let Some(url) = error.url_mut() {
            *url = self.url(url);
        }
        error
    }
}

#[cfg(test)]
mod tests;

//! The one redaction step, where text a server chose enters the crate: the `exec` hook
//! (`src/pipeline/hooks.rs`) passes every answer's header values and whole body (`src/pipeline/body.rs`)
//! through [`Redactor`], with the token that request carried, and shows the URL inside a transport error as
//! [`Redactor::url`] says. Nothing a server sent reaches the crate any other way, so what the crate keeps, logs
//! or returns (models, statuses, links, error bodies, request ids) is already clean: no error or log line needs
//! a redaction step of its own, and none has one.
//!
//! Redaction runs on whole bodies: only later are error bodies cut to [`BODY_KEPT`](super::BODY_KEPT), so a
//! token straddling the cut leaves nothing behind.

use bytes::Bytes;
use reqwest::header::HeaderValue;
use url::Url;

const MASK: &[u8] = b"<redacted>";

/// Removes a token from a body a server echoed it in: the exact token (also percent-encoded), and anything
/// after `Bearer `.
fn redact(body: Bytes, secret: Option<&[u8]>) -> Bytes {
    if !may_hold(&body, secret) {
        return body;
    }
    let body = redact_raw(body, secret);
    // A token percent-encoded (in a link's path, say) is the token all the same: when the decoded text holds
    // it, the decoded text, redacted, is what is kept.
    if let Some(secret) = secret.filter(|s| s.len() >= 8)
        && body.contains(&b'%')
    {
        let decoded: Vec<u8> = percent_encoding::percent_decode(&body).collect();
        if decoded.windows(secret.len()).any(|w| w == secret) {
            return redact_raw(Bytes::from(decoded), Some(secret));
        }
    }
    body
}

/// Whether `body` may hold something [`redact`] removes: the token, plain or percent-encoded, or `bearer ` in
/// any case. Most answers hold none of these; this check (searches with the `memchr` crate) spares them the
/// byte-by-byte pass. It buys most of a listing's speed: a page's `nextLink` carries a `%24skipToken`, and
/// before this check looked at the text around each `%` only, every page was percent-decoded whole (a 100,000
/// request listing took 2.7 times the baseline instead of 1.1; `cargo bench --bench overhead`).
fn may_hold(body: &[u8], secret: Option<&[u8]>) -> bool {
    // A text shorter than the token cannot hold it, even percent-encoded (that only makes it longer): most
    // header values and small bodies are, and they skip building a searcher for a 1-2 KB token, which cost a
    // `Requests_Get` about a fifth of its time (`cargo bench --bench overhead`, get c=64: 1.51x without this
    // check, 1.19x with it).
    if let Some(secret) = secret.filter(|s| s.len() >= 8 && body.len() >= s.len())
        && (memchr::memmem::find(body, secret).is_some() || percent_encoded_in(body, secret))
    {
        return true;
    }
    memchr::memchr_iter(b' ', body).any(|space| {
        space.checked_sub(6).and_then(|start| body.get(start..space)).is_some_and(|w| w.eq_ignore_ascii_case(b"bearer"))
    })
}

/// Whether `secret` is in `body` percent-encoded (any of its characters, or all). Such a token lies in one run
/// of token characters and `%XX` escapes, so only the runs around each `%` are decoded, each once.
fn percent_encoded_in(body: &[u8], secret: &[u8]) -> bool {
    let in_run = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=%".contains(&b);
    let mut searched_to = 0;
    for percent in memchr::memchr_iter(b'%', body) {
        if percent < searched_to {
            continue;
        }
        let start = body[..percent].iter().rposition(|b| !in_run(*b)).map_or(0, |i| i.saturating_add(1));
        let end = body[percent..].iter().position(|b| !in_run(*b)).map_or(body.len(), |i| i.saturating_add(percent));
        searched_to = end;
        let decoded: Vec<u8> = percent_encoding::percent_decode(&body[start..end]).collect();
        if memchr::memmem::find(&decoded, secret).is_some() {
            return true;
        }
    }
    false
}

fn redact_raw(body: Bytes, secret: Option<&[u8]>) -> Bytes {
    let token_char = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b);
    let mut out = Vec::with_capacity(body.len());
    let mut rest: &[u8] = &body;
    let mut changed = false;
    while let Some((&first, after_first)) = rest.split_first() {
        if let Some(after) = secret.filter(|s| s.len() >= 8).and_then(|s| rest.strip_prefix(s)) {
            out.extend_from_slice(MASK);
            rest = after;
            changed = true;
        } else if let Some((scheme, after)) = rest.split_first_chunk::<7>()
            && scheme.eq_ignore_ascii_case(b"bearer ")
            && after.first().is_some_and(|b| token_char(*b))
        {
            out.extend_from_slice(scheme);
            out.extend_from_slice(MASK);
            let token_len = after.iter().take_while(|b| token_char(**b)).count();
            rest = after.get(token_len..).unwrap_or_default();
            changed = true;
        } else {
            out.push(first);
            rest = after_first;
        }
    }
    if changed { Bytes::from(out) } else { body }
}

/// [`redact`] for text.
fn redact_text(text: String, secret: Option<&[u8]>) -> String {
    // `redact` hands back the same buffer when there is nothing to remove, so this usually copies nothing.
    String::from_utf8(Vec::from(redact(Bytes::from(text), secret)))
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The redaction step, for one token (`None`: only `Bearer …` patterns are scrubbed).
#[derive(Clone, Copy)]
pub(crate) struct Redactor<'a> {
    secret: Option<&'a [u8]>,
}

impl<'a> Redactor<'a> {
    pub(crate) fn new(secret: Option<&'a [u8]>) -> Self {
        Self { secret }
    }

    /// Text that holds what a server chose, or a URL.
    fn text(&self, text: String) -> String {
        redact_text(text, self.secret)
    }

    /// An answer's whole body, as it entered.
    pub(crate) fn body(&self, body: Bytes) -> Bytes {
        redact(body, self.secret)
    }

    /// An answer's header value, as it entered: `None` when there is nothing to remove (the usual case).
    pub(crate) fn header(&self, value: &HeaderValue) -> Option<HeaderValue> {
        if !may_hold(value.as_bytes(), self.secret) {
            return None;
        }
        let clean = redact(Bytes::copy_from_slice(value.as_bytes()), self.secret);
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
mod tests {
    use super::*;

    #[test]
    fn echoed_tokens_are_redacted() {
        let body = Bytes::from_static(b"auth was Bearer abc.def-ghi and raw secret-token-123 end");
        let clean = redact(body, Some(b"secret-token-123"));
        assert_eq!(&clean[..], b"auth was Bearer <redacted> and raw <redacted> end");
        let untouched = Bytes::from_static(b"nothing here");
        assert_eq!(redact(untouched.clone(), None), untouched);
    }

    #[test]
    fn percent_encoded_tokens_are_redacted() {
        let body = Bytes::from_static(b"/next/%73ecret-token-123/page?x=%41");
        assert_eq!(&redact(body, Some(b"secret-token-123"))[..], b"/next/<redacted>/page?x=A");
        let plain = Bytes::from_static(b"/a%20b");
        assert_eq!(redact(plain.clone(), Some(b"secret-token-123")), plain, "no token: kept as it was");
    }

    #[test]
    fn bodies_are_redacted_before_they_are_cut() {
        let secret = b"secret-token-123";
        let mut body = vec![b'x'; super::super::BODY_KEPT - 8];
        body.extend_from_slice(secret);
        let kept = super::super::kept(Redactor::new(Some(secret)).body(Bytes::from(body)));
        assert_eq!(kept.len(), super::super::BODY_KEPT);
        assert!(kept.ends_with(b"<redacted>"[..8].as_ref()), "{:?}", &kept[super::super::BODY_KEPT - 10..]);
    }

    #[test]
    fn the_quick_check_lets_through_only_what_holds_nothing_to_remove() {
        let secret = Some(b"secret-token-123".as_slice());
        for (body, holds) in [
            (&b"{\"status\":\"Pending\",\"reason\":\"a b c\"}"[..], false),
            (b"x secret-token-123 y", true),
            (b"/next/%73ecret-token-123/page", true),
            (b"\"nextLink\":\"https://h/x?%24skipToken=abc\"", false),
            (b"auth: BeArEr abc", true),
            (b"bearer", false),
            (b" bearer", false),
        ] {
            assert_eq!(may_hold(body, secret), holds, "{}", String::from_utf8_lossy(body));
        }
        assert!(!may_hold(b"100%", None), "a percent sign matters only when there is a token to look for");
        assert!(may_hold(b"a %73%65cret-token-123 b", secret), "the token encoded in part");
        assert!(may_hold(b"%73%65%63%72%65%74%2d%74%6f%6b%65%6e%2d%31%32%33", secret), "the token encoded whole");
    }

    #[test]
    fn header_values_are_redacted_only_when_they_hold_something() {
        let redactor = Redactor::new(Some(b"secret-token-123"));
        assert!(redactor.header(&HeaderValue::from_static("4f0c-req-id")).is_none());
        let echoed = redactor.header(&HeaderValue::from_static("Bearer secret-token-123")).unwrap();
        assert_eq!(echoed, "Bearer <redacted>");
    }

    #[test]
    fn urls_lose_their_query_and_their_token() {
        let redactor = Redactor::new(Some(b"secret-token-123"));
        let url = Url::parse("https://u:p@h.example/next/secret-token-123/x?skip=secret-token-123#f").unwrap();
        assert_eq!(redactor.url(&url).as_str(), "https://h.example/next/%3Credacted%3E/x");
    }
}

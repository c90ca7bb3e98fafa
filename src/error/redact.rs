//! The one redaction step: scrubbing a token from everything a server chose (bodies, header values, links,
//! statuses) and from URLs inside transport errors, before it reaches an error or a log.
//!
//! Every error the crate returns passes through [`Redactor::error`] (the pipeline at the end of each call, the
//! poller, the pager and the URL checks for the errors they make), and every tracing event that shows text a
//! server chose or a URL uses [`Redactor::text`] or [`Redactor::transport_text`]. Redaction runs on whole
//! bodies: only then are error bodies cut to [`BODY_KEPT`], so a token straddling the cut leaves nothing behind.

use bytes::Bytes;
use url::Url;

use super::{ArmErrorDetail, Error, ServiceError};
use crate::status::LockboxRequestStatus;

/// How much of a body an error keeps (after redaction).
pub(crate) const BODY_KEPT: usize = 4096;

const MASK: &[u8] = b"<redacted>";

/// Removes a token from a body a server echoed it in: the exact token (also percent-encoded), and anything
/// after `Bearer `.
fn redact(body: Bytes, secret: Option<&[u8]>) -> Bytes {
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

/// [`redact`] for text (a header value, a URL a server handed out).
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

    /// Text a server chose, or that holds a URL.
    pub(crate) fn text(&self, text: String) -> String {
        redact_text(text, self.secret)
    }

    /// A body an error keeps: redacted whole, then cut to [`BODY_KEPT`].
    fn body(&self, body: Bytes) -> Bytes {
        let body = redact(body, self.secret);
        body.slice(..body.len().min(BODY_KEPT))
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

    /// A transport error's text for a log line, its URL shown as [`Self::url`] says.
    pub(crate) fn transport_text(&self, error: &reqwest::Error) -> String {
        let text = error.to_string();
        let text = match error.url() {
            Some(url) => text.replace(url.as_str(), self.url(url).as_str()),
            None => text,
        };
        self.text(text)
    }

    fn status(&self, status: LockboxRequestStatus) -> LockboxRequestStatus {
        match status {
            LockboxRequestStatus::Other(text) => LockboxRequestStatus::Other(self.text(text)),
            known => known,
        }
    }

    fn detail(&self, detail: ArmErrorDetail) -> ArmErrorDetail {
        ArmErrorDetail {
            code: detail.code.map(|t| self.text(t)),
            message: detail.message.map(|t| self.text(t)),
            target: detail.target.map(|t| self.text(t)),
            details: detail.details.into_iter().map(|d| self.detail(d)).collect(),
            additional_info: detail
                .additional_info
                .into_iter()
                .map(|mut info| {
                    info.kind = info.kind.map(|t| self.text(t));
                    info.info = self.json(info.info);
                    info
                })
                .collect(),
        }
    }

    fn json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(text) => Value::String(self.text(text)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.json(v)).collect()),
            Value::Object(members) => {
                Value::Object(members.into_iter().map(|(k, v)| (self.text(k), self.json(v))).collect())
            }
            other => other,
        }
    }

    fn service(&self, error: ServiceError) -> ServiceError {
        ServiceError {
            error: error.error.map(|d| self.detail(d)),
            code: error.code.map(|t| self.text(t)),
            request_id: error.request_id.map(|t| self.text(t)),
            correlation_request_id: error.correlation_request_id.map(|t| self.text(t)),
            body: self.body(error.body),
            ..error
        }
    }

    /// The step every error passes: every text a server chose redacted, bodies redacted then cut, URLs inside
    /// transport errors shown without query and with their path redacted. Running it twice changes nothing more.
    pub(crate) fn error(&self, error: Error) -> Error {
        let text = |t: String| self.text(t);
        match error {
            Error::InvalidArgument { name, reason } => Error::InvalidArgument { name, reason: text(reason) },
            Error::Configuration(message) => Error::Configuration(text(message)),
            // The credential's own error: no server of ours chose its text.
            Error::Credential(source) => Error::Credential(source),
            Error::Service(service) => Error::Service(Box::new(self.service(*service))),
            Error::Transport { operation, kind, attempts, status, request_id, source } => Error::Transport {
                operation,
                kind,
                attempts,
                status,
                request_id: request_id.map(text),
                source: self.transport(source),
            },
            Error::Decode { operation, status, request_id, body, source } => {
                // serde_json quotes bits of the body in its messages ("invalid type: string \"…\"").
                let message = source.to_string();
                let redacted = self.text(message.clone());
                let source = if redacted == message {
                    source
                } else {
                    <serde_json::Error as serde::de::Error>::custom(redacted)
                };
                Error::Decode { operation, status, request_id: request_id.map(text), body: self.body(body), source }
            }
            Error::ResponseTooLarge { operation, status, request_id, limit } => {
                Error::ResponseTooLarge { operation, status, request_id: request_id.map(text), limit }
            }
            Error::DecisionConflict { request_id, decision, current_status } => Error::DecisionConflict {
                request_id: text(request_id),
                decision,
                current_status: self.status(current_status),
            },
            Error::DecisionOutcomeUnknown { request_id, decision, source } => Error::DecisionOutcomeUnknown {
                request_id: text(request_id),
                decision,
                source: Box::new(self.error(*source)),
            },
            Error::UnsafeUrl { kind, url, reason } => Error::UnsafeUrl { kind, url: text(url), reason: text(reason) },
            Error::Paging(message) => Error::Paging(text(message)),
            Error::Timeout { what, elapsed, last_status } => {
                Error::Timeout { what: text(what), elapsed, last_status: text(last_status) }
            }
            Error::OperationFailed { status, error } => {
                Error::OperationFailed { status: text(status), error: error.map(|d| Box::new(self.detail(*d))) }
            }
        }
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
        let mut body = vec![b'x'; BODY_KEPT - 8];
        body.extend_from_slice(secret);
        let kept = Redactor::new(Some(secret)).body(Bytes::from(body));
        assert_eq!(kept.len(), BODY_KEPT);
        assert!(kept.ends_with(b"<redacted>"[..8].as_ref()), "{:?}", &kept[BODY_KEPT - 10..]);
    }

    #[test]
    fn urls_lose_their_query_and_their_token() {
        let redactor = Redactor::new(Some(b"secret-token-123"));
        let url = Url::parse("https://u:p@h.example/next/secret-token-123/x?skip=secret-token-123#f").unwrap();
        assert_eq!(redactor.url(&url).as_str(), "https://h.example/next/%3Credacted%3E/x");
    }
}

//! Scrubbing a token from text a server chose (bodies, header values, links) before it reaches an error or a log.

use bytes::Bytes;

/// Removes a token from a body a server echoed it in: the exact token, and anything after `Bearer `.
pub(crate) fn redact(body: Bytes, secret: Option<&[u8]>) -> Bytes {
    const MASK: &[u8] = b"<redacted>";
    let token_char = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b);
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    let mut changed = false;
    while i < body.len() {
        let rest = &body[i..];
        if let Some(secret) = secret.filter(|s| s.len() >= 8 && rest.starts_with(s)) {
            out.extend_from_slice(MASK);
            i += secret.len();
            changed = true;
        } else if rest.len() > 7 && rest[..7].eq_ignore_ascii_case(b"bearer ") && token_char(rest[7]) {
            out.extend_from_slice(&rest[..7]);
            out.extend_from_slice(MASK);
            i += 7;
            while i < body.len() && token_char(body[i]) {
                i += 1;
            }
            changed = true;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    if changed { Bytes::from(out) } else { body }
}

/// [`redact`] for text (a header value, a URL a server handed out).
pub(crate) fn redact_text(text: String, secret: Option<&[u8]>) -> String {
    // `redact` hands back the same buffer when there is nothing to remove, so this usually copies nothing.
    String::from_utf8(Vec::from(redact(Bytes::from(text), secret)))
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
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
}

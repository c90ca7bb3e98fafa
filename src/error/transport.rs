//! What kind of transport failure a request met: one classification, used by the retry loop (which failures
//! another try can mend) and by [`Error::Transport`](super::Error::Transport)'s message (which names the cause).
//!
//! A `reqwest::Error` says little in its own text ("error sending request for url (…)"); the cause is at the
//! root of its source chain (an `io::Error`, a TLS library's error). The chain is walked from its root up,
//! looking through `io::Error`s (whose `source()` skips the error they wrap), and the first level that tells
//! decides.

use std::{error::Error as StdError, fmt, io};

/// The kind of a transport failure: see [`Error::transport_kind`](crate::Error::transport_kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// The server's certificate was not accepted (not trusted, expired, for another name). Not retried: the
    /// same certificate comes back on the next try. Fix the trust store or the endpoint.
    Certificate,
    /// The TLS handshake failed for another reason (no common protocol version or cipher, a bad record).
    /// Not retried.
    Tls,
    /// The host name could not be resolved. Not retried when the name does not exist; retried when the
    /// resolver failed for the time being.
    Dns,
    /// Nothing listens on the address (the connection was refused). Retried: the service may be starting.
    ConnectionRefused,
    /// The connection was reset or closed before the answer came whole. Retried.
    ConnectionReset,
    /// A time limit passed: connecting, a try (the per-try timeout), or reading the answer. Retried.
    Timeout,
    /// Anything else the HTTP client reported. Retried when the request did not reach the service, or may be
    /// resent.
    Other,
}

impl TransportKind {
    /// The words the error's message uses for this kind.
    fn phrase(self) -> &'static str {
        match self {
            Self::Certificate => "certificate not trusted",
            Self::Tls => "TLS handshake failed",
            Self::Dns => "DNS lookup failed",
            Self::ConnectionRefused => "connection refused",
            Self::ConnectionReset => "connection reset",
            Self::Timeout => "timed out",
            Self::Other => "transport error",
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.phrase())
    }
}

/// A transport failure, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Classified {
    pub(crate) kind: TransportKind,
    /// What the root of the source chain says, without the words the kind already says: `UnknownIssuer`
    /// for an untrusted certificate. Empty when the chain has nothing to add.
    pub(crate) detail: String,
    /// Whether another try can pass: not for a certificate, a TLS failure or a name that does not exist.
    pub(crate) retryable: bool,
}

impl Classified {
    /// `certificate not trusted: UnknownIssuer`, for the error's message.
    pub(crate) fn cause(&self) -> String {
        match self.detail.as_str() {
            "" => self.kind.phrase().to_owned(),
            // `connection refused (os error 111)`: what follows the kind's own words reads on from them.
            detail if detail.starts_with('(') => format!("{} {detail}", self.kind),
            detail => format!("{}: {detail}", self.kind),
        }
    }
}

/// The levels of `error`'s source chain, from the error itself to its root, looking into `io::Error`s.
fn chain<'a>(error: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut levels = Vec::new();
    let mut next = Some(error);
    while let Some(level) = next {
        levels.push(level);
        next = match level.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => level.source(),
        };
    }
    levels
}

/// The kind one level of the chain tells, if it tells one, and what it adds.
fn tells(level: &(dyn StdError + 'static)) -> Option<(TransportKind, String)> {
    #[cfg(feature = "rustls")]
    if let Some(tls) = level.downcast_ref::<rustls::Error>() {
        return Some(match tls {
            rustls::Error::InvalidCertificate(why) => (TransportKind::Certificate, format!("{why:?}")),
            other => (TransportKind::Tls, other.to_string()),
        });
    }
    if let Some(io) = level.downcast_ref::<io::Error>() {
        let kind = match io.kind() {
            io::ErrorKind::ConnectionRefused => Some(TransportKind::ConnectionRefused),
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => Some(TransportKind::ConnectionReset),
            io::ErrorKind::TimedOut => Some(TransportKind::Timeout),
            _ => None,
        };
        if let Some(kind) = kind {
            return Some((kind, io.to_string()));
        }
    }
    // Other TLS backends and resolvers say it in words only.
    let text = level.to_string();
    let lower = text.to_ascii_lowercase();
    if let Some(at) = lower.find("invalid peer certificate: ") {
        let detail = text.get(at.saturating_add("invalid peer certificate: ".len())..).unwrap_or_default();
        return Some((TransportKind::Certificate, detail.to_owned()));
    }
    if lower.contains("certificate") {
        return Some((TransportKind::Certificate, text));
    }
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        return Some((TransportKind::Dns, text));
    }
    if lower.contains("handshake") || lower.contains("tls") {
        return Some((TransportKind::Tls, text));
    }
    None
}

/// Classifies a transport failure of the HTTP client.
pub(crate) fn classify(error: &reqwest::Error) -> Classified {
    let levels = chain(error);
    let told = if error.is_timeout() {
        Some((TransportKind::Timeout, String::new()))
    } else {
        // From the root up: the root is the most specific.
        // The client's own error (the first level) names the URL, and is not read for words.
        levels.iter().skip(1).rev().find_map(|level| tells(*level))
    };
    let (kind, detail) = told.unwrap_or_else(|| {
        // Nothing told: the root's words, unless the root is the HTTP client's own error (which names the URL).
        let root = levels.last().filter(|_| levels.len() > 1).map(ToString::to_string).unwrap_or_default();
        (TransportKind::Other, root)
    });
    let retryable = retryable(kind, &detail, error.url());
    Classified { kind, detail: without_the_phrase(kind, detail), retryable }
}

/// Whether another try of a failure of this kind can pass, at `url`.
fn retryable(kind: TransportKind, detail: &str, url: Option<&url::Url>) -> bool {
    match kind {
        TransportKind::Certificate | TransportKind::Tls => false,
        // A resolver that failed for now ("Temporary failure in name resolution", EAI_AGAIN) may answer later;
        // a name that does not exist (NXDOMAIN, "Name or service not known") will not.
        TransportKind::Dns => {
            let lower = detail.to_ascii_lowercase();
            lower.contains("temporary") || lower.contains("try again")
        }
        // A remote host that refuses may be a service restarting behind its address, which the Azure SDKs retry.
        // On this machine a refusal is the kernel saying at once that nothing listens on the port: waiting
        // through the retries only delays that answer.
        TransportKind::ConnectionRefused => !url.is_some_and(on_loopback),
        _ => true,
    }
}

/// Whether `url` names this machine: `localhost` (and its subdomains, RFC 6761) or a loopback address.
fn on_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `detail` without the words `kind` already says: `Connection refused (os error 111)` becomes
/// `(os error 111)`.
fn without_the_phrase(kind: TransportKind, detail: String) -> String {
    let phrase = kind.phrase();
    match detail.get(..phrase.len()) {
        Some(head) if head.eq_ignore_ascii_case(phrase) => {
            detail.get(phrase.len()..).unwrap_or_default().trim_start_matches([':', ' ']).to_owned()
        }
        _ => detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_is_read_from_the_root_and_its_words_are_said_once() {
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "Connection refused (os error 111)");
        let told = tells(&refused).unwrap();
        assert_eq!(told.0, TransportKind::ConnectionRefused);
        let detail = without_the_phrase(told.0, told.1);
        assert_eq!(detail, "(os error 111)");
        let classified = Classified { kind: told.0, detail, retryable: true };
        assert_eq!(classified.cause(), "connection refused (os error 111)");
        let nxdomain = io::Error::other("dns error: failed to lookup address information: Name or service not known");
        assert_eq!(tells(&nxdomain).map(|t| t.0), Some(TransportKind::Dns));
        let wrapped = io::Error::new(io::ErrorKind::InvalidData, "invalid peer certificate: UnknownIssuer");
        let outer = io::Error::other(wrapped);
        let levels = chain(&outer);
        // The outer io::Error, the one it wraps, and that one's message: each wrapped error is a level.
        assert_eq!(levels.len(), 3, "the io::Errors' inner errors are levels of their own");
        let told = levels.iter().rev().find_map(|l| tells(*l)).unwrap();
        assert_eq!(told, (TransportKind::Certificate, "UnknownIssuer".to_owned()));
        assert_eq!(without_the_phrase(TransportKind::Other, "anything".into()), "anything");
    }

    #[test]
    fn a_refusal_is_retried_from_a_remote_host_and_not_on_this_machine() {
        let url = |text: &str| url::Url::parse(text).unwrap();
        for local in ["http://127.0.0.1:8080/", "http://[::1]:1/", "http://localhost:9/", "http://emu.localhost./"] {
            assert!(!retryable(TransportKind::ConnectionRefused, "", Some(&url(local))), "{local}");
            // Only the refusal: a reset or a timeout on this machine is retried as anywhere.
            assert!(retryable(TransportKind::ConnectionReset, "", Some(&url(local))), "{local}");
        }
        for remote in ["https://management.azure.com/", "http://10.0.0.1/", "http://localhost.example.com/"] {
            assert!(retryable(TransportKind::ConnectionRefused, "", Some(&url(remote))), "{remote}");
        }
        assert!(retryable(TransportKind::ConnectionRefused, "", None));
    }
}

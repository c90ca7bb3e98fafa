//! What a listing covered, reported on stderr as it comes, and the exit status it earns.

use super::{Listed, Located};
use crate::{
    endpoint::Endpoint,
    failure::{EXIT_NOT_FOUND, EXIT_PARTIAL, hint, one_line},
    output::Shown,
};

/// What a listing covered, and the exit status it earns: the items other than requests are reported on
/// stderr as they come.
pub struct Coverage {
    /// Whether to say which subscriptions were skipped, or that none is visible (once per command).
    notes: bool,
    listed: usize,
    /// The worst exit status of the subscriptions that failed.
    failed: Option<u8>,
    /// The exit status of a failure to list the subscriptions themselves.
    incomplete: Option<u8>,
    /// The endpoint listed, for the hints.
    endpoint: Option<Endpoint>,
}

impl Coverage {
    /// A listing's coverage; `endpoint` is the backend's (for the hints of a refused connection).
    pub fn new(notes: bool, endpoint: Option<&Endpoint>) -> Self {
        Self { notes, listed: 0, failed: None, incomplete: None, endpoint: endpoint.cloned() }
    }

    /// The request of a `Request` item; any other item is reported on stderr and counted.
    pub fn take(&mut self, item: Listed) -> Option<Located> {
        match item {
            Listed::Request(located) => return Some(located),
            Listed::Failed { subscription, error } => {
                say!("lockbox: cannot list subscription {}: {}", Shown(&subscription), one_line(&error));
                self.failed = self.failed.max(Some(hint(&error, self.endpoint.as_ref())));
            }
            Listed::Incomplete { error, what } => {
                say!("lockbox: cannot list {what}: {}", one_line(&error));
                self.incomplete = self.incomplete.max(Some(hint(&error, self.endpoint.as_ref())));
            }
            Listed::End { listed, skipped } => {
                self.listed = listed;
                if self.notes && !skipped.is_empty() {
                    const SHOWN: usize = 5;
                    let mut names: Vec<String> = skipped
                        .iter()
                        .take(SHOWN)
                        .map(|(id, state)| format!("{} ({})", Shown(id), Shown(state)))
                        .collect();
                    if skipped.len() > SHOWN {
                        names.push(format!("and {} more", skipped.len().saturating_sub(SHOWN)));
                    }
                    say!("lockbox: skipped subscriptions that are not active: {}", names.join(", "));
                }
                if self.notes && listed == 0 && skipped.is_empty() && self.failed.is_none() && self.incomplete.is_none()
                {
                    say!("lockbox: this credential sees no subscription");
                }
            }
        }
        None
    }

    /// A subscription given that was listed (with no request) but is not among those the credential can see:
    /// most likely a mistyped id, which Resource Manager may answer with an empty list. Said on stderr, and
    /// counted as a subscription not found (exit status 3, or 1 when others were listed).
    pub fn not_visible(&mut self, subscription: &str) {
        say!(
            "lockbox: subscription {} is not among the subscriptions this credential can see (check the id; `az \
             account list` shows those it can see)",
            Shown(subscription)
        );
        self.listed = self.listed.saturating_sub(1);
        self.failed = self.failed.max(Some(EXIT_NOT_FOUND));
    }

    /// Whether the listing went to its end (the subscriptions given, or listed, were each asked).
    pub fn ended(&self) -> bool {
        self.incomplete.is_none()
    }

    /// Whether anything was listed to show: every subscription, or at least one of them.
    pub fn listed_any(&self) -> bool {
        self.listed > 0 || (self.failed.is_none() && self.incomplete.is_none())
    }

    /// 0 when everything in scope was listed; 1 ([`EXIT_PARTIAL`]) when some subscriptions
    /// failed and others were listed; the failure's own status when every subscription failed, or when the
    /// subscriptions themselves could not be listed.
    pub fn exit_code(&self) -> u8 {
        match (self.incomplete, self.failed) {
            (Some(code), _) => code,
            (None, None) => 0,
            (None, Some(_)) if self.listed > 0 => EXIT_PARTIAL,
            (None, Some(code)) => code,
        }
    }
}

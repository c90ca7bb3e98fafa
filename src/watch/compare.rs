//! One listing of a watch compared with the previous one, and the confirmation that a request missing from
//! it is gone (see the module documentation of `watch`).

use std::collections::{HashMap, HashSet};

use futures::future::BoxFuture;

use super::{FirstListing, State, WatchEvent};
use crate::{
    listing::{RequestFilter, RequestsListOptions},
    models::LockboxRequestResponse,
    status::LockboxRequestStatus,
};

impl State {
    /// One full listing, all pages, compared with the previous one as it streams in: memory holds one page,
    /// the id → status map, and the requests of the events found. Events are queued only once the whole
    /// listing succeeded, so a listing that fails half-way reports nothing. Requests missing from it are
    /// then confirmed gone (see the module documentation) before they are reported removed.
    pub(super) async fn list_and_compare(&mut self) -> crate::Result<()> {
        let options = RequestsListOptions { filter: self.options.filter.clone(), continuation: None };
        let mut pager = (self.list)(options);
        let first = self.known.is_none();
        let previous = self.known.as_ref();
        let mut current: HashMap<String, LockboxRequestStatus> = HashMap::new();
        let mut events = Vec::new();
        while let Some(request) = pager.try_next().await? {
            let Some(id) = request.request_id().map(str::to_owned) else {
                tracing::warn!("watch: a listed request has neither a requestId nor a name; ignored");
                continue;
            };
            if current.contains_key(&id) {
                // The same id twice in one listing (items moved across a page boundary): report it once.
                continue;
            }
            let status = request.status().cloned().unwrap_or(LockboxRequestStatus::Unknown);
            match previous.and_then(|p| p.get(&id)) {
                None if first && !self.first_listing.reports(&request) => {}
                None => events.push(WatchEvent::New(request)),
                Some(old) if *old != status => {
                    events.push(WatchEvent::StatusChanged { request, old: old.clone(), new: status.clone() })
                }
                Some(_) => {}
            }
            current.insert(id, status);
        }
        let previous = self.known.take().unwrap_or_default();
        let mut missing: Vec<(String, LockboxRequestStatus)> =
            previous.into_iter().filter(|(id, _)| !current.contains_key(id)).collect();
        missing.sort_by(|a, b| a.0.cmp(&b.0));
        let mut removed = Vec::new();
        let mut unconfirmed = HashSet::new();
        for (id, old) in missing {
            let read = (self.read)(id.clone());
            match confirm(read, self.options.filter.as_ref()).await {
                Absence::Gone => removed.push(id),
                Absence::Listed(request) => {
                    // Skipped by this listing, still there: a change is reported as usual, then it is kept.
                    let status = request.status().cloned().unwrap_or(LockboxRequestStatus::Unknown);
                    if status != old {
                        events.push(WatchEvent::StatusChanged { request: *request, old, new: status.clone() });
                    }
                    current.insert(id, status);
                }
                Absence::Unknown if self.unconfirmed.contains(&id) => removed.push(id),
                Absence::Unknown => {
                    current.insert(id.clone(), old);
                    unconfirmed.insert(id);
                }
            }
        }
        self.queue.extend(events);
        self.queue.extend(removed.into_iter().map(|request_id| WatchEvent::Removed { request_id }));
        if first {
            self.queue.push_back(WatchEvent::InitDone { requests: current.len() });
        }
        self.unconfirmed = unconfirmed;
        self.known = Some(current);
        Ok(())
    }
}

/// Whether a request missing from a listing of `filter` is gone: `read` reads it.
async fn confirm(
    read: BoxFuture<'static, crate::Result<LockboxRequestResponse>>,
    filter: Option<&RequestFilter>,
) -> Absence {
    match read.await {
        Err(error) if error.status().is_some_and(|s| s.as_u16() == 404) => Absence::Gone,
        Err(error) => {
            tracing::debug!(%error, "watch: a request missing from a listing could not be read");
            Absence::Unknown
        }
        Ok(request) => match filter.map(filtered_status) {
            None => Absence::Listed(Box::new(request)),
            Some(Some(wanted)) if request.status() == Some(&wanted) => Absence::Listed(Box::new(request)),
            Some(Some(_)) => Absence::Gone,
            // A filter the watch cannot evaluate itself: only a second listing can tell.
            Some(None) => Absence::Unknown,
        },
    }
}

/// What reading a request missing from a listing told.
enum Absence {
    /// No such request, or it left the filter's status.
    Gone,
    /// It is there and would be listed: the listing skipped it.
    Listed(Box<LockboxRequestResponse>),
    /// The read could not tell.
    Unknown,
}

/// The status a `properties/status eq '<status>'` filter asks for ([`RequestFilter::status`]'s form);
/// `None` for any other filter.
fn filtered_status(filter: &RequestFilter) -> Option<LockboxRequestStatus> {
    let text = filter.as_str().trim();
    let prefix = "properties/status eq '";
    let head = text.get(..prefix.len()).filter(|head| head.eq_ignore_ascii_case(prefix))?;
    let value = text.get(head.len()..)?.strip_suffix('\'')?;
    (!value.contains('\'')).then(|| LockboxRequestStatus::parse(value))
}

impl FirstListing {
    /// Whether the first listing reports `request` as new.
    fn reports(&self, request: &LockboxRequestResponse) -> bool {
        match self {
            Self::Everything => true,
            Self::Nothing => false,
            Self::CreatedSince(since) => {
                let created = request.properties.as_ref().and_then(|p| p.created_date_time);
                created.is_none_or(|created| created >= *since)
            }
        }
    }
}

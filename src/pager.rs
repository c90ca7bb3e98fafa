//! Lazy, bounded listing over ARM `nextLink` paging.
//!
//! A [`Listing`] is a stream of items that fetches one page at a time, only when polled; memory holds one page.
//! [`Listing::into_pages`] gives the pages instead, each with its continuation token, so a listing can be stopped
//! and resumed later (even in another process) with the `continuation` option of the list call.
//!
//! Guards: an absent, `null` or empty `nextLink` ends the listing; an empty page with a `nextLink` continues;
//! a `nextLink` naming a URL fetched before ends the listing with [`Error::Paging`] instead of looping (links
//! are compared as the URLs that would be sent: `api-version` set to ours, no fragment, query parameters in
//! any order); a `nextLink` on another host or scheme than the configured endpoint ends it with
//! [`Error::UnsafeUrl`] and nothing, no token included, is sent there. A continuation token resumes only the
//! listing it came from: one naming another path is refused with [`Error::InvalidArgument`] before anything
//! is sent. After an error the stream ends: polling again sends nothing.

use std::{
    collections::HashSet,
    fmt,
    hash::{BuildHasher, RandomState},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures::{
    Stream, StreamExt, TryStreamExt,
    future::BoxFuture,
    stream::{BoxStream, FusedStream},
};

use url::Url;

use crate::{
    error::{Error, Result},
    pipeline::{LinkKind, Pipeline},
};

/// An opaque token to resume from, later or in another process: a listing
/// ([`Listing::continuation`], resumed with the listing's `continuation` option: the page it names is fetched
/// again) or a wait ([`Waiter::continuation`](crate::Waiter::continuation), resumed with
/// [`Waiter::resume`](crate::Waiter::resume): it holds the polling URLs and what the operation was, never a
/// credential).
///
/// It is a plain string so it can be stored anywhere; [`as_str`](Self::as_str) and
/// [`From<String>`](#impl-From<String>-for-ContinuationToken) convert. A token is checked again when used: one
/// naming another host than the client's endpoint is refused with [`Error::UnsafeUrl`], one naming another path
/// than the listing's (another subscription's requests, another provider) or that is not a token at all with
/// [`Error::InvalidArgument`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContinuationToken(String);

impl ContinuationToken {
    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for ContinuationToken {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Display for ContinuationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items on this page, possibly none.
    pub items: Vec<T>,
    /// The `nextLink` the service gave, when there is a next page.
    pub next_link: Option<String>,
    /// The token that fetches this same page again.
    pub continuation: Option<ContinuationToken>,
}

impl<T> Page<T> {
    /// The token that resumes the listing after this page, when there is a next page.
    pub fn next_continuation(&self) -> Option<ContinuationToken> {
        self.next_link.clone().map(ContinuationToken)
    }
}

/// Fetches the first page (`None`) or the page at a link.
pub(crate) type Fetch<T> =
    Arc<dyn Fn(Option<String>) -> BoxFuture<'static, Result<(Vec<T>, Option<String>)>> + Send + Sync>;

/// How a listing turns links into the URLs it sends, and which path is its own.
pub(crate) struct Links {
    pipeline: Pipeline,
    /// The listing's first page: its path is the one every continuation token must name.
    own: Url,
}

impl Links {
    /// The links of the listing at `segments` (as in `Pipeline::request_url`).
    pub(crate) fn new(pipeline: &Pipeline, segments: &[&str]) -> Self {
        Self { own: pipeline.request_url(segments), pipeline: pipeline.clone() }
    }

    /// The URL that is sent for a `nextLink` (see `Pipeline::service_url`).
    fn resolve(&self, link: &str) -> Result<Url> {
        self.pipeline.service_url(LinkKind::NextLink, link)
    }

    /// The URL that is sent for a continuation token, if it names this listing's path. Resource Manager's paths
    /// are case-insensitive, so are the segments compared here, once percent-decoded.
    fn resume(&self, token: &str) -> Result<Url> {
        let url = self.pipeline.service_url(LinkKind::ContinuationToken, token)?;
        let segments = |url: &Url| -> Vec<String> {
            url.path_segments()
                .into_iter()
                .flatten()
                .filter(|segment| !segment.is_empty())
                .map(|segment| percent_encoding::percent_decode_str(segment).decode_utf8_lossy().to_lowercase())
                .collect()
        };
        if segments(&url) != segments(&self.own) {
            return Err(Error::invalid(
                "continuation",
                format!("the token resumes another listing than this one (`{}`)", self.own.path()),
            ));
        }
        Ok(url)
    }
}

/// A URL as the loop guard compares it: query parameters sorted, so that their order does not matter. (The
/// URL has no fragment and one `api-version`, ours: see [`Links::resolve`].)
fn loop_key(url: &Url) -> String {
    let mut pairs: Vec<_> = url.query_pairs().collect();
    pairs.sort();
    let mut key = url.clone();
    key.query_pairs_mut().clear().extend_pairs(pairs);
    key.into()
}

/// Where a listing goes next.
enum Next {
    /// Its first page.
    First,
    /// A continuation token a caller gave, not checked yet.
    Resume(String),
    /// A link, as the service gave it, and the URL that is sent for it.
    Link(String, Url),
    /// A `nextLink` that was refused: the error is returned once the page that gave it has been yielded.
    Refused(Error),
}

/// A link as shown in errors: without its query, which may carry anything (skip tokens, even secrets).
fn link_without_query(link: &str) -> String {
    let path = link.split(['?', '#']).next().unwrap_or_default();
    let mut shown: String = path.chars().take(200).collect();
    if shown.len() < link.len() {
        shown.push('…');
    }
    shown
}

/// A stream of the pages of a listing. Returned by [`Listing::into_pages`].
pub struct PageStream<T> {
    inner: BoxStream<'static, Result<Page<T>>>,
    done: bool,
}

impl<T> fmt::Debug for PageStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageStream").field("done", &self.done).finish_non_exhaustive()
    }
}

impl<T: Send + 'static> PageStream<T> {
    pub(crate) fn new(fetch: Fetch<T>, links: Links, start: Option<ContinuationToken>) -> Self {
        struct State<T> {
            fetch: Fetch<T>,
            links: Links,
            next: Option<Next>,
            seen: HashSet<u64>,
            hasher: RandomState,
        }
        let next = match start {
            Some(token) => Next::Resume(token.0),
            None => Next::First,
        };
        let state = State { fetch, links, next: Some(next), seen: HashSet::new(), hasher: RandomState::new() };
        let inner = futures::stream::try_unfold(state, |mut state| async move {
            let (link, url) = match state.next.take() {
                None => return Ok(None),
                Some(Next::First) => (None, None),
                Some(Next::Refused(error)) => return Err(error),
                Some(Next::Link(link, url)) => (Some(link), Some(url)),
                Some(Next::Resume(token)) => {
                    let url = state.links.resume(&token)?;
                    // A listing resumed from a token must not be led back to that token either.
                    state.seen.insert(state.hasher.hash_one(loop_key(&url)));
                    (Some(token), Some(url))
                }
            };
            let (items, next_link) = (state.fetch)(url.map(String::from)).await?;
            let next_link = next_link.filter(|l| !l.trim().is_empty());
            if let Some(next) = &next_link {
                state.next = Some(match state.links.resolve(next) {
                    Ok(url) => {
                        // Remember every URL (as a 64-bit hash, so memory stays small) to catch loops of any length.
                        if !state.seen.insert(state.hasher.hash_one(loop_key(&url))) {
                            return Err(Error::Paging(format!(
                                "the service returned the nextLink {:?} a second time",
                                link_without_query(next)
                            )));
                        }
                        Next::Link(next.clone(), url)
                    }
                    Err(error) => Next::Refused(error),
                });
            }
            let page = Page { items, next_link, continuation: link.map(ContinuationToken) };
            Ok(Some((page, state)))
        });
        Self { inner: inner.boxed(), done: false }
    }

    /// The next page, under the crate's one stream contract (the crate documentation, "Listings and
    /// watches"): `Ok(None)` at the end. Usable without importing `StreamExt`.
    ///
    /// # Errors
    /// The failure that ends the listing (its next page cannot be known): the next call gives `Ok(None)`.
    pub async fn try_next(&mut self) -> Result<Option<Page<T>>> {
        self.next().await.transpose()
    }
}

impl<T> Stream for PageStream<T> {
    type Item = Result<Page<T>>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let polled = self.inner.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => self.done = true,
            _ => {}
        }
        polled
    }
}

// Nothing here is pinned structurally: the inner stream is boxed.
impl<T> Unpin for PageStream<T> {}

impl<T> FusedStream for PageStream<T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

/// A lazy stream of the items of a listing, fetched a page at a time.
///
/// Nothing is sent until the pager is first polled. Iterate with [`try_next`](Self::try_next) (no imports
/// needed), or use it as a [`futures::Stream`][Stream]:
///
/// ```no_run
/// use azure_customer_lockbox::{RequestsClient, Result, options::RequestsListOptions};
///
/// async fn print_pending(requests: RequestsClient) -> Result<()> {
///     let mut pending = requests.list(Some(RequestsListOptions::pending()));
///     while let Some(request) = pending.try_next().await? {
///         println!("{:?} {:?}", request.name, request.status());
///     }
///     Ok(())
/// }
/// ```
///
/// [Stream]: https://docs.rs/futures/0.3/futures/stream/trait.Stream.html
pub struct Listing<T> {
    pages: PageStream<T>,
    current: std::vec::IntoIter<T>,
    current_token: Option<ContinuationToken>,
}

impl<T> fmt::Debug for Listing<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listing")
            .field("buffered", &self.current.len())
            .field("continuation", &self.current_token)
            .field("done", &self.pages.done)
            .finish()
    }
}

impl<T: Send + 'static> Listing<T> {
    pub(crate) fn new(fetch: Fetch<T>, links: Links, start: Option<ContinuationToken>) -> Self {
        Self { pages: PageStream::new(fetch, links, start), current: Vec::new().into_iter(), current_token: None }
    }

    /// The listing page by page instead of item by item. Items of a page already being consumed are not
    /// returned again.
    pub fn into_pages(self) -> PageStream<T> {
        self.pages
    }

    /// The token of the page currently being consumed, for resuming: resuming replays that page, so items may
    /// be seen twice but never skipped. `None` before the first page and while on the first page, where
    /// resuming means starting over.
    pub fn continuation(&self) -> Option<&ContinuationToken> {
        self.current_token.as_ref()
    }

    /// The next item, under the crate's one stream contract (the crate documentation, "Listings and
    /// watches"): `Ok(None)` at the end. Usable without importing `StreamExt`.
    ///
    /// # Errors
    /// The failure that ends the listing (its next page cannot be known): the next call gives `Ok(None)`.
    pub async fn try_next(&mut self) -> Result<Option<T>> {
        self.next().await.transpose()
    }

    /// Every remaining item in a `Vec`. Memory grows with the listing: prefer iterating for large ones.
    pub async fn try_collect(self) -> Result<Vec<T>> {
        TryStreamExt::try_collect(self).await
    }
}

impl<T> Stream for Listing<T> {
    type Item = Result<T>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(item) = self.current.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            match std::task::ready!(Pin::new(&mut self.pages).poll_next(cx)) {
                Some(Ok(page)) => {
                    self.current_token = page.continuation;
                    self.current = page.items.into_iter();
                }
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None => return Poll::Ready(None),
            }
        }
    }
}

impl<T> Unpin for Listing<T> {}

impl<T> FusedStream for Listing<T> {
    fn is_terminated(&self) -> bool {
        self.pages.done && self.current.len() == 0
    }
}

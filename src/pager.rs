//! Lazy, bounded listing over ARM `nextLink` paging.
//!
//! A [`Pager`] is a stream of items that fetches one page at a time, only when polled; memory holds one page.
//! [`Pager::into_pages`] gives the pages instead, each with its continuation token, so a listing can be stopped
//! and resumed later (even in another process) with the `continuation` option of the list call.
//!
//! Guards: an absent, `null` or empty `nextLink` ends the listing; an empty page with a `nextLink` continues;
//! a `nextLink` seen before ends the listing with [`Error::Paging`] instead of looping; a `nextLink` on another
//! host or scheme than the configured endpoint ends it with [`Error::UnsafeUrl`] and nothing, no token
//! included, is sent there. After an error the stream ends: polling again sends nothing.

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

use crate::error::{Error, Result};

/// An opaque token from which a listing can resume: the page it names is fetched again.
///
/// It is a plain string so it can be stored anywhere; [`as_str`](Self::as_str) and
/// [`From<String>`](#impl-From<String>-for-ContinuationToken) convert. A token is checked again when used: one
/// naming another host than the client's endpoint is refused.
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

/// A link as shown in errors: without its query, which may carry anything (skip tokens, even secrets).
fn link_without_query(link: &str) -> String {
    let path = link.split(['?', '#']).next().unwrap_or_default();
    let mut shown: String = path.chars().take(200).collect();
    if shown.len() < link.len() {
        shown.push('…');
    }
    shown
}

/// A stream of the pages of a listing. Returned by [`Pager::into_pages`].
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
    pub(crate) fn new(fetch: Fetch<T>, start: Option<ContinuationToken>) -> Self {
        struct State<T> {
            fetch: Fetch<T>,
            next: Option<Option<String>>,
            seen: HashSet<u64>,
            hasher: RandomState,
        }
        let hasher = RandomState::new();
        let mut seen = HashSet::new();
        // A listing resumed from a token must not be led back to that token either.
        if let Some(start) = &start {
            seen.insert(hasher.hash_one(&start.0));
        }
        let state = State { fetch, next: Some(start.map(|t| t.0)), seen, hasher };
        let inner = futures::stream::try_unfold(state, |mut state| async move {
            let Some(link) = state.next.take() else { return Ok(None) };
            let (items, next_link) = (state.fetch)(link.clone()).await?;
            let next_link = next_link.filter(|l| !l.trim().is_empty());
            if let Some(next) = &next_link {
                // Remember every link (as a 64-bit hash, so memory stays small) to catch loops of any length.
                if !state.seen.insert(state.hasher.hash_one(next)) || link.as_deref() == Some(next.as_str()) {
                    return Err(Error::Paging(format!(
                        "the service returned the nextLink {:?} a second time",
                        link_without_query(next)
                    )));
                }
                state.next = Some(Some(next.clone()));
            }
            let page = Page { items, next_link, continuation: link.map(ContinuationToken) };
            Ok(Some((page, state)))
        });
        Self { inner: inner.boxed(), done: false }
    }

    /// The next page, or `None` at the end. Usable without importing `StreamExt`.
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
/// needed), or use it as a [`futures::Stream`]:
///
/// ```no_run
/// # async fn demo(requests: azure_customer_lockbox::RequestsClient) -> azure_customer_lockbox::Result<()> {
/// let mut pending = requests.list_pending();
/// while let Some(request) = pending.try_next().await? {
///     println!("{:?} {:?}", request.name, request.status());
/// }
/// # Ok(()) }
/// ```
pub struct Pager<T> {
    pages: PageStream<T>,
    current: std::vec::IntoIter<T>,
    current_token: Option<ContinuationToken>,
}

impl<T> fmt::Debug for Pager<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pager")
            .field("buffered", &self.current.len())
            .field("continuation", &self.current_token)
            .field("done", &self.pages.done)
            .finish()
    }
}

impl<T: Send + 'static> Pager<T> {
    pub(crate) fn new(fetch: Fetch<T>, start: Option<ContinuationToken>) -> Self {
        Self { pages: PageStream::new(fetch, start), current: Vec::new().into_iter(), current_token: None }
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

    /// The next item, or `None` at the end. Usable without importing `StreamExt`.
    pub async fn try_next(&mut self) -> Result<Option<T>> {
        self.next().await.transpose()
    }

    /// Every remaining item in a `Vec`. Memory grows with the listing: prefer iterating for large ones.
    pub async fn try_collect(self) -> Result<Vec<T>> {
        TryStreamExt::try_collect(self).await
    }
}

impl<T> Stream for Pager<T> {
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

impl<T> Unpin for Pager<T> {}

impl<T> FusedStream for Pager<T> {
    fn is_terminated(&self) -> bool {
        self.pages.done && self.current.len() == 0
    }
}

//! Resource Manager's subscriptions: `Subscriptions_List` (api-version 2022-12-01), the one call the tenant-wide
//! listings (`across/`) need to know which subscriptions the caller can see.
//!
//! Generated from `specs/arm-subscriptions/2022-12-01.json` (see `src/generated.rs`); uses `core`, `pager` and
//! `operation`. The call goes through the same pipeline (auth, retries, paging guards, tracing, errors) as every
//! Lockbox call; only its api-version differs.

use std::sync::Arc;

use crate::{
    core::Core,
    generated::{
        self,
        subscriptions::{ClientSubscriptionsExt, types::SubscriptionListResult},
    },
    operation::{Operation, SUBSCRIPTIONS_API_VERSION},
    pager::{Fetch, Links, Listing},
    read::SubscriptionsListOptions,
};

pub use crate::generated::subscriptions::types::{ManagedByTenant, Subscription, SubscriptionPolicies};
// The generated models name the state here (see `build.rs`); its public home is `models`.
pub(crate) use crate::status::SubscriptionState;

/// The subscriptions the caller can see. Obtained from
/// [`CustomerLockboxClient::subscriptions`](crate::CustomerLockboxClient::subscriptions).
#[derive(Clone, Debug)]
pub struct SubscriptionsClient {
    core: Core,
}

impl SubscriptionsClient {
    pub(crate) fn new(core: Core) -> Self {
        Self { core }
    }

    /// Lists every subscription on which the caller holds a role (`GET /subscriptions?api-version=2022-12-01`),
    /// lazily, a page at a time, with the same paging guards as every listing, or resumed from
    /// [`SubscriptionsListOptions::continuation`]. Sends nothing until polled.
    pub fn list(&self, options: Option<SubscriptionsListOptions>) -> Listing<Subscription> {
        let continuation = options.unwrap_or_default().continuation;
        let core = self.core.clone();
        let fetch: Fetch<Subscription> = Arc::new(move |link| {
            let core = core.clone();
            Box::pin(async move {
                let page: SubscriptionListResult = match link {
                    None => {
                        let send = |api: generated::subscriptions::Client| async move {
                            api.subscriptions_list().api_version(SUBSCRIPTIONS_API_VERSION).send().await
                        };
                        core.read_subscriptions(Operation::SubscriptionsList, send).await?
                    }
                    Some(link) => core.next_page(Operation::SubscriptionsList, &link).await?,
                };
                Ok((page.value, page.next_link))
            })
        });
        Listing::new(fetch, Links::new(self.core.pipeline(), &["subscriptions"]), continuation)
    }
}

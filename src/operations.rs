//! The provider's operation catalogue (`Operations_List`).

use std::sync::Arc;

use crate::{
    core::Core,
    generated::{self, ClientOperationsExt},
    models::{Operation as OperationModel, OperationListResult},
    operation::Operation,
    pager::{ContinuationToken, Fetch, Links, Listing},
};

/// Options of [`OperationsClient::list`].
#[derive(Clone, Debug, Default)]
pub struct OperationsListOptions {
    /// Resume a listing from a token taken from an earlier [`Listing`] or page. The default is `None`: start at
    /// the first page.
    pub continuation: Option<ContinuationToken>,
}

/// The provider's operation catalogue. Obtained from
/// [`CustomerLockboxClient::operations`](crate::CustomerLockboxClient::operations).
#[derive(Clone, Debug)]
pub struct OperationsClient {
    core: Core,
}

impl OperationsClient {
    pub(crate) fn new(core: Core) -> Self {
        Self { core }
    }

    /// Lists the operations of `Microsoft.CustomerLockbox` (`Operations_List`), resuming from
    /// [`continuation`](OperationsListOptions::continuation) when one is given. Sends nothing until polled.
    pub fn list(&self, options: Option<OperationsListOptions>) -> Listing<OperationModel> {
        let core = self.core.clone();
        let fetch: Fetch<OperationModel> = Arc::new(move |link| {
            let core = core.clone();
            Box::pin(async move {
                let page: OperationListResult = match link {
                    None => {
                        let api_version = core.api_version();
                        let send = |api: generated::Client| async move {
                            api.operations_list().api_version(api_version).send().await
                        };
                        core.read(Operation::OperationsList, send).await?
                    }
                    Some(link) => core.next_page(Operation::OperationsList, &link).await?,
                };
                Ok((page.value, page.next_link))
            })
        });
        let links = Links::new(self.core.pipeline(), &["providers", "Microsoft.CustomerLockbox", "operations"]);
        Listing::new(fetch, links, options.unwrap_or_default().continuation)
    }
}

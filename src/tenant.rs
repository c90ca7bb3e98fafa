//! Whether a tenant has Customer Lockbox on, and switching it (`Get_TenantOptedIn`, `Post_EnableLockbox`,
//! `Post_DisableLockbox`).

use crate::{
    core::Core,
    error::Result,
    generated::{self, ClientTenantExt},
    models::TenantOptInResponse,
    operation::Operation,
    read::ReadOptions,
    validate,
    waiter::{Expect, Waiter, WaiterOptions},
};

/// Whether a tenant has Customer Lockbox on, and switching it. Obtained from
/// [`CustomerLockboxClient::tenant`](crate::CustomerLockboxClient::tenant).
#[derive(Clone, Debug)]
pub struct TenantClient {
    core: Core,
}

impl TenantClient {
    pub(crate) fn new(core: Core) -> Self {
        Self { core }
    }

    /// Reads the opt-in state of a tenant (`Get_TenantOptedIn`), within [`ReadOptions::timeout`] when given.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when `tenant_id` is not a GUID; otherwise as any
    /// call.
    pub async fn get_opt_in_status(
        &self,
        tenant_id: &str,
        options: Option<ReadOptions>,
    ) -> Result<TenantOptInResponse> {
        let tenant_id = validate::guid("tenant_id", tenant_id)?;
        let core = &self.core;
        let (tenant_id, api_version) = (tenant_id.as_str(), core.api_version());
        let send = |api: generated::Client| async move {
            api.get_tenant_opted_in().tenant_id(tenant_id).api_version(api_version).send().await
        };
        Ok(core.read_with_meta(Operation::GetTenantOptedIn, &options.unwrap_or_default(), send).await?.0)
    }

    /// True when the tenant has Customer Lockbox on; a missing `isOptedIn` counts as off.
    ///
    /// # Errors
    /// As [`get_opt_in_status`](Self::get_opt_in_status).
    pub async fn is_opted_in(&self, tenant_id: &str, options: Option<ReadOptions>) -> Result<bool> {
        Ok(self.get_opt_in_status(tenant_id, options).await?.is_opted_in.unwrap_or(false))
    }

    /// Turns Customer Lockbox on for the caller's tenant (`Post_EnableLockbox`) and waits until it is done,
    /// whether the service answers at once or with `202 Accepted` (polled with `options`, default
    /// [`WaiterOptions`]). Safe to repeat.
    ///
    /// # Errors
    /// As any call; [`Error::OperationFailed`](crate::Error::OperationFailed) when the operation ends as `Failed`
    /// or `Canceled`.
    pub async fn enable(&self, options: Option<WaiterOptions>) -> Result<()> {
        self.begin_enable(options).await
    }

    /// A [`Waiter`] that turns Customer Lockbox on (`Post_EnableLockbox`) when it is first polled or awaited,
    /// then follows the operation: nothing is sent before (azure_core's `begin_*` style). Await it for the
    /// result, or use it as a stream of statuses.
    ///
    /// Its errors are [`enable`](Self::enable)'s; a 202 without a polling header, or with a polling URL off the
    /// endpoint, is one.
    pub fn begin_enable(&self, options: Option<WaiterOptions>) -> Waiter<()> {
        self.begin(Switch::Enable, options)
    }

    /// Turns Customer Lockbox off for the caller's tenant (`Post_DisableLockbox`) and waits until it is done,
    /// as [`enable`](Self::enable) does. Safe to repeat.
    ///
    /// # Errors
    /// As [`enable`](Self::enable).
    pub async fn disable(&self, options: Option<WaiterOptions>) -> Result<()> {
        self.begin_disable(options).await
    }

    /// A [`Waiter`] that turns Customer Lockbox off (`Post_DisableLockbox`), as
    /// [`begin_enable`](Self::begin_enable) does.
    pub fn begin_disable(&self, options: Option<WaiterOptions>) -> Waiter<()> {
        self.begin(Switch::Disable, options)
    }

    /// The lazy poller of `switch`. Its future sends nothing until the poller first polls it.
    fn begin(&self, switch: Switch, options: Option<WaiterOptions>) -> Waiter<()> {
        let core = self.core.clone();
        let start = async move {
            let api_version = core.api_version();
            let send = |api: generated::Client| async move {
                match switch {
                    Switch::Enable => api.post_enable_lockbox().api_version(api_version).send().await,
                    Switch::Disable => api.post_disable_lockbox().api_version(api_version).send().await,
                }
            };
            Waiter::start(&core, switch.operation(), send, Expect::Nothing).await.0
        };
        Waiter::lazy(Box::pin(start)).with_options(options.unwrap_or_default())
    }
}

/// The two actions on the tenant's opt-in.
#[derive(Clone, Copy)]
enum Switch {
    Enable,
    Disable,
}

impl Switch {
    fn operation(self) -> Operation {
        match self {
            Self::Enable => Operation::PostEnableLockbox,
            Self::Disable => Operation::PostDisableLockbox,
        }
    }
}

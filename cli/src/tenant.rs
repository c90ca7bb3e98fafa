//! `lockbox tenant status`, `enable` and `disable`: the tenant's Customer Lockbox opt-in.

use std::io::IsTerminal;

use clap::Subcommand;
use serde_json::{Value, json};

use crate::{
    failure::{EXIT_USAGE, Failure, usage},
    options::{Given, Tenanted},
    output::{self, Row, stderr::confirm},
    session::Connector,
};

#[derive(Subcommand)]
pub enum Command {
    /// Show whether Customer Lockbox is on for a tenant (default: AZURE_TENANT_ID, or the embedded emulator's
    /// tenant; a standalone emulator's is in the emulator's first lines, or give any tenant id).
    #[command(after_help = exits!(0, 2, 3, 4, 5))]
    Status {
        /// The tenant id.
        #[arg(env = "AZURE_TENANT_ID")]
        tenant_id: Option<String>,
        #[command(flatten)]
        on: Tenanted,
    },
    /// Turn Customer Lockbox on for your tenant.
    #[command(after_help = exits!(0, 2, 3, 4, 5))]
    Enable {
        /// Do not ask for confirmation (required when there is no terminal to ask on).
        #[arg(long, short)]
        yes: bool,
        #[command(flatten)]
        on: Tenanted,
    },
    /// Turn Customer Lockbox off for your tenant.
    #[command(after_help = exits!(0, 2, 3, 4, 5))]
    Disable {
        /// Do not ask for confirmation (required when there is no terminal to ask on).
        #[arg(long, short)]
        yes: bool,
        #[command(flatten)]
        on: Tenanted,
    },
}

impl Command {
    /// The option groups this command takes, and its name.
    pub fn given(&self) -> (Given<'_>, &'static str) {
        match self {
            Self::Status { on, .. } => (Given::tenanted(on), "tenant status"),
            Self::Enable { on, .. } => (Given::tenanted(on), "tenant enable"),
            Self::Disable { on, .. } => (Given::tenanted(on), "tenant disable"),
        }
    }
}

/// The tenant's opt-in as a row.
struct TenantRow {
    tenant: Option<String>,
    on: bool,
}

impl Row for TenantRow {
    const COLUMNS: &'static [&'static str] = &["TENANT", "CUSTOMER LOCKBOX"];

    fn cells(&self) -> Vec<String> {
        vec![self.tenant.clone().unwrap_or_else(|| "-".into()), if self.on { "on" } else { "off" }.into()]
    }

    fn json(&self) -> Value {
        json!({ "tenantId": self.tenant, "customerLockbox": if self.on { "on" } else { "off" }, "optedIn": self.on })
    }
}

/// Runs a `tenant` command in the session: its exit status.
pub async fn run(command: Command, connector: &Connector<'_>) -> Result<u8, Failure> {
    let session = connector.session().await?;
    let tenants = session.client.tenant();
    let out = &session.output;
    match command {
        Command::Status { tenant_id, .. } => {
            let Some(tenant) = tenant_id.or_else(|| session.default_tenant.clone()) else {
                return Err(usage(
                    "give the tenant id (`lockbox tenant status <TENANT-ID>`) or set AZURE_TENANT_ID; a standalone \
                     emulator prints its tenant when it starts (\"Default tenant: ...\")"
                        .into(),
                ));
            };
            let on = tenants.is_opted_in(&tenant, None).await?;
            let row = TenantRow { tenant: Some(tenant.clone()), on };
            output::one(out, &row, || format!("{tenant}: Customer Lockbox is {}", if on { "on" } else { "off" }))?;
        }
        Command::Enable { yes: false, .. } | Command::Disable { yes: false, .. } => {
            let on = matches!(command, Command::Enable { .. });
            let (verb, state) = if on { ("turn on", "on") } else { ("turn off", "off") };
            // The service changes the tenant the credential signs in to; name it when it is known.
            let tenant = match &session.default_tenant {
                Some(tenant) => format!("tenant {tenant}"),
                None => "the tenant your credential signs in to (set AZURE_TENANT_ID to see its id here)".into(),
            };
            if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
                return Err(usage(format!(
                    "refusing to {verb} Customer Lockbox without confirmation: there is no terminal to ask on; pass \
                     --yes to {verb} Customer Lockbox anyway"
                )));
            }
            let question = format!("Turn Customer Lockbox {state} for {tenant}, for all of its subscriptions?");
            if !confirm(&output::terminal_safe(&question)).map_err(|e| usage(format!("cannot read stdin: {e}")))? {
                say!("lockbox: cancelled; nothing was sent");
                return Ok(EXIT_USAGE);
            }
            let row = TenantRow { tenant: None, on };
            if on {
                tenants.enable(None).await?
            } else {
                tenants.disable(None).await?
            }
            output::one(out, &row, || format!("Customer Lockbox is {state} for your tenant"))?;
        }
        Command::Enable { .. } => {
            tenants.enable(None).await?;
            output::one(out, &TenantRow { tenant: None, on: true }, || {
                "Customer Lockbox is on for your tenant".into()
            })?;
        }
        Command::Disable { .. } => {
            tenants.disable(None).await?;
            output::one(out, &TenantRow { tenant: None, on: false }, || {
                "Customer Lockbox is off for your tenant".into()
            })?;
        }
    }
    Ok(0)
}

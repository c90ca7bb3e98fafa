//! `lockbox operations list`: the operations of the resource provider Microsoft.CustomerLockbox.

use azure_customer_lockbox::models::Operation;
use clap::Subcommand;
use serde_json::Value;

use crate::{
    failure::Failure,
    options::{Given, Tenanted},
    output::{self, Row},
    session::Connector,
};

#[derive(Subcommand)]
pub enum Command {
    /// List the operations of Microsoft.CustomerLockbox.
    #[command(after_help = exits!(0, 2, 3, 4, 5))]
    List {
        #[command(flatten)]
        on: Tenanted,
    },
}

impl Command {
    /// The option groups this command takes, and its name.
    pub fn given(&self) -> (Given<'_>, &'static str) {
        match self {
            Self::List { on } => (Given::tenanted(on), "operations list"),
        }
    }
}

/// An operation as a row.
struct OperationRow(Operation);

impl Row for OperationRow {
    const COLUMNS: &'static [&'static str] = &["OPERATION", "DESCRIPTION"];

    fn cells(&self) -> Vec<String> {
        let display = self.0.display.clone().unwrap_or_default();
        vec![self.0.name.clone().unwrap_or_default(), display.description.or(display.operation).unwrap_or_default()]
    }

    fn json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}

/// Runs `operations list` in the session: its exit status.
pub async fn run(command: Command, connector: &Connector<'_>) -> Result<u8, Failure> {
    let Command::List { .. } = command;
    let session = connector.session().await?;
    let mut pager = session.client.operations().list(None);
    let mut rows = Vec::new();
    while let Some(operation) = pager.try_next().await? {
        rows.push(OperationRow(operation));
    }
    output::list(&session.output, &rows)?;
    Ok(0)
}

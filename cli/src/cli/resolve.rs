//! The options of the command run: those given after it win over those given before it.

use clap::ValueEnum;

use super::Cli;
use crate::{
    failure::{Failure, usage},
    options::Service,
    output::{Format, Output, check_query},
    session::Resolved,
};

/// Merges the options given before the command with those given after it (which win), refusing any given
/// before that does not apply to the command; reads AZURE_SUBSCRIPTION_ID and LOCKBOX_OUTPUT for the commands
/// that take those options, and checks the --query before anything is sent.
pub fn resolve(cli: &Cli) -> Result<Resolved, Failure> {
    let (given, name) = cli.command.given();
    let (before, applies) = (&cli.service, given.service.is_some());
    let flags = [
        ("--emulator", before.emulator, applies),
        ("--managed-identity", before.managed_identity, applies),
        ("--credential", before.credential.is_some(), applies),
        ("--cloud", before.cloud.is_some(), applies),
        ("--endpoint", before.endpoint.is_some(), applies),
        ("--verbose", before.verbose > 0, applies),
        ("--subscription", !cli.scope.subscriptions.is_empty(), given.scope.is_some()),
        ("--output", cli.output.output.is_some(), given.output.is_some()),
        ("--query", cli.query.query.is_some(), given.query.is_some()),
    ];
    if let Some((flag, ..)) = flags.iter().find(|(_, set, applies)| *set && !applies) {
        return Err(usage(format!("{flag} does not apply to `lockbox {name}` (see `lockbox {name} --help`)")));
    }
    let after = given.service.cloned().unwrap_or_default();
    let service = Service {
        emulator: after.emulator || before.emulator,
        managed_identity: after.managed_identity || before.managed_identity,
        credential: after.credential.or(before.credential),
        cloud: after.cloud.or(before.cloud),
        endpoint: after.endpoint.or_else(|| before.endpoint.clone()),
        verbose: after.verbose.saturating_add(before.verbose),
    };
    let mut subscriptions = given.scope.map(|s| s.subscriptions.clone()).unwrap_or_default();
    if subscriptions.is_empty() {
        subscriptions.clone_from(&cli.scope.subscriptions);
    }
    if given.scope.is_some() && subscriptions.is_empty() {
        let from_env = std::env::var("AZURE_SUBSCRIPTION_ID").unwrap_or_default();
        subscriptions = from_env.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        // An environment variable set for other tools (azd sets it) must not hide the rest of the tenant unnoticed.
        if !subscriptions.is_empty() {
            say!(
                "note: AZURE_SUBSCRIPTION_ID narrows the scope to {}; unset it to cover every subscription the credential can see",
                subscriptions.join(", ")
            );
        }
    }
    let mut format = given.output.and_then(|o| o.output).or(cli.output.output);
    let from_env = std::env::var("LOCKBOX_OUTPUT").ok().filter(|t| !t.trim().is_empty());
    if let (None, Some(_), Some(text)) = (format, given.output, from_env) {
        let parsed = Format::from_str(text.trim(), true);
        format = Some(parsed.map_err(|_| usage(format!("LOCKBOX_OUTPUT={text:?} is not an --output format")))?);
    }
    let query = given.query.and_then(|q| q.query.clone()).or_else(|| cli.query.query.clone());
    if let Some(query) = &query {
        check_query(query).map_err(usage)?;
    }
    Ok(Resolved { service, subscriptions, output: Output { format, query } })
}

//! `lockbox policy run`: the bot (`bot/`) on the rules of a policy file, with its audit trail, its endpoints
//! and its notifications.

use std::{path::PathBuf, time::Duration};

use crate::{
    bot,
    failure::{Failure, usage},
    options::{Streamed, parse_duration},
    session::Connector,
};

#[macro_use]
mod served;
pub use served::AsService;

// The arguments of `policy run` (its help is the variant's in `policy.rs`).
#[derive(clap::Args)]
pub struct Args {
    /// The policy file (TOML).
    #[arg(long)]
    pub file: PathBuf,
    /// Say what would be decided, deciding nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// For each request, say on stderr which condition of each rule tried failed, and which rule matched
    /// (the JSON lines also get an "explanation" array).
    #[arg(long)]
    pub explain: bool,
    /// One pass over the pending requests, then exit.
    #[arg(long)]
    pub once: bool,
    /// Time between passes, e.g. 30s, 2m.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Append the audit lines to this file (synced per line) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub audit: Option<PathBuf>,
    #[command(flatten)]
    pub on: Streamed,
    #[command(flatten)]
    pub served: AsService,
}

/// Signs in, reads the policy and opens the audit trail, starts the endpoints, traces and hook, then runs the
/// bot until it ends (see [`bot::run`]): its exit status.
pub async fn run(args: Args, connector: &Connector<'_>) -> Result<u8, Failure> {
    let Args { file, dry_run, explain, once, interval, audit, served, .. } = args;
    // SIGTERM and SIGINT are the bot's from its first step: one that comes while it signs in still stops it
    // cleanly (exit 0), never by the signal's default action.
    let stop = bot::Stop::on_signals();
    let session = connector.session().await?;
    let options = bot::RunOptions { dry_run, explain, once, interval };
    let policy = super::rules::Policy::load(&file).map_err(usage)?;
    let mut audit = bot::Audit::open(audit.as_ref(), session.output.format, options.dry_run).map_err(usage)?;
    let backend = session.backend()?;
    // botops: the credential is said, and the endpoints, traces and hook start, before the first pass.
    say!("lockbox: policy run: credential: {}", session.credential);
    let hook = match (served.notify_command, served.notify_url) {
        (Some(command), _) => Some(bot::service::Hook::Command(command)),
        (None, Some(url)) => Some(bot::service::Hook::Webhook(url)),
        (None, None) => None,
    };
    let setup =
        bot::service::Setup { listen: served.listen, hook, interval: options.interval, token: session.token.clone() };
    let observer = bot::service::Observer::start(setup).await.map_err(usage)?;
    Ok(bot::run(&backend, &policy, &mut audit, options, &observer, stop).await)
}

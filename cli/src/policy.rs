//! `lockbox policy`: decide pending requests by the rules of a policy file. The rules, and how they match a
//! request, are in `rules.rs` (and `rules/`); the bot that runs them is `bot/`. The commands: `run.rs` (the
//! bot), `explain.rs` (how the rules decide one request) and `test.rs` (the rules against sample cases).

use clap::Subcommand;

use crate::{failure::Failure, options::Given, session::Connector};

mod explain;
pub mod rules;
#[macro_use]
mod run;
mod test;

#[derive(Subcommand)]
pub enum Command {
    /// Decide pending requests by the rules of a policy file; one JSON audit line per request decided or left
    /// (on stdout, or to --audit FILE; then stdout shows each decision in the --output format).
    #[command(after_help = concat!(
        "The policy file format is described in the README (\"The `lockbox` command-line tool\").\n\n",
        signals_and_recovery!(),
        exits!(0, 1, 2, 3, 4, 5, 7, 8)
    ))]
    Run(run::Args),
    /// Say how a policy would decide one request now, and why: which condition of each rule tried failed, and
    /// which rule matched. Decides nothing.
    #[command(after_help = exits!(0, 2, 3, 4, 5))]
    Explain(explain::Args),
    /// Test a policy against sample requests and the action each must get (no service is asked). Exit status 0
    /// when every case passes, 1 when one does not (or, with --require-coverage, when a rule never decides a case
    /// or a condition never fails), 2 for a bad file.
    #[command(after_help = concat!(
        "The cases file format is at the top of cli/src/policy/test.rs and in the README.\n\n",
        exits!(0, cases, 2)
    ))]
    Test(test::Args),
}

impl Command {
    /// The option groups this command takes, and its name.
    pub fn given(&self) -> (Given<'_>, &'static str) {
        match self {
            Self::Run(args) => (Given::streamed(&args.on), "policy run"),
            Self::Explain(args) => (Given::requested(&args.on), "policy explain"),
            Self::Test(_) => (Given::default(), "policy test"),
        }
    }
}

/// Runs a `policy` command: its exit status. `run` and `explain` sign in through `connector` once the policy
/// file is read (a bad file asks no service); `test` asks none.
pub async fn run(command: Command, connector: &Connector<'_>) -> Result<u8, Failure> {
    match command {
        Command::Run(args) => run::run(args, connector).await,
        Command::Explain(args) => explain::run(args, connector).await,
        Command::Test(args) => test::run(&args),
    }
}

//! `lockbox completions SHELL`: a completion script, written through `output::line` like everything on stdout.

use crate::output;

// The arguments of `completions` (its help is the variant's in `cli.rs`).
#[derive(clap::Args)]
pub struct Args {
    /// The shell.
    shell: clap_complete::Shell,
}

/// Prints the script of `lockbox` (its clap command); a reader that went away misses it. Exit status 0.
pub fn run(args: &Args, lockbox: clap::Command) -> u8 {
    let _ = output::line(script(args.shell, lockbox));
    0
}

/// The completion script for `shell`, as text.
fn script(shell: clap_complete::Shell, mut lockbox: clap::Command) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut lockbox, "lockbox", &mut script);
    String::from_utf8_lossy(&script).trim_end().to_owned()
}

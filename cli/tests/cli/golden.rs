//! Golden files: what each command prints on stdout and stderr, and its exit status, against the embedded
//! emulator (`--emulator`), kept in `cli/tests/golden/<command>/`. Each case is a `NAME.toml` (its arguments,
//! exit status and environment; `fs.base` names the folder it runs in) with `NAME.stdout` and `NAME.stderr` beside
//! it, run by [trycmd](https://docs.rs/trycmd). Every command's `--help` is a case too, so the exit statuses each
//! help lists are pinned.
//!
//! What varies from run to run is elided with `[..]` (any text up to the end of its line, or up to the text that
//! follows it on the line): the embedded emulator's port, timestamps, support case numbers, the time left, and
//! the ids of a call (`serviceRequestId`, `correlationRequestId`, `clientRequestId`, a bot's `intent`). Nothing
//! else is elided, and no case elides whole lines.
//!
//! To update the golden files after a change to what the tool prints:
//!
//! ```text
//! TRYCMD=overwrite cargo test -p azure_customer_lockbox_cli --test cli golden::commands
//! SNAPSHOTS=overwrite cargo test -p azure_customer_lockbox_cli --test cli golden::a_watch
//! ```
//!
//! then read the diff: `TRYCMD=overwrite` keeps a line with `[..]` where the new output still matches it, and
//! writes the rest as printed (put the `[..]` back where a new line varies). A new case is a new `NAME.toml`;
//! `TRYCMD=overwrite` writes its `NAME.stdout` and `NAME.stderr` when they exist (create them empty first).

use super::common::*;

/// Every case in `cli/tests/golden/*/`, each run once; the files in `cli/tests/golden/files/` are the inputs some
/// cases run beside (their `fs.base`), not cases.
#[test]
fn commands() {
    trycmd::TestCases::new()
        .default_bin_path(env!("CARGO_BIN_EXE_lockbox"))
        .env("COLUMNS", "200")
        .case("tests/golden/*/*.toml");
}

/// `lockbox --emulator -o table requests watch`, stopped by Ctrl-C once it has printed the sample's six requests:
/// a case file cannot run it (a watch does not end by itself, and a timeout would race the clock against the
/// watch's first listing). Counted, not timed: the interrupt is sent once the sixth line has arrived.
#[tokio::test(flavor = "multi_thread")]
async fn a_watch_stopped_by_ctrl_c() {
    let mut command = lockbox();
    command.args(["--emulator", "-o", "table", "requests", "watch"]);
    let mut watch = Running::spawn(command);
    let mut stdout = String::new();
    for _ in 0..6 {
        stdout.push_str(&watch.next_line().await);
        stdout.push('\n');
    }
    let stderr = watch.interrupt();
    snapbox::assert_data_eq!(stdout, snapbox::file!["../golden/requests_watch/interrupted.stdout"]);
    snapbox::assert_data_eq!(stderr, snapbox::file!["../golden/requests_watch/interrupted.stderr"]);
}

//! Failures and exit statuses: what each error means for the person or script that ran `lockbox`.

use std::process::ExitCode;

use azure_customer_lockbox::{Error, TransportKind};

use crate::{
    endpoint::Endpoint,
    output::{QueryFailed, Shown, terminal_safe},
};

pub(crate) const EXIT_PARTIAL: u8 = 1;
pub(crate) const EXIT_USAGE: u8 = 2;
pub(crate) const EXIT_NOT_FOUND: u8 = 3;
pub(crate) const EXIT_SERVICE: u8 = 4;
pub(crate) const EXIT_CONNECTION: u8 = 5;
pub(crate) const EXIT_ALREADY_DECIDED: u8 = 6;
pub(crate) const EXIT_OUTCOME_UNKNOWN: u8 = 7;
/// The policy bot could not write its audit trail, and stopped deciding.
pub(crate) const EXIT_AUDIT: u8 = 8;
/// `--wait`: the decision was recorded (and printed), but its final status could not be confirmed.
pub(crate) const EXIT_UNCONFIRMED: u8 = 9;

/// One line of the exit statuses, by its number, as `--help` shows it.
macro_rules! exit_line {
    (0) => { "  0  success\n" };
    (1) => { "  1  some subscriptions could not be listed (each is reported on stderr; the rest was listed)\n" };
    (cases) => { "  1  a case did not get the action it expects (or, with --require-coverage, the cases do not cover the policy)\n" };
    (2) => { "  2  usage error: bad arguments, input or policy file; no terminal to confirm on and no --yes; cancelled\n" };
    (3) => { "  3  not found: the service answered 404, a subscription given is not among those the credential can see,\n     or a bare id is in no subscription the credential can read\n" };
    (4) => { "  4  refused by the service (forbidden, throttled, server error, ...)\n" };
    (5) => { "  5  could not reach the service or authenticate (run `az login`, or use --managed-identity)\n" };
    (6) => { "  6  already decided or expired: the request is no longer pending (DecisionConflict)\n" };
    (7) => { "  7  outcome unknown: a decision may or may not have been recorded; read the request before deciding again\n" };
    (9) => {
        "  9  --wait: the decision was recorded (it is printed on stdout), but its final status was not confirmed\n     (stderr says why); read the request (`lockbox requests show <ID>`), never decide again\n"
    };
    (8) => {
        "  8  policy run: the audit trail could not be written, so the bot decided nothing more (stderr says what the\n     last line was and whether its decision was sent)\n"
    };
}

/// The exit statuses a command can return, for its `--help` (`after_help = exits!(0, 2, 3, 4, 5)`). Every
/// command that asks the service can get 2 (input refused before sending), 3 (a 404), 4 and 5;
/// `cli/tests/exit_statuses.rs` runs each against each kind of answer and checks that what it returns is listed.
macro_rules! exits {
    ($($code:tt),*) => { concat!("Exit status:\n", $(exit_line!($code)),*) };
}

/// The exit statuses, as the top-level `--help` shows them.
pub(crate) const EXIT_STATUS: &str = concat!(
    exits!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    "\nWithout --emulator, lockbox works on Azure, on every subscription the credential can see unless\n\
     --subscription narrows it. LOCKBOX_OUTPUT sets the default --output; NO_COLOR turns colour off. Each\n\
     command's --help lists the options and exit statuses that apply to it."
);

/// What a command can fail with: a usage error of the tool itself, a request found nowhere, or an error of
/// the SDK.
pub(crate) enum Failure {
    Usage(String),
    /// Looked for everywhere in scope and not found (exit status 3); the message says where it was looked for.
    NotFound(String),
    Sdk(Error),
}

impl Failure {
    /// Prints the failure on stderr (with what to do about it, for a command that talked to `endpoint`) and picks
    /// the exit status.
    pub(crate) fn report(&self, endpoint: Option<&Endpoint>) -> ExitCode {
        match self {
            Self::Sdk(error) => fail(error, endpoint),
            Self::Usage(message) => {
                say!("lockbox: error: {}", Shown(message));
                ExitCode::from(EXIT_USAGE)
            }
            Self::NotFound(message) => {
                say!("lockbox: error: {}", Shown(message));
                ExitCode::from(EXIT_NOT_FOUND)
            }
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::Sdk(error)
    }
}

impl From<QueryFailed> for Failure {
    fn from(QueryFailed(message): QueryFailed) -> Self {
        Self::Usage(message)
    }
}

/// A usage error with this message.
pub(crate) fn usage(message: String) -> Failure {
    Failure::Usage(message)
}

/// True when the service refused a decision because the request is no longer pending: someone else decided
/// it, or it expired. The SDK's one answer for that is `Error::DecisionConflict`.
pub(crate) fn already_decided(error: &Error) -> bool {
    matches!(error, Error::DecisionConflict { .. })
}

/// The exit status for an error (see [`EXIT_STATUS`]).
pub(crate) fn exit_code(error: &Error) -> u8 {
    match error {
        _ if already_decided(error) => EXIT_ALREADY_DECIDED,
        Error::DecisionOutcomeUnknown { .. } => EXIT_OUTCOME_UNKNOWN,
        Error::InvalidArgument { .. } | Error::Configuration(_) => EXIT_USAGE,
        Error::Service(service) if service.status.as_u16() == 404 => EXIT_NOT_FOUND,
        Error::Service(_)
        | Error::DecisionConflict { .. }
        | Error::Decode { .. }
        | Error::OperationFailed { .. }
        | Error::ResponseTooLarge { .. }
        | Error::UnsafeUrl { .. }
        | Error::Paging(_) => EXIT_SERVICE,
        _ => EXIT_CONNECTION,
    }
}

/// One readable line for an error: status, ARM code, message and request id for a refusal by the service.
/// The error on one line, terminal-safe: its texts are the service's (a message, a code, a status).
pub(crate) fn one_line(error: &Error) -> String {
    terminal_safe(&one_line_raw(error))
}

/// The error on one line as the service wrote it, for JSON (exact); [`one_line`] for a person.
pub(crate) fn one_line_raw(error: &Error) -> String {
    match error.service_error() {
        Some(service) => {
            let message =
                service.error.as_ref().and_then(|e| e.message.clone()).unwrap_or_else(|| service.status.to_string());
            format!(
                "{} {}: {} (request id {})",
                service.status.as_u16(),
                error.code().unwrap_or("-"),
                message.replace('\n', " "),
                error.request_id().unwrap_or("-")
            )
        }
        None => error.to_string().replace('\n', " "),
    }
}

/// Prints the error on stderr (with what to do about it) and picks the exit status.
fn fail(error: &Error, endpoint: Option<&Endpoint>) -> ExitCode {
    say!("lockbox: error: {}", one_line(error));
    ExitCode::from(hint(error, endpoint))
}

/// Says on stderr what to do about an error of a command that talked to `endpoint` (`None`: Azure's), if there
/// is something to say; gives its exit status.
pub(crate) fn hint(error: &Error, endpoint: Option<&Endpoint>) -> u8 {
    let code = exit_code(error);
    match code {
        EXIT_ALREADY_DECIDED => say!("lockbox: the request was already decided or has expired"),
        EXIT_OUTCOME_UNKNOWN => say!("lockbox: run `lockbox requests show <ID>` before deciding again"),
        _ if error.transport_kind() == Some(TransportKind::ConnectionRefused) => {
            let at = endpoint.map_or(String::new(), |endpoint| format!(" at {}", endpoint.url));
            match endpoint {
                Some(Endpoint { url, loopback: true }) => say!(
                    "lockbox: connection refused{at}: is the emulator running? (start it with `cargo run -p \
                     azure_customer_lockbox_emulator -- --port {}`)",
                    url.port_or_known_default().unwrap_or(8080)
                ),
                _ => say!("lockbox: connection refused{at}: nothing accepts connections there; check --endpoint"),
            }
        }
        _ if matches!(error, Error::Credential(_)) => say!(
            "lockbox: not signed in to Azure: run `az login` (or `azd auth login`), pass --managed-identity on an \
             Azure host, or choose another credential with --credential; use --emulator to try lockbox without Azure"
        ),
        _ => {}
    }
    code
}

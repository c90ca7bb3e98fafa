#![allow(clippy::arithmetic_side_effects)] // reworked with the decision/poller split
//! Recording a decision (an approval or a denial) exactly once, and never reporting a plain failure for one the
//! service may have taken.
//!
//! A decision is not blindly resent after it may have reached the service (the pipeline stops at a 500, 502 or
//! 504, a lost connection or a timeout once it was sent, and says the outcome is ambiguous). Then the request is
//! read: its status tells whether the decision was taken. Once a try may have been taken, every later refusal is
//! read the same way, and so is a decision the service accepted (`202`) whose progress cannot be followed to its
//! end (its polling fails, its polling URL is on another host or missing, its final body shows no decision).
//! How a decision moves:
//!
//! ```text
//!                  +------------ Pending, may have been taken, a round and time left -----------+
//!                  v                                                                            |
//!   Sending { round } --200/201/204 + decision----------------------------------> Answered      |
//!     |  |   --2xx, body lost------------------------------------------------> Recorded         |
//!     |  |   --202 + polling URL--> Following --ends with the decision------> Answered          |
//!     |  |                                |  --fails, or names none------> Reading (Accepted)   |
//!     |  |   --202, cannot be followed----------------------------------> Reading (Accepted)     |
//!     |  '--refused (after an uncertain round: its currentStatus shows ours)--> Recorded         |
//!     |      --refused, after an uncertain round----------------------> Reading (Refused)        |
//!     |      --refused-----------------------------------------------------------> Refused       |
//!     '--may have been taken--> Reading { why } --shows the decision---------> Recorded          |
//!                                  |  --another final status---------------> Conflicted           |
//!                                  |  --cannot be read---------------------> Unknown              |
//!                                  |  --Pending, otherwise-----------------> Unknown              |
//!                                  '----------------------------------------------------------------'
//! ```
//!
//! Before a read the machine waits a backoff (the retry policy's delay for that round): a backend often
//! finishes its work after a gateway's `504`. `Conflicted` is [`Error::DecisionConflict`], `Unknown`
//! [`Error::DecisionOutcomeUnknown`]; `Answered` and `Recorded` give a [`Decision`], which says whether it was
//! reconciled by a read. The transitions ([`after_send`](state::after_send),
//! [`after_follow`](state::after_follow), [`after_read`](state::after_read)) are plain functions;
//! [`run`](run::run) runs them, within a [`Bound`]: the client's `timeout` (and a wait's own timeout) bounds the
//! whole call, of which part is kept for a reconciling read.
//!
//! The parts: `result.rs` holds [`Decision`], what a caller gets; `state.rs` the states and their transitions;
//! `bound.rs` the [`Bound`] on the whole call; `run.rs` the loop that drives the states and the reconciling read;
//! this file the two entries, [`record`] (a `begin_*` call) and [`decide`] (a call that waits).
//!
//! Uses `core`, `poller`, `operation`, `status`, `models`, `response`, `retry` and `error`; used by
//! `requests.rs`.

mod bound;
mod result;
mod run;
mod send;
mod state;

pub(crate) use bound::Bound;
pub use result::Decision;
use run::{Ended, run};

use crate::{
    core::Core,
    error::{Error, Result},
    models::Approval,
    operation::Operation,
    poller::{Poller, PollerOptions},
    status::ApprovalDecision,
};

/// A decision to send: on which request, what, and why. Its request id and reason are already checked.
pub(crate) struct Order<'a> {
    pub(crate) subscription_id: &'a str,
    pub(crate) request_id: &'a str,
    pub(crate) decision: ApprovalDecision,
    pub(crate) reason: &'a str,
}

/// Records `decision` with `reason` on a checked request id, exactly once, and returns a poller for it (see
/// the module doc): a `begin_*` call, whose caller follows an accepted decision's progress.
pub(crate) async fn record(core: &Core, order: Order<'_>) -> Result<Poller<Approval>> {
    let bound = Bound::new([core.pipeline().settings().call_timeout]);
    match run(core, order, bound, None).await? {
        Ended::Following(poller) => Ok(poller),
        Ended::Decided(decision) => Ok(Poller::done(core, Operation::RequestsUpdateStatus, decision.into_model())),
    }
}

/// Records `decision` with `reason` on a checked request id, exactly once, follows an accepted decision's
/// progress with `options`, and says what the service recorded; all within `bound`.
pub(crate) async fn decide(core: &Core, order: Order<'_>, bound: Bound, options: PollerOptions) -> Result<Decision> {
    match run(core, order, bound, Some(options)).await? {
        Ended::Decided(decision) => Ok(decision),
        Ended::Following(_) => Err(Error::Configuration("an accepted decision was not followed".into())),
    }
}

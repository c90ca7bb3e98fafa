//! What `/healthz` and `/readyz` answer, from the loop's signs of life and its passes: pure functions of the
//! state and the time asked, so that they are tested with times given, not waited for.

use std::time::{Duration, Instant};

/// What the loop has shown so far.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// The last sign of life: a pass started or ended, a request decided or left.
    pub last_life: Option<Instant>,
    /// When the last pass ended, and whether it succeeded (else its reason).
    pub last_pass: Option<(Instant, Result<(), String>)>,
    /// When the last successful pass ended.
    pub last_success: Option<Instant>,
    /// The loop was told to stop (a signal): it takes no new request.
    pub stopping: bool,
    /// The loop has ended.
    pub ended: bool,
}

/// How long the loop may show no sign of life before `/healthz` says it is stuck: three intervals (the loop
/// sleeps one between passes), and never less than five minutes (a pass over many requests on a slow service
/// shows life at each request).
pub fn stall_bound(interval: Duration) -> Duration {
    interval.saturating_mul(3).max(Duration::from_secs(300))
}

/// `/healthz`: alive while the loop runs and has shown life within [`stall_bound`]; else the reason.
pub fn liveness(state: &State, now: Instant, interval: Duration) -> Result<(), String> {
    if state.ended {
        return Err("the bot's loop has ended".into());
    }
    match state.last_life {
        None => Ok(()),
        Some(life) => {
            let quiet = now.saturating_duration_since(life);
            if quiet > stall_bound(interval) {
                Err(format!("the bot's loop has shown no sign of life for {} s", quiet.as_secs()))
            } else {
                Ok(())
            }
        }
    }
}

/// `/readyz`: ready once a token was obtained and the last pass succeeded, within three intervals of `now`;
/// not while stopping. Else the reason, as text.
pub fn readiness(state: &State, token: bool, now: Instant, interval: Duration) -> Result<(), String> {
    if state.ended || state.stopping {
        return Err("the bot is stopping".into());
    }
    if !token {
        return Err("no token obtained yet".into());
    }
    let bound = interval.saturating_mul(3);
    match (&state.last_pass, state.last_success) {
        (None, _) => Err("no pass has finished yet".into()),
        (Some((_, Err(reason))), _) => Err(format!("the last pass failed: {reason}")),
        (Some(_), None) => Err("no pass has succeeded yet".into()),
        (Some(_), Some(success)) => {
            let since = now.saturating_duration_since(success);
            if since > bound {
                Err(format!(
                    "the last successful pass ended {} s ago, more than three intervals ({} s)",
                    since.as_secs(),
                    bound.as_secs()
                ))
            } else {
                Ok(())
            }
        }
    }
}

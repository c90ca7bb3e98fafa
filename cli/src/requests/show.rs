//! `lockbox requests show`: one request in full.

use chrono::Utc;

use super::rows::{RequestRow, details};
use crate::{
    backend::{Backend, RequestRef},
    failure::Failure,
    output,
    session::Session,
};

/// Finds the request (by its id in every subscription in scope, or by its resource id) and prints it.
pub async fn run(session: &Session, backend: &Backend, request: &str) -> Result<u8, Failure> {
    let located = backend.find(&RequestRef::parse(request)?).await?;
    let now = Utc::now();
    output::one(&session.output, &RequestRow(&located, now), || details(&located, now))?;
    Ok(0)
}

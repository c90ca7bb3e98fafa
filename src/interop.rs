//! Interoperation with azure_core: this crate's [`Error`] converts into [`azure_core::Error`].

use azure_core::error::ErrorKind;

use crate::error::Error;

/// Converts into azure_core's error, for code that mixes this crate with other Azure SDK crates behind `?`.
///
/// The kind says what failed: [`ErrorKind::HttpResponse`][HttpResponse] with the status and ARM error code for a
/// refusal by the service (and for a body over the size limit), [`ErrorKind::Credential`][Credential],
/// [`ErrorKind::Io`][Io] for transport failures and timeouts, [`ErrorKind::DataConversion`][DataConversion] for an
/// answer that does not decode, and [`ErrorKind::Other`][Other] for the rest. The original error is kept as the
/// source: `downcast_ref::<azure_customer_lockbox::Error>()` gets it back, with its request ids and details.
///
/// [HttpResponse]: https://docs.rs/azure_core/1/azure_core/error/enum.ErrorKind.html#variant.HttpResponse
/// [Credential]: https://docs.rs/azure_core/1/azure_core/error/enum.ErrorKind.html#variant.Credential
/// [Io]: https://docs.rs/azure_core/1/azure_core/error/enum.ErrorKind.html#variant.Io
/// [DataConversion]: https://docs.rs/azure_core/1/azure_core/error/enum.ErrorKind.html#variant.DataConversion
/// [Other]: https://docs.rs/azure_core/1/azure_core/error/enum.ErrorKind.html#variant.Other
impl From<Error> for azure_core::Error {
    fn from(error: Error) -> Self {
        let kind = match &error {
            Error::Service(_) | Error::ResponseTooLarge { .. } => ErrorKind::HttpResponse {
                status: error.status().map_or(0, |s| s.as_u16()).into(),
                error_code: error.code().map(str::to_owned),
                raw_response: None,
            },
            Error::Credential(_) => ErrorKind::Credential,
            Error::Transport { .. } | Error::Timeout { .. } => ErrorKind::Io,
            Error::Decode { .. } => ErrorKind::DataConversion,
            _ => ErrorKind::Other,
        };
        azure_core::Error::new(kind, error)
    }
}

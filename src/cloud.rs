//! Azure clouds: where Resource Manager lives and which token audience it accepts.
//!
//! The cloud is azure_core's [`CloudConfiguration`], the type `azure_identity` credentials read to pick their
//! authority, so one value configures both. This module maps it to Resource Manager.

use azure_core::cloud::CloudConfiguration;
use url::Url;

use crate::error::{Error, Result};

/// This crate's key in [`CustomConfiguration::audiences`](https://docs.rs/azure_core/1/azure_core/cloud/struct.CustomConfiguration.html#structfield.audiences):
/// the Resource Manager audience of a custom cloud.
///
/// A custom cloud has no well-known endpoint, so set
/// [`CustomerLockboxClientOptions::endpoint`](crate::CustomerLockboxClientOptions::endpoint) beside it.
///
/// ```
/// use azure_core::cloud::{Audiences, CloudConfiguration, CustomConfiguration};
/// use azure_customer_lockbox::{Audience, CustomerLockboxClientOptions};
///
/// let mut custom = CustomConfiguration::default();
/// custom.authority_host = "https://login.mycloud.local".into();
/// custom.audiences = Audiences::new().with::<Audience>("https://management.mycloud.local".into());
/// let options = CustomerLockboxClientOptions {
///     cloud: CloudConfiguration::Custom(custom),
///     endpoint: Some("https://management.mycloud.local".parse().unwrap()),
///     ..Default::default()
/// };
/// assert!(options.endpoint.is_some());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Audience;

/// The public cloud's Resource Manager.
pub(crate) const PUBLIC: &str = "https://management.azure.com";

/// Where requests go and the scope tokens are asked for: the cloud's Resource Manager, or `endpoint` when set.
///
/// | cloud | endpoint | scope |
/// |---|---|---|
/// | `AzurePublic` | `https://management.azure.com` | `https://management.azure.com/.default` |
/// | `AzureGovernment` | `https://management.usgovcloudapi.net` | `https://management.usgovcloudapi.net/.default` |
/// | `AzureChina` | `https://management.chinacloudapi.cn` | `https://management.chinacloudapi.cn/.default` |
/// | `Custom` | `endpoint` (required) | the [`Audience`] entry + `/.default` (required) |
pub(crate) fn resource_manager(cloud: &CloudConfiguration, endpoint: Option<&Url>) -> Result<(Url, String)> {
    let known = match cloud {
        CloudConfiguration::AzurePublic => Some(PUBLIC),
        CloudConfiguration::AzureGovernment => Some("https://management.usgovcloudapi.net"),
        CloudConfiguration::AzureChina => Some("https://management.chinacloudapi.cn"),
        _ => None,
    };
    let (default_endpoint, audience) = match (known, cloud) {
        (Some(url), _) => (Some(url), url.to_owned()),
        (None, CloudConfiguration::Custom(custom)) => {
            let audience = custom.audiences.get::<Audience>().ok_or_else(|| {
                Error::Configuration(
                    "a custom cloud needs the Resource Manager audience: \
                     CustomConfiguration.audiences.with::<azure_customer_lockbox::Audience>(..)"
                        .into(),
                )
            })?;
            (None, audience.to_owned())
        }
        (None, other) => return Err(Error::Configuration(format!("unsupported cloud {other:?}"))),
    };
    let endpoint = match (endpoint, default_endpoint) {
        (Some(endpoint), _) => endpoint.clone(),
        (None, Some(url)) => Url::parse(url).expect("built-in cloud endpoints are valid URLs"),
        (None, None) => {
            return Err(Error::Configuration(
                "a custom cloud needs an explicit endpoint: set CustomerLockboxClientOptions.endpoint".into(),
            ));
        }
    };
    let audience = audience.trim_end_matches('/');
    if audience.is_empty() {
        return Err(Error::Configuration("the Resource Manager audience must not be empty".into()));
    }
    Ok((endpoint, format!("{audience}/.default")))
}

#[cfg(test)]
mod tests {
    use azure_core::cloud::{Audiences, CustomConfiguration};

    use super::*;

    fn scope(cloud: CloudConfiguration) -> String {
        resource_manager(&cloud, None).unwrap().1
    }

    #[test]
    fn scopes_derive_from_the_cloud() {
        assert_eq!(scope(CloudConfiguration::default()), "https://management.azure.com/.default");
        assert_eq!(scope(CloudConfiguration::AzureGovernment), "https://management.usgovcloudapi.net/.default");
        assert_eq!(scope(CloudConfiguration::AzureChina), "https://management.chinacloudapi.cn/.default");
        let mut custom = CustomConfiguration::default();
        custom.audiences = Audiences::new().with::<Audience>("https://management.azure.com/".into());
        let custom = CloudConfiguration::Custom(custom);
        let endpoint: Url = "http://127.0.0.1:1/".parse().unwrap();
        let (url, scope) = resource_manager(&custom, Some(&endpoint)).unwrap();
        assert_eq!(scope, "https://management.azure.com/.default");
        assert_eq!(url.as_str(), "http://127.0.0.1:1/");
    }

    #[test]
    fn a_custom_cloud_needs_an_endpoint_and_an_audience() {
        let endpoint: Url = "https://management.mycloud.local".parse().unwrap();
        let empty = CloudConfiguration::Custom(CustomConfiguration::default());
        let error = resource_manager(&empty, Some(&endpoint)).unwrap_err();
        assert!(matches!(&error, Error::Configuration(m) if m.contains("Audience")), "{error:?}");
        let mut custom = CustomConfiguration::default();
        custom.audiences = Audiences::new().with::<Audience>("https://management.mycloud.local".into());
        let error = resource_manager(&CloudConfiguration::Custom(custom), None).unwrap_err();
        assert!(matches!(&error, Error::Configuration(m) if m.contains("endpoint")), "{error:?}");
    }
}

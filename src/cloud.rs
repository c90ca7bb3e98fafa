//! Azure clouds: where Resource Manager lives and which token audience it accepts.

use url::Url;

/// The Azure cloud the client talks to.
///
/// Each cloud fixes two things: the Resource Manager endpoint requests go to, and the audience the bearer
/// token is requested for (the scope is the audience followed by `/.default`). Choosing a sovereign cloud
/// changes both together.
///
/// | cloud | endpoint | scope |
/// |---|---|---|
/// | [`AzurePublicCloud`](Self::AzurePublicCloud) (the default) | `https://management.azure.com` | `https://management.azure.com/.default` |
/// | [`AzureChinaCloud`](Self::AzureChinaCloud) | `https://management.chinacloudapi.cn` | `https://management.chinacloudapi.cn/.default` |
/// | [`AzureUSGovernment`](Self::AzureUSGovernment) | `https://management.usgovcloudapi.net` | `https://management.usgovcloudapi.net/.default` |
///
/// ```
/// use azure_customer_lockbox::CloudConfiguration;
/// let cloud = CloudConfiguration::AzureChinaCloud;
/// assert_eq!(cloud.scope(), "https://management.chinacloudapi.cn/.default");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloudConfiguration {
    /// Azure public cloud. The default.
    #[default]
    AzurePublicCloud,
    /// Azure operated by 21Vianet in China.
    AzureChinaCloud,
    /// Azure US Government.
    AzureUSGovernment,
    /// Any other Resource Manager: an Azure Stack hub, a proxy, or the local emulator.
    Custom {
        /// Base URL of Resource Manager, e.g. `https://management.local.azurestack.external`.
        endpoint: Url,
        /// Token audience, e.g. `https://management.azure.com/`; a trailing `/` is ignored.
        audience: String,
    },
}

impl CloudConfiguration {
    /// A custom cloud from an endpoint and an audience.
    pub fn custom(endpoint: Url, audience: impl Into<String>) -> Self {
        Self::Custom { endpoint, audience: audience.into() }
    }

    /// The Resource Manager base URL of this cloud.
    pub fn endpoint(&self) -> Url {
        let text = match self {
            Self::AzurePublicCloud => "https://management.azure.com",
            Self::AzureChinaCloud => "https://management.chinacloudapi.cn",
            Self::AzureUSGovernment => "https://management.usgovcloudapi.net",
            Self::Custom { endpoint, .. } => return endpoint.clone(),
        };
        Url::parse(text).expect("built-in cloud endpoints are valid URLs")
    }

    /// The audience tokens are requested for.
    pub fn audience(&self) -> &str {
        match self {
            Self::AzurePublicCloud => "https://management.azure.com",
            Self::AzureChinaCloud => "https://management.chinacloudapi.cn",
            Self::AzureUSGovernment => "https://management.usgovcloudapi.net",
            Self::Custom { audience, .. } => audience,
        }
    }

    /// The OAuth scope asked of the credential: the audience followed by `/.default`.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.audience().trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_derive_from_the_cloud() {
        assert_eq!(CloudConfiguration::default().scope(), "https://management.azure.com/.default");
        assert_eq!(CloudConfiguration::AzureUSGovernment.scope(), "https://management.usgovcloudapi.net/.default");
        let custom =
            CloudConfiguration::custom("http://127.0.0.1:1/".parse().unwrap(), "https://management.azure.com/");
        assert_eq!(custom.scope(), "https://management.azure.com/.default");
        assert_eq!(custom.endpoint().as_str(), "http://127.0.0.1:1/");
    }
}

//! Lists the Customer Lockbox requests of a subscription with this crate (Azure CLI / azd login).
use azure_customer_lockbox::CustomerLockboxClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let subscription = std::env::var("AZURE_SUBSCRIPTION_ID")?;
    let credential = azure_identity::DeveloperToolsCredential::new(None)?;
    let client = CustomerLockboxClient::new(credential, None)?;
    let mut requests = client.requests(&subscription)?.list(None);
    while let Some(request) = requests.try_next().await? {
        println!("{:?} {:?}", request.name, request.properties.and_then(|p| p.status));
    }
    Ok(())
}

//! Lists the Customer Lockbox requests of a subscription with the older generated crate (Azure CLI login).
use std::sync::Arc;

use futures::StreamExt;

#[tokio::main]
async fn main() -> azure_core::Result<()> {
    let subscription = std::env::var("AZURE_SUBSCRIPTION_ID").expect("AZURE_SUBSCRIPTION_ID");
    let credential = Arc::new(azure_identity::AzureCliCredential::new());
    let client = azure_mgmt_customerlockbox::Client::builder(credential).build()?;
    let mut pages = client.requests_client().list(subscription).into_stream();
    while let Some(page) = pages.next().await {
        for request in page?.value {
            println!("{:?} {:?}", request.name, request.properties.and_then(|p| p.status));
        }
    }
    Ok(())
}

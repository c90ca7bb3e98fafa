//! Fixtures for tests that script a Resource Manager by hand (wiremock, a raw socket) rather than run the
//! emulator: payloads shaped exactly as the emulator and Resource Manager serve them.

use serde_json::{Value, json};

/// A Customer Lockbox request resource (`LockboxRequestResponse`) as `Requests_Get` returns it, with fixed,
/// realistic values: created `2026-11-28T10:00:00Z`, expiring four days later, one storage account as the resource.
///
/// ```
/// let json = azure_customer_lockbox_emulator::testing::request_json("sub", "id-1", "Pending");
/// assert_eq!(json["properties"]["status"], "Pending");
/// assert_eq!(json["id"], "/subscriptions/sub/providers/Microsoft.CustomerLockbox/requests/id-1");
/// ```
pub fn request_json(subscription_id: &str, request_id: &str, status: &str) -> Value {
    let (sub, id) = (subscription_id, request_id);
    json!({
        "id": format!("/subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests/{id}"),
        "name": id,
        "type": "requests",
        "properties": {
            "requestId": id,
            "justification": "Microsoft support troubleshooting",
            "status": status,
            "createdDateTime": "2026-11-28T10:00:00Z",
            "expirationDateTime": "2026-12-02T10:00:00Z",
            "duration": "8",
            "resourceIds": format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/data"),
            "resourceType": "Storage Account",
            "supportRequest": "2611280010001234",
            "supportCaseUrl": "https://portal.azure.com/#support",
            "workitemsource": "SupportRequest",
            "subscriptionId": sub,
            "accessLevel": "Read"
        }
    })
}

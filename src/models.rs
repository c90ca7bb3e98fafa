//! The data types of the Customer Lockbox API, generated from our OpenAPI document.
//!
//! Unknown JSON fields are ignored, missing optional fields are `None`, and the two enums are extensible (see
//! [`LockboxRequestStatus`]). The ARM error envelope is decoded by the hand-written
//! [`ArmErrorDetail`](crate::ArmErrorDetail); the generated error models are not exported.

pub use crate::generated::types::{
    Approval, LockboxRequestResponse, LockboxRequestResponseProperties, Operation, OperationDisplay,
    OperationListResult, RequestListResult, TenantOptInResponse,
};
pub use crate::status::{ApprovalDecision, LockboxRequestStatus};

impl LockboxRequestResponse {
    /// The request's status, if the service sent one.
    pub fn status(&self) -> Option<&LockboxRequestStatus> {
        self.properties.as_ref()?.status.as_ref()
    }

    /// The request id: `properties.requestId`, or else the resource `name`.
    pub fn request_id(&self) -> Option<&str> {
        self.properties.as_ref().and_then(|p| p.request_id.as_deref()).or(self.name.as_deref())
    }
}

impl Approval {
    /// The decision recorded.
    pub fn decision(&self) -> Option<&ApprovalDecision> {
        self.status.as_ref()
    }
}

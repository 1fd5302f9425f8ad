//! The error body every failing response carries.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{"error": {"code": "not_found", "message": "conversation not found"}}`
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `method_not_allowed`, `conflict`, `insufficient_credits`, `payload_too_large`,
    /// `unsupported_media_type`, `validation_failed`, `rate_limited`, `bad_gateway`,
    /// `unavailable`, `internal`.
    pub code: String,
    /// What was wrong and how to fix it.
    pub message: String,
    /// For validation failures: `{"field": "...", "reason": "..."}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

//! Database administration bodies.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalyzeQuery {
    /// One read-only `SELECT` (or `WITH … SELECT`); it is planned, never run.
    pub query: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryPlan {
    pub backend: String,
    /// One line per plan node, indented by depth.
    pub plan: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OptimizeReport {
    pub backend: String,
    /// The statements that ran.
    pub ran: Vec<String>,
}

#![doc = include_str!("../README.md")]

mod admin;
mod analytics;
mod auth;
mod calls;
mod completions;
mod conversations;
mod error;
mod query;
mod resources;

pub use admin::{AnalyzeQuery, OptimizeReport, QueryPlan};
pub use analytics::{
    AnalyticsSeries, AnalyticsSummary, CallAnalytics, ChannelTotals, PercentilesView, PeriodTotals,
    SeriesParams, SeriesPoint, SeriesValue, SummaryParams,
};
pub use auth::{LoginRequest, LoginResponse, RefreshRequest, Tokens};
pub use calls::{CallListParams, CreateCall, CreateCampaign, DoNotCallNumber};
pub use completions::{
    ChatCompletion, ChatCompletionAnswer, ChatCompletionChoice, ChatCompletionMessage,
    ChatCompletionRequest, ChatCompletionUsage,
};
pub use conversations::{
    AddParticipant, CreateConversation, HandOff, MarkRead, PostMessage, SearchHitView,
    UpdateConversation,
};
pub use error::{ErrorBody, ErrorDetail};
pub use query::{
    ContactListParams, ConversationListParams, ImportParams, ListParams, MessageListOrder,
    MessageListParams, SearchParams,
};
pub use resources::{
    AgentView, Balance, ChannelView, CreateAgent, CreateApiKey, CreateChannel, CreateContact,
    CreateTenant, CreateUser, CreatedApiKey, CreatedChannel, GrantCredits, GrantResult,
    UpdateAgent, UpdateChannel, UpdateContact, UpdateUser,
};

/// Deserializes a field that may be absent (leave as is), `null` (clear) or a value (set).
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

//! Query-string parameters of list endpoints. Every list takes `limit` (1–200, default 50) and
//! the `cursor` a previous page returned as `nextCursor`.

use serde::{Deserialize, Serialize};
use switchboard_core::{
    Assignment, ChannelId, ContactId, ConversationId, ConversationStatus, ConversationType,
};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactListParams {
    /// Exact E.164 phone number.
    pub phone: Option<String>,
    pub external_id: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `POST /api/v1/imports`: what the file holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `contacts`, or `calls` (contacts, each added to `campaignId`'s calls).
    pub kind: String,
    /// With `kind=calls`: a draft or paused campaign the rows' contacts are added to.
    pub campaign_id: Option<switchboard_core::CampaignId>,
    /// ISO 3166 alpha-2 country of national phone numbers (`US`, `GB`), which become E.164.
    pub default_country: Option<String>,
    /// The file's name, for the import's record (multipart uploads carry their own).
    pub file_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConversationListParams {
    pub status: Option<ConversationStatus>,
    pub channel_id: Option<ChannelId>,
    pub contact_id: Option<ContactId>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub conversation_type: Option<ConversationType>,
    pub business_id: Option<String>,
    /// RFC 3339; only conversations changed at or after it.
    pub updated_since: Option<String>,
    /// `true`: only conversations with messages you have not read.
    pub unread: Option<bool>,
    /// `me`: only conversations you operate; `nobody`: only those no one operates.
    pub assigned: Option<Assignment>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Which way a message list runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageListOrder {
    /// Newest first (the default): the latest page, then older ones.
    #[default]
    Desc,
    /// Oldest first: replay from the beginning or from a cursor.
    Asc,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MessageListParams {
    #[param(inline)]
    pub order: Option<MessageListOrder>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words that must all appear; `"quoted words"` must appear together.
    pub q: String,
    pub conversation_id: Option<ConversationId>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#![doc = include_str!("../README.md")]

mod agent;
mod api_key;
mod audit;
mod call;
mod caller;
mod channel;
mod contact;
mod conversation;
mod conversation_event;
mod credits;
mod id;
mod import;
mod message;
mod ordering_key;
mod page;
mod phone;
mod queue_entry;
mod quota;
mod run;
mod tenant;
mod user;
mod validation;
mod vocabulary;

pub use agent::{Agent, AgentKind};
pub use api_key::ApiKey;
pub use audit::{AuditAction, AuditEvent, AuditResource, Origin};
pub use call::{
    AttemptStatus, Call, CallAttempt, CallOutcome, CallStatus, CallingWindow, Campaign,
    CampaignSchedule, CampaignStats, CampaignStatus, ClockTime, RetryPolicy, RetryRule, Weekday,
};
pub use caller::{Caller, Permission};
pub use channel::{Channel, ChannelConfig, ChannelKind, Secret, VoiceConfig};
pub use contact::{Attributes, Contact};
pub use conversation::{
    Assignment, Conversation, ConversationStatus, ConversationType, MessagePreview, Participant,
    ParticipantKind, ParticipantRole,
};
pub use conversation_event::ConversationEvent;
pub use credits::{Credits, LedgerEntry};
pub use id::{
    AgentId, ApiKeyId, AuditEventId, CallAttemptId, CallId, CampaignId, ChannelId, ContactId,
    ConversationId, ImportId, LedgerEntryId, MessageId, ParticipantId, QueueEntryId, RunId,
    TenantId, UserId,
};
pub use import::{Import, ImportCounts, ImportKind, ImportStatus, RowError, RowErrorCode};
pub use message::{AuthorKind, Message, MessageDirection, MessageStatus, MessageType};
pub use ordering_key::OrderingKey;
pub use page::Page;
pub use phone::{Country, UnknownCountry, normalize_phone};
pub use queue_entry::{EntryKind, EntryState, QueueEntry};
pub use quota::{Admission, Quota};
pub use run::{AgentEvent, Run, RunEvent, RunStatus, Usage};
pub use tenant::Tenant;
pub use user::{Role, User};
pub use validation::ValidationError;
pub use vocabulary::UnknownValue;

/// Timestamps everywhere are UTC instants, serialized as RFC 3339.
pub type Timestamp = time::OffsetDateTime;

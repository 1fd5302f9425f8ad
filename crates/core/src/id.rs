//! Typed identifiers. Every id is a UUID (version 7, so ids sort by creation time); the newtype
//! keeps a `ContactId` from ever being passed where a `ConversationId` is expected.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! define_id {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text).map(Self)
            }
        }
    )*};
}

define_id!(
    /// A tenant: one customer of the gateway, isolated from every other.
    TenantId,
    /// A person who logs in (operator, admin) or an end user an app maps by `externalId`.
    UserId,
    ApiKeyId,
    ContactId,
    ChannelId,
    AgentId,
    ConversationId,
    ParticipantId,
    MessageId,
    LedgerEntryId,
    QueueEntryId,
    /// One execution of an agent.
    RunId,
    /// One bulk import of a file.
    ImportId,
    /// An outbound voice call to one number.
    CallId,
    /// One dial of a call.
    CallAttemptId,
    CampaignId,
    /// One change in the audit log.
    AuditEventId,
);

#![doc = include_str!("../README.md")]

pub mod api_channel;
mod error;
mod inbound;
mod outbound;
mod signature;
pub mod telegram;
pub mod twilio;
pub mod voice;
mod webhook;
pub mod whatsapp;

pub use error::{ParseError, SendError, SenderError, VerifyError};
pub use inbound::{InboundBatch, InboundContact, InboundMessage, StatusUpdate};
pub use outbound::{
    IDEMPOTENCY_KEY, OutboundMessage, RateLimits, Sender, SentMessage, SharedRate, SharedRateFuture,
};
pub use webhook::{Webhook, WebhookError, receive};

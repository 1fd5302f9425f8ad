//! Voice calls through a Twilio-Voice-shaped provider: placing a call and asking about one
//! (`dial`), its status callbacks (`callback`, signed like Twilio's SMS webhooks) and the voice
//! pipeline's call reports (`report`, signed like the API channel). The media stays with the
//! provider and the pipeline; these are the parts Switchboard says and hears.

mod callback;
mod dial;
mod report;

pub use callback::{StatusCallback, receive_status};
pub use dial::{Dial, DialedCall, ProviderCall};
pub use report::{CallReport, MAX_TURNS, ReportTurn, Speaker, receive_report};

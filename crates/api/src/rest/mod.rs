//! REST resources under `/api/v1`, one file per resource.

mod agents;
mod analytics;
mod api_keys;
mod audit;
mod auth;
mod calls;
mod campaigns;
mod channels;
mod contacts;
mod conversations;
mod credits;
mod imports;
mod messages;
mod participants;
mod queue;
mod runs;
mod search;
mod tenants;
mod users;

use axum::extract::DefaultBodyLimit;
use switchboard_engine::PageRequest;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;

/// `/auth/*`, outside the versioned prefix.
pub(crate) fn auth_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
}

/// Everything under `/api/v1`.
pub(crate) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(tenants::create_tenant, tenants::list_tenants))
        .routes(routes!(tenants::get_tenant))
        .routes(routes!(users::create_user, users::list_users))
        .routes(routes!(
            users::get_user,
            users::update_user,
            users::delete_user
        ))
        .routes(routes!(api_keys::create_api_key, api_keys::list_api_keys))
        .routes(routes!(api_keys::revoke_api_key))
        .routes(routes!(audit::list_audit))
        .routes(routes!(channels::create_channel, channels::list_channels))
        .routes(routes!(
            channels::get_channel,
            channels::update_channel,
            channels::delete_channel
        ))
        .routes(routes!(agents::create_agent, agents::list_agents))
        .routes(routes!(
            agents::get_agent,
            agents::update_agent,
            agents::delete_agent
        ))
        .routes(routes!(contacts::create_contact, contacts::list_contacts))
        .routes(routes!(
            contacts::get_contact,
            contacts::update_contact,
            contacts::delete_contact
        ))
        .routes(routes!(
            conversations::create_conversation,
            conversations::list_conversations
        ))
        .routes(routes!(
            conversations::get_conversation,
            conversations::update_conversation
        ))
        .routes(routes!(conversations::mark_read))
        .routes(routes!(conversations::hand_off_conversation))
        .routes(routes!(conversations::release_conversation))
        .routes(routes!(
            participants::list_participants,
            participants::add_participant
        ))
        .routes(routes!(participants::remove_participant))
        .routes(routes!(messages::post_message, messages::list_messages))
        .routes(routes!(messages::get_message, messages::delete_message))
        .routes(routes!(search::search_messages))
        .routes(routes!(analytics::get_summary))
        .routes(routes!(analytics::get_series))
        .routes(routes!(analytics::get_calls))
        .routes(routes!(credits::get_balance))
        .routes(routes!(credits::grant_credits))
        .routes(routes!(credits::list_ledger))
        .routes(routes!(runs::list_runs))
        .routes(routes!(runs::get_run))
        .routes(routes!(crate::sse::run_events))
        .routes(routes!(crate::sse::conversation_events))
        .routes(routes!(queue::queue_stats))
        .routes(routes!(queue::list_dead_letters))
        .routes(routes!(queue::retry_dead_letter))
        .routes(routes!(queue::discard_dead_letter))
        .routes(routes!(crate::sse::tenant_events))
        .routes(routes!(calls::create_call, calls::list_calls))
        .routes(routes!(calls::get_call))
        .routes(routes!(calls::add_do_not_call, calls::list_do_not_call))
        .routes(routes!(calls::remove_do_not_call))
        .routes(routes!(
            campaigns::create_campaign,
            campaigns::list_campaigns
        ))
        .routes(routes!(campaigns::get_campaign))
        .routes(routes!(campaigns::start_campaign))
        .routes(routes!(campaigns::pause_campaign))
        .routes(routes!(campaigns::resume_campaign))
        .routes(routes!(campaigns::cancel_campaign))
        .merge(import_routes())
}

/// `/imports`: uploads are as large as `imports.max_bytes` allows (the engine counts them),
/// not the request body limit.
fn import_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(imports::create_import, imports::list_imports))
        .routes(routes!(imports::get_import))
        .routes(routes!(imports::list_import_errors))
        .layer(DefaultBodyLimit::disable())
}

/// A page request from the `limit` and `cursor` query parameters.
pub(crate) fn page(limit: Option<u32>, cursor: Option<String>) -> PageRequest {
    PageRequest { limit, cursor }
}

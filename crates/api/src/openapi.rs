//! The OpenAPI document, generated from the handlers' annotations: every route is registered
//! through `routes()`, so the document cannot drift from the router.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{ApiState, adapters, admin, ops, rest, webhooks, ws};

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard", description = "Conversation gateway for AI agents."),
    modifiers(&Security),
    security(("bearer" = []), ("apiKey" = [])),
    tags(
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "auth", description = "Login and token refresh"),
        (name = "admin", description = "Platform-admin database tools"),
        (name = "realtime", description = "WebSocket streams (protocol in docs/realtime.md)"),
        (name = "webhooks", description = "Inbound provider webhooks, authenticated by their signatures"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// Every route with its OpenAPI description.
pub(crate) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ops::health))
        .routes(routes!(ops::ready))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::openapi_document))
        .routes(routes!(adapters::status))
        .routes(routes!(ws::connect))
        .routes(routes!(ws::health))
        .merge(rest::auth_routes())
        .merge(admin::routes())
        .merge(webhooks::routes())
        .merge(crate::completions::routes())
        .nest("/api/v1", rest::routes())
}

/// The OpenAPI document of this API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOCUMENT
        .get_or_init(|| routes().split_for_parts().1)
        .clone()
}

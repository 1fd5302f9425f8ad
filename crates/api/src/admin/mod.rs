//! `/admin/*`: installation-wide tools for platform admins.

mod database;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;

pub(crate) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(database::metrics))
        .routes(routes!(database::size))
        .routes(routes!(database::index_suggestions))
        .routes(routes!(database::analyze_query))
        .routes(routes!(database::optimize))
}

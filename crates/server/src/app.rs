//! Wiring: store → engine → HTTP, and serving until told to stop.

use anyhow::Context;
use axum::serve::ListenerExt;
use switchboard_api::{Adapters, ApiState, Realtime, operations_router, router};
use switchboard_engine::{
    Bootstrap, Engine, LinkConfig, NodeConfig, RedisLink, Store, node_database_settings,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Config;
use crate::telemetry::metrics_handle;

/// A ready-to-serve Switchboard: store open and migrated, first admin created.
pub struct App {
    engine: Engine,
    router: axum::Router,
    realtime: Realtime,
}

impl App {
    /// Opens and migrates the store, bootstraps an empty one, and builds the router. Returns
    /// what the bootstrap created, if it ran.
    pub async fn build(config: &Config) -> anyhow::Result<(App, Option<Bootstrap>)> {
        let node_id = uuid::Uuid::now_v7().to_string();
        let mut store_options = config.store_options();
        if config.cluster.redis_url.is_some() {
            store_options.postgres_settings = node_database_settings(&node_id);
        }
        let keyring = crate::keys::keyring(config).context("loading the master key")?;
        let store = Store::connect_with_keyring(store_options, keyring)
            .await
            .context("opening the store")?;
        let applied = store.migrate().await.context("migrating the store")?;
        if !applied.is_empty() {
            tracing::info!(
                ?applied,
                backend = store.backend().as_str(),
                "migrations applied"
            );
        }
        let resealed = store
            .seal_secrets()
            .await
            .context("opening the stored secrets with the master key")?;
        if resealed.sealed > 0 {
            tracing::info!(
                sealed = resealed.sealed,
                "secrets sealed under the master key"
            );
        }
        let node = match &config.cluster.redis_url {
            Some(url) => Some(join_cluster(config, url.expose(), node_id).await?),
            None => None,
        };
        let mut auth = config.auth.auth_config();
        auth.limits = config.limits.limits_config();
        let engine = Engine::new_node(store, auth, config.pipeline_config(), node)
            .context("building the engine")?;
        let admin_password = config
            .auth
            .admin_password
            .as_ref()
            .map(|password| password.expose().to_owned());
        let bootstrap = engine
            .bootstrap(&config.auth.admin_username, admin_password)
            .await
            .context("creating the first admin")?;
        let state = ApiState {
            engine: engine.clone(),
            metrics: metrics_handle(),
            public_base_url: config.http.public_base_url.clone(),
            realtime: Realtime::new(config.realtime.websocket_settings()),
            adapters: Adapters::default(),
        };
        let realtime = state.realtime.clone();
        let mut settings = config.http.settings(
            config.graphql.settings(),
            config.mcp.settings(config.http.listen),
        );
        settings.client_address_header = config.limits.client_address_header.clone();
        let router = if config.cluster.role.serves_api() {
            router(state, &settings)
        } else {
            operations_router(state)
        };
        Ok((
            App {
                engine,
                router,
                realtime,
            },
            bootstrap,
        ))
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Recovers unfinished queue entries and starts the pipeline's workers; they stop when
    /// `shutdown` fires. Call before `serve`.
    pub async fn start_pipeline(&self, shutdown: &CancellationToken) -> anyhow::Result<()> {
        self.engine
            .start_pipeline(shutdown.child_token())
            .await
            .context("starting the message pipeline")
    }

    /// Serves on `listener` until `shutdown` fires; then lets in-flight requests and queue
    /// entries finish and closes the store (queued writes commit first).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        // WebSockets outlive requests: tell them to close (1001) when shutdown starts.
        let closing = self.realtime.closing.clone();
        let shutting_down = shutdown.clone();
        tokio::spawn(async move {
            shutting_down.cancelled().await;
            closing.cancel();
        });
        // Small writes (WebSocket frames, acknowledgements) leave at once rather than waiting
        // for the peer's delayed ACK.
        let listener = listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        // The peer's address, for the rate limits per client address.
        let service = self
            .router
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .context("serving HTTP")?;
        self.engine.shutdown().await;
        Ok(())
    }
}

/// Connects this node to the cluster's Redis, as `node_id`.
async fn join_cluster(config: &Config, url: &str, node_id: String) -> anyhow::Result<NodeConfig> {
    let name = config.node_name();
    let link = RedisLink::connect(LinkConfig {
        url: url.to_owned(),
        prefix: "switchboard".to_owned(),
        node_id: node_id.clone(),
    })
    .await
    .context("connecting to Redis (cluster.redis_url)")?;
    tracing::info!(node = %name, %node_id, role = config.cluster.role.as_str(), "joined the cluster");
    Ok(NodeConfig {
        node_id,
        name,
        role: config.cluster.role,
        link,
    })
}

//! `TestApp`: a real Switchboard on `127.0.0.1:0` over a fresh store, with an HTTP client and
//! the bootstrap admin's token. The caller owns the shutdown token.

use std::net::SocketAddr;

use anyhow::Context;
use reqwest::Method;
use serde_json::Value;
use switchboard_server::{App, Config, DatabaseUrl, Secret};
use tokio_util::sync::CancellationToken;

use crate::TestDatabase;

/// The bootstrap admin's credentials in every test app.
pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "test-admin-password";
/// The access-token signing key of every test app (tests may mint tokens with it).
pub const JWT_SECRET: &str = "test-jwt-secret-that-is-long-enough-0123456789";
/// The master key every test server seals secrets with (32 bytes, hex): no key file is made.
pub const MASTER_KEY: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

pub struct TestApp {
    pub address: SocketAddr,
    /// The running engine, for driving the pipeline (`run_until_idle`) and watching its hub.
    pub engine: switchboard_engine::Engine,
    pub client: reqwest::Client,
    /// The bootstrap platform admin's access token.
    pub admin_token: String,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Kept so the store outlives the server (taken by `restart`).
    database: Option<TestDatabase>,
    config: Config,
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Credential {
    None,
    Bearer(String),
    ApiKey(String),
}

/// A response: status, headers and the body parsed as JSON (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The body's `field`, as a string (ids, tokens).
    pub fn str(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_default().to_owned()
    }
}

impl TestApp {
    /// Starts a server with the default test configuration.
    pub async fn spawn(
        database: TestDatabase,
        shutdown: CancellationToken,
    ) -> anyhow::Result<TestApp> {
        Self::spawn_with(database, shutdown, |_| {}).await
    }

    /// Starts a server after `configure` adjusts the test configuration.
    pub async fn spawn_with(
        database: TestDatabase,
        shutdown: CancellationToken,
        configure: impl FnOnce(&mut Config),
    ) -> anyhow::Result<TestApp> {
        // reqwest is built without a default TLS provider; any test may be first to need one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut config = Config::default();
        config.database.url = DatabaseUrl::parse(database.url())?;
        config.auth.jwt_secret = Some(Secret::new(JWT_SECRET));
        config.secrets.master_key = Some(Secret::new(MASTER_KEY));
        config.auth.admin_username = ADMIN_USERNAME.into();
        config.auth.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        config.logging.level = "warn".into();
        configure(&mut config);
        Self::start(database, shutdown, config).await
    }

    async fn start(
        database: TestDatabase,
        shutdown: CancellationToken,
        mut config: Config,
    ) -> anyhow::Result<TestApp> {
        // Bound first, so what the server tells providers to call back (voice status callbacks)
        // is its real address.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        config.http.listen = address;
        let (app, _) = App::build(&config).await?;
        let engine = app.engine().clone();
        app.start_pipeline(&shutdown).await?;
        let server = tokio::spawn(app.serve(listener, shutdown.clone()));
        let mut test_app = TestApp {
            address,
            engine,
            client: reqwest::Client::builder().build()?,
            admin_token: String::new(),
            shutdown,
            server: Some(server),
            database: Some(database),
            config,
        };
        test_app.admin_token = test_app.login(ADMIN_USERNAME, ADMIN_PASSWORD).await?;
        Ok(test_app)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Logs in and returns the access token.
    pub async fn login(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let reply = self
            .call(
                Method::POST,
                "/auth/login",
                &Credential::None,
                Some(serde_json::json!({ "username": username, "password": password })),
            )
            .await?;
        anyhow::ensure!(
            reply.status == 200,
            "login failed: {} {}",
            reply.status,
            reply.text
        );
        Ok(reply.body["tokens"]["accessToken"]
            .as_str()
            .context("no accessToken")?
            .to_owned())
    }

    /// The bootstrap admin's credential.
    pub fn admin(&self) -> Credential {
        Credential::Bearer(self.admin_token.clone())
    }

    /// Sends a request with an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        credential: &Credential,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        let mut request = self.client.request(method, self.url(path));
        request = match credential {
            Credential::None => request,
            Credential::Bearer(token) => request.bearer_auth(token),
            Credential::ApiKey(key) => request.header("x-api-key", key),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::reply(request.send().await?).await
    }

    /// Turns a response into a `Reply`.
    pub async fn reply(response: reqwest::Response) -> anyhow::Result<Reply> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            headers,
            body,
            text,
        })
    }

    pub async fn get(&self, path: &str, credential: &Credential) -> anyhow::Result<Reply> {
        self.call(Method::GET, path, credential, None).await
    }

    pub async fn post(
        &self,
        path: &str,
        credential: &Credential,
        body: Value,
    ) -> anyhow::Result<Reply> {
        self.call(Method::POST, path, credential, Some(body)).await
    }

    pub async fn patch(
        &self,
        path: &str,
        credential: &Credential,
        body: Value,
    ) -> anyhow::Result<Reply> {
        self.call(Method::PATCH, path, credential, Some(body)).await
    }

    pub async fn delete(&self, path: &str, credential: &Credential) -> anyhow::Result<Reply> {
        self.call(Method::DELETE, path, credential, None).await
    }

    /// Waits until the messages webhooks accepted so far are stored and their runs queued.
    pub async fn wait_stored(&self) {
        self.engine.wait_stored().await;
    }

    /// Waits until every queued run and delivery has finished.
    pub async fn run_until_idle(&self) {
        self.engine.wait_idle().await;
    }

    /// Stops the server gracefully and starts a new one on the same store and configuration,
    /// as an operator's restart would.
    pub async fn restart(self) -> anyhow::Result<TestApp> {
        let config = self.config.clone();
        let database = self.stop_keeping_database().await?;
        Self::start(database, CancellationToken::new(), config).await
    }

    /// Stops the server and hands back its database, to be opened again later.
    pub async fn stop_keeping_database(mut self) -> anyhow::Result<TestDatabase> {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await??;
        }
        self.database.take().context("database already taken")
    }

    pub fn database(&self) -> Option<&TestDatabase> {
        self.database.as_ref()
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await??;
        }
        Ok(())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

//! Inbound rate limits: a caller over its quota, sign-ins per client address, webhooks to
//! channels that do not exist, and a username whose logins failed too often, each refused
//! with 429, `Retry-After` and the `RateLimit-*` headers.

use std::time::Duration;

use serde_json::json;
use switchboard_server::{Config, QuotaSetting};
use switchboard_test_support::{
    ADMIN_PASSWORD, Credential, Reply, TestApp, TestDatabase, backend_tests,
};
use tokio_util::sync::CancellationToken;

use crate::world::{error_code, user};

backend_tests!(
    a_caller_over_its_quota_gets_429_with_rate_limit_headers,
    sign_ins_are_limited_per_client_address,
    webhooks_to_unknown_channels_are_limited_per_client_address,
    a_username_with_ten_failed_logins_is_locked_right_password_or_not,
    disabled_limits_refuse_nothing_and_add_no_headers
);

async fn start_with(
    database: TestDatabase,
    configure: impl FnOnce(&mut Config),
) -> anyhow::Result<TestApp> {
    TestApp::spawn_with(database, CancellationToken::new(), configure).await
}

fn per_minute(requests: u32) -> QuotaSetting {
    QuotaSetting {
        requests,
        period: Duration::from_secs(60),
    }
}

fn header(reply: &Reply, name: &str) -> Option<u64> {
    reply.headers.get(name)?.to_str().ok()?.parse().ok()
}

/// Asserts `reply` is the rate limits' refusal, and answers its `Retry-After`.
fn assert_refused(reply: &Reply, limit: u64) -> u64 {
    assert_eq!(reply.status, 429, "{}", reply.text);
    assert_eq!(error_code(reply), "rate_limited");
    assert_eq!(reply.body["error"]["details"]["limit"], limit);
    assert_eq!(header(reply, "ratelimit-limit"), Some(limit));
    assert_eq!(header(reply, "ratelimit-remaining"), Some(0));
    assert!(header(reply, "ratelimit-reset").is_some_and(|seconds| seconds > 0));
    let retry_after = header(reply, "retry-after").unwrap_or_default();
    assert!(retry_after >= 1, "Retry-After: {retry_after}");
    retry_after
}

async fn a_caller_over_its_quota_gets_429_with_rate_limit_headers(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start_with(database, |config| config.limits.caller = per_minute(3)).await?;
    for remaining in [2, 1, 0] {
        let reply = app.get("/api/v1/contacts", &app.admin()).await?;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(header(&reply, "ratelimit-limit"), Some(3));
        assert_eq!(header(&reply, "ratelimit-remaining"), Some(remaining));
        assert!(reply.headers.get("retry-after").is_none());
    }
    let refused = app.get("/api/v1/contacts", &app.admin()).await?;
    let retry_after = assert_refused(&refused, 3);
    assert!(
        (19..=20).contains(&retry_after),
        "one request refills in 20 s"
    );
    // GraphQL counts against the same caller.
    let graphql = app
        .post("/graphql", &app.admin(), json!({"query": "{ me { id } }"}))
        .await?;
    assert_eq!(graphql.status, 429);
    // Requests without credentials are not counted against anyone.
    let other = app.login("admin", ADMIN_PASSWORD).await?;
    let reply = app
        .get("/api/v1/contacts", &Credential::Bearer(other))
        .await?;
    assert_eq!(
        reply.status, 429,
        "a second token of the same user shares its bucket"
    );
    let anonymous = app.get("/api/v1/contacts", &Credential::None).await?;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.headers.get("ratelimit-limit").is_none());
    Ok(())
}

async fn sign_ins_are_limited_per_client_address(database: TestDatabase) -> anyhow::Result<()> {
    // The test app's own login at start is the first of three.
    let app = start_with(database, |config| config.limits.sign_in = per_minute(3)).await?;
    let wrong = json!({"username": "nobody", "password": "wrong-password"});
    let first = app
        .post("/auth/login", &Credential::None, wrong.clone())
        .await?;
    assert_eq!(first.status, 401);
    let refresh = app
        .post(
            "/auth/refresh",
            &Credential::None,
            json!({"refreshToken": "not-a-token"}),
        )
        .await?;
    assert_eq!(refresh.status, 401);
    let refused = app.post("/auth/login", &Credential::None, wrong).await?;
    assert_refused(&refused, 3);
    let refused = app
        .post(
            "/auth/login",
            &Credential::None,
            json!({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        .await?;
    assert_refused(&refused, 3);
    // Authenticated routes are counted per caller, not per address.
    assert_eq!(app.get("/api/v1/contacts", &app.admin()).await?.status, 200);
    Ok(())
}

async fn webhooks_to_unknown_channels_are_limited_per_client_address(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start_with(database, |config| {
        config.limits.unknown_webhooks = per_minute(2);
    })
    .await?;
    let unknown = format!("/webhooks/api/{}", uuid::Uuid::now_v7());
    let body = json!({"messageId": "m1", "from": {"id": "u1"}, "text": "hi"});
    for _ in 0..2 {
        let reply = app.post(&unknown, &Credential::None, body.clone()).await?;
        assert_eq!(reply.status, 404, "{}", reply.text);
    }
    let refused = app.post(&unknown, &Credential::None, body).await?;
    assert_refused(&refused, 2);
    Ok(())
}

async fn a_username_with_ten_failed_logins_is_locked_right_password_or_not(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start_with(database, |_| {}).await?;
    let (_, _) = user(&app, &app.admin(), "victim", "member", None).await?;
    let attempt = |password: &str| {
        app.post(
            "/auth/login",
            &Credential::None,
            json!({"username": "victim", "password": password}),
        )
    };
    for _ in 0..10 {
        assert_eq!(attempt("wrong-password").await?.status, 401);
    }
    let locked = attempt("correct-horse-battery").await?;
    let retry_after = assert_refused(&locked, 10);
    assert!(
        (55..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    assert_eq!(attempt("wrong-password").await?.status, 429);
    // The same username in another case is the same username; others log in.
    let shouted = app
        .post(
            "/auth/login",
            &Credential::None,
            json!({"username": "VICTIM", "password": "correct-horse-battery"}),
        )
        .await?;
    assert_eq!(shouted.status, 429);
    let graphql = app
        .post(
            "/graphql",
            &Credential::None,
            json!({"query": "mutation { login(username: \"victim\", password: \"correct-horse-battery\") { accessToken } }"}),
        )
        .await?;
    assert_eq!(
        graphql.body["errors"][0]["extensions"]["code"],
        "rate_limited"
    );
    app.login("admin", ADMIN_PASSWORD).await?;
    Ok(())
}

async fn disabled_limits_refuse_nothing_and_add_no_headers(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start_with(database, |config| {
        config.limits.enabled = false;
        config.limits.caller = per_minute(1);
    })
    .await?;
    for _ in 0..3 {
        let reply = app.get("/api/v1/contacts", &app.admin()).await?;
        assert_eq!(reply.status, 200);
        assert!(reply.headers.get("ratelimit-limit").is_none());
    }
    Ok(())
}

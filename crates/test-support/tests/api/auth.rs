//! Login, refresh rotation, API keys and roles.

use serde_json::json;
use switchboard_test_support::{Credential, TestApp, TestDatabase, backend_tests};

use crate::world::{error_code, start, user};

backend_tests!(
    login_refresh_rotation_and_reuse_detection,
    a_login_form_is_read_like_json,
    roles_limit_what_callers_may_do,
    revoked_keys_and_deleted_users_stop_working,
    users_have_a_name_and_an_email_unique_in_their_tenant,
    logout_ends_the_session
);

async fn login_refresh_rotation_and_reuse_detection(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let wrong = app
        .post(
            "/auth/login",
            &Credential::None,
            json!({"username": "admin", "password": "wrong-password"}),
        )
        .await?;
    assert_eq!(wrong.status, 401);
    assert_eq!(error_code(&wrong), "unauthorized");
    let unknown = app
        .post(
            "/auth/login",
            &Credential::None,
            json!({"username": "nobody", "password": "wrong-password"}),
        )
        .await?;
    assert_eq!(unknown.status, 401);

    let login = app
        .post(
            "/auth/login",
            &Credential::None,
            json!({"username": "admin", "password": "test-admin-password"}),
        )
        .await?;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["user"]["role"], "platform-admin");
    assert!(
        login.body["tokens"]["expiresIn"]
            .as_u64()
            .is_some_and(|seconds| seconds > 0)
    );
    let first_refresh = login.body["tokens"]["refreshToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let refreshed = app
        .post(
            "/auth/refresh",
            &Credential::None,
            json!({"refreshToken": first_refresh}),
        )
        .await?;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let access = refreshed.body["tokens"]["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let second_refresh = refreshed.body["tokens"]["refreshToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(first_refresh, second_refresh);
    assert_eq!(
        app.get("/api/v1/credits", &Credential::Bearer(access))
            .await?
            .status,
        200
    );

    // Presenting a spent token revokes the whole session: the newer token stops working too.
    let reused = app
        .post(
            "/auth/refresh",
            &Credential::None,
            json!({"refreshToken": first_refresh}),
        )
        .await?;
    assert_eq!(reused.status, 401);
    let after_reuse = app
        .post(
            "/auth/refresh",
            &Credential::None,
            json!({"refreshToken": second_refresh}),
        )
        .await?;
    assert_eq!(after_reuse.status, 401, "{}", after_reuse.text);
    app.stop().await
}

async fn roles_limit_what_callers_may_do(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let platform = app.admin();
    let (_, admin) = user(&app, &platform, "tenant-admin", "admin", None).await?;
    let (_, agent) = user(&app, &admin, "operator", "agent", None).await?;
    let (_, viewer) = user(&app, &admin, "watcher", "viewer", None).await?;
    let world = crate::world::fixture(&app, &admin).await?;
    let messages = format!("/api/v1/conversations/{}/messages", world.conversation);

    let forbidden = [
        app.get("/api/v1/tenants", &admin).await?,
        app.post("/api/v1/tenants", &admin, json!({"name": "x"}))
            .await?,
        app.post(
            "/api/v1/users",
            &admin,
            json!({"username": "boss", "password": "long-enough-1", "role": "platform-admin"}),
        )
        .await?,
        app.post(
            "/api/v1/channels",
            &agent,
            json!({"kind": "api", "name": "x", "config": {"signingSecret": "s"}}),
        )
        .await?,
        app.post(
            "/api/v1/credits/grants",
            &agent,
            json!({"amount": 5, "reason": "x", "idempotencyKey": "k"}),
        )
        .await?,
        app.post(&messages, &viewer, json!({"text": "hi"})).await?,
        app.post(
            "/api/v1/api-keys",
            &agent,
            json!({"name": "k", "role": "admin"}),
        )
        .await?,
        app.get("/admin/database/metrics", &admin).await?,
    ];
    for reply in forbidden {
        assert_eq!(reply.status, 403, "{}", reply.text);
        assert_eq!(error_code(&reply), "forbidden");
    }
    assert_eq!(
        app.post(&messages, &agent, json!({"text": "on it"}))
            .await?
            .status,
        201
    );
    assert_eq!(app.get(&messages, &viewer).await?.status, 200);
    assert_eq!(app.get("/api/v1/tenants", &platform).await?.status, 200);

    // A platform admin acts inside another tenant with X-Tenant-Id: they may post there (they
    // keep no read marker, not being one of its users); other roles may not switch tenants.
    let tenant = app.get("/api/v1/users", &admin).await?.body["data"][0]["tenantId"].clone();
    let tenant = tenant.as_str().unwrap_or_default().to_owned();
    let Credential::Bearer(platform_token) = &platform else {
        anyhow::bail!("bearer expected")
    };
    let posted = app
        .client
        .post(app.url(&messages))
        .bearer_auth(platform_token)
        .header("x-tenant-id", &tenant)
        .json(&json!({"text": "from the platform"}))
        .send()
        .await?;
    assert_eq!(posted.status(), 201);
    let Credential::Bearer(admin_token) = &admin else {
        anyhow::bail!("bearer expected")
    };
    let switched = app
        .client
        .get(app.url("/api/v1/contacts"))
        .bearer_auth(admin_token)
        .header("x-tenant-id", uuid::Uuid::now_v7().to_string())
        .send()
        .await?;
    assert_eq!(switched.status(), 403);

    // A viewer's key is read-only like the viewer.
    let key = app
        .post("/api/v1/api-keys", &viewer, json!({"name": "dashboard"}))
        .await?;
    assert_eq!(key.body["role"], "viewer");
    let viewer_key = Credential::ApiKey(key.str("key"));
    assert_eq!(app.get(&messages, &viewer_key).await?.status, 200);
    assert_eq!(
        app.post(&messages, &viewer_key, json!({"text": "hi"}))
            .await?
            .status,
        403
    );
    app.stop().await
}

async fn revoked_keys_and_deleted_users_stop_working(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let key = app
        .post("/api/v1/api-keys", &admin, json!({"name": "ci"}))
        .await?;
    assert_eq!(key.status, 201, "{}", key.text);
    assert!(key.str("key").starts_with("sb_"));
    let listed = app.get("/api/v1/api-keys", &admin).await?;
    assert!(
        !listed.text.contains(&key.str("key")),
        "key shown again: {}",
        listed.text
    );
    let credential = Credential::ApiKey(key.str("key"));
    assert_eq!(app.get("/api/v1/credits", &credential).await?.status, 200);
    assert_eq!(
        app.delete(&format!("/api/v1/api-keys/{}", key.str("id")), &admin)
            .await?
            .status,
        204
    );
    assert_eq!(app.get("/api/v1/credits", &credential).await?.status, 401);
    let forged = Credential::ApiKey(format!("{}x", &key.str("key")[..key.str("key").len() - 1]));
    assert_eq!(app.get("/api/v1/credits", &forged).await?.status, 401);

    let (user_id, operator) = user(&app, &admin, "leaver", "agent", None).await?;
    let their_key = app
        .post("/api/v1/api-keys", &operator, json!({"name": "theirs"}))
        .await?;
    assert_eq!(
        app.delete(&format!("/api/v1/users/{user_id}"), &admin)
            .await?
            .status,
        204
    );
    let after = app
        .get("/api/v1/credits", &Credential::ApiKey(their_key.str("key")))
        .await?;
    assert_eq!(after.status, 401, "{}", after.text);
    let login = app
        .post(
            "/auth/login",
            &Credential::None,
            json!({"username": "leaver", "password": "correct-horse-battery"}),
        )
        .await?;
    assert_eq!(login.status, 401);
    app.stop().await
}

/// `application/x-www-form-urlencoded` logins (scripts, load tools) get the JSON login's answers.
async fn a_login_form_is_read_like_json(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let login = |body: &'static str| {
        let request = app
            .client
            .post(app.url("/auth/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        async move { TestApp::reply(request.send().await?).await }
    };
    let accepted = login("username=admin&password=test-admin-password").await?;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.body["user"]["username"], "admin");
    let token = accepted.body["tokens"]["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let me = app
        .get("/api/v1/conversations", &Credential::Bearer(token))
        .await?;
    assert_eq!(me.status, 200, "the token works: {}", me.text);

    let wrong = login("username=admin&password=wrong-password").await?;
    assert_eq!(wrong.status, 401);
    assert_eq!(error_code(&wrong), "unauthorized");
    let missing = login("username=admin").await?;
    assert_eq!(missing.status, 422, "{}", missing.text);
    assert!(missing.text.contains("password"), "{}", missing.text);
    let json_missing = app
        .post(
            "/auth/login",
            &Credential::None,
            json!({"username": "admin"}),
        )
        .await?;
    assert_eq!(
        error_code(&missing),
        error_code(&json_missing),
        "same errors"
    );
    Ok(())
}

async fn users_have_a_name_and_an_email_unique_in_their_tenant(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let ada = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "ada", "password": "correct-horse-battery", "role": "agent",
                   "name": "Ada Lovelace", "email": "Ada@Example.com"}),
        )
        .await?;
    assert_eq!(ada.status, 201, "{}", ada.text);
    assert_eq!(ada.body["name"], "Ada Lovelace");
    assert_eq!(ada.body["email"], "ada@example.com", "stored in lower case");

    let same_address = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "ada2", "password": "correct-horse-battery", "role": "agent",
                   "email": "ADA@example.com"}),
        )
        .await?;
    assert_eq!(same_address.status, 409, "{}", same_address.text);
    assert_eq!(error_code(&same_address), "conflict");

    for bad in [
        "no-at-sign",
        "two@@example.com",
        "space @example.com",
        "ada@localhost",
    ] {
        let refused = app
            .post(
                "/api/v1/users",
                &admin,
                json!({"username": "ada3", "password": "correct-horse-battery", "role": "agent",
                       "email": bad}),
            )
            .await?;
        assert_eq!(refused.status, 422, "{bad}: {}", refused.text);
        assert_eq!(
            refused.body["error"]["details"]["field"], "email",
            "{}",
            refused.text
        );
    }

    let renamed = app
        .patch(
            &format!("/api/v1/users/{}", ada.str("id")),
            &admin,
            json!({"name": "Countess of Lovelace"}),
        )
        .await?;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "Countess of Lovelace");
    assert_eq!(renamed.body["email"], "ada@example.com", "unchanged");
    Ok(())
}

async fn logout_ends_the_session(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let session = || {
        let app = &app;
        async move {
            let login = app
                .post(
                    "/auth/login",
                    &Credential::None,
                    json!({"username": switchboard_test_support::ADMIN_USERNAME,
                           "password": switchboard_test_support::ADMIN_PASSWORD}),
                )
                .await?;
            anyhow::ensure!(login.status == 200, "{}", login.text);
            anyhow::Ok(login.body["tokens"]["refreshToken"].clone())
        }
    };
    let refresh = |token: serde_json::Value| {
        let app = &app;
        async move {
            app.post(
                "/auth/refresh",
                &Credential::None,
                json!({"refreshToken": token}),
            )
            .await
        }
    };
    let logout = |body: serde_json::Value| {
        let app = &app;
        async move { app.post("/auth/logout", &Credential::None, body).await }
    };

    let first = session().await?;
    let other = session().await?;
    let refreshed = refresh(first).await?;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let next = refreshed.body["tokens"]["refreshToken"].clone();

    // Logging out with the newest token of a session ends it; another session goes on.
    let out = logout(json!({"refreshToken": next})).await?;
    assert_eq!(out.status, 204, "{}", out.text);
    let after = refresh(next).await?;
    assert_eq!(after.status, 401, "{}", after.text);
    let elsewhere = refresh(other).await?;
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.text);

    // An unknown token is no error; a body without one is refused.
    let unknown = logout(json!({"refreshToken": "no-such-token"})).await?;
    assert_eq!(unknown.status, 204, "{}", unknown.text);
    let empty = logout(json!({})).await?;
    assert_eq!(empty.status, 422, "{}", empty.text);
    app.stop().await
}

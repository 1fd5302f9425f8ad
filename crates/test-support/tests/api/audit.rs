//! The audit log over HTTP: admins' changes are recorded with who, what, when and from where,
//! never with a secret's value; filters and pages work; a tenant's admin reads their tenant's
//! log only, a platform admin every tenant's; other roles are refused.

use serde_json::{Value, json};
use switchboard_test_support::{Credential, TestApp, TestDatabase, backend_tests};

use crate::world::{created, error_code, start, user};

backend_tests!(
    admin_changes_are_recorded_with_their_origin_and_no_secret,
    the_log_is_the_tenants_own_and_every_tenants_for_the_platform,
);

const SECRETS: &[&str] = &[
    "audit-app-secret-11",
    "audit-verify-token-22",
    "audit-access-token-33",
    "audit-rotated-token-44",
    "audit-openai-key-55",
];

/// A POST with a browser's user agent and a request id of the test's choosing.
async fn post_from_console(
    app: &TestApp,
    path: &str,
    credential: &Credential,
    body: Value,
) -> anyhow::Result<switchboard_test_support::Reply> {
    let Credential::Bearer(token) = credential else {
        anyhow::bail!("a bearer token is expected");
    };
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header("user-agent", "audit-console/1.0")
        .header("x-request-id", "audit-request-7")
        .json(&body)
        .send()
        .await?;
    TestApp::reply(response).await
}

fn actions(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|event| event["action"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn admin_changes_are_recorded_with_their_origin_and_no_secret(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let channel = created(
        post_from_console(
            &app,
            "/api/v1/channels",
            &admin,
            json!({"kind": "whatsapp", "name": "Support", "config": {
                "phoneNumberId": "5550001",
                "appSecret": SECRETS[0],
                "verifyToken": SECRETS[1],
                "accessToken": SECRETS[2],
            }}),
        )
        .await?,
    )?;
    let patched = app
        .patch(
            &format!("/api/v1/channels/{channel}"),
            &admin,
            json!({"name": "Support desk", "config": {"accessToken": SECRETS[3]}}),
        )
        .await?;
    assert_eq!(patched.status, 200, "{}", patched.text);
    created(
        app.post(
            "/api/v1/agents",
            &admin,
            json!({"name": "Model", "kind": "openai", "config": {"apiKey": SECRETS[4], "model": "m"}}),
        )
        .await?,
    )?;
    let grant = json!({"amount": 70, "reason": "trial", "idempotencyKey": "audit-grant"});
    assert_eq!(
        app.post("/api/v1/credits/grants", &admin, grant.clone())
            .await?
            .status,
        201
    );
    assert_eq!(
        app.post("/api/v1/credits/grants", &admin, grant)
            .await?
            .status,
        200,
        "a replayed grant changes nothing and is not recorded again"
    );
    let (viewer_id, viewer) = user(&app, &admin, "audit-viewer", "viewer", None).await?;
    let key = app
        .post("/api/v1/api-keys", &admin, json!({"name": "ci"}))
        .await?;
    let revoked = app
        .delete(&format!("/api/v1/api-keys/{}", key.str("id")), &admin)
        .await?;
    assert_eq!(revoked.status, 204);
    assert_eq!(
        app.delete(&format!("/api/v1/channels/{channel}"), &admin)
            .await?
            .status,
        204
    );

    let log = app.get("/api/v1/audit", &admin).await?;
    assert_eq!(log.status, 200, "{}", log.text);
    assert_eq!(
        actions(&log.body),
        [
            "channel.deleted",
            "api_key.revoked",
            "api_key.created",
            "user.created",
            "credits.granted",
            "agent.created",
            "channel.updated",
            "channel.created",
        ],
        "newest first, one event per change"
    );
    for secret in SECRETS {
        assert!(!log.text.contains(secret), "{secret} is in the audit log");
    }
    let first = &log.body["data"][7];
    assert_eq!(first["resourceId"], channel.as_str());
    assert_eq!(first["resource"], "channel");
    assert_eq!(first["actorRole"], "platform-admin");
    assert_eq!(first["origin"]["ip"], "127.0.0.1");
    assert_eq!(first["origin"]["userAgent"], "audit-console/1.0");
    assert_eq!(first["origin"]["requestId"], "audit-request-7");
    assert_eq!(first["details"]["kind"], "whatsapp");
    let updated = &log.body["data"][6];
    assert_eq!(
        updated["details"]["fields"],
        json!(["name", "config.accessToken"]),
        "the names of what changed, not the values"
    );
    assert_eq!(log.body["data"][3]["resourceId"], viewer_id.as_str());

    let only = app
        .get("/api/v1/audit?action=channel.updated", &admin)
        .await?;
    assert_eq!(actions(&only.body), ["channel.updated"]);
    let agents = app.get("/api/v1/audit?resource=agent", &admin).await?;
    assert_eq!(actions(&agents.body), ["agent.created"]);
    let actor = first["actorUserId"].as_str().unwrap_or_default();
    let by_actor = app
        .get(&format!("/api/v1/audit?actor={actor}&limit=3"), &admin)
        .await?;
    assert_eq!(by_actor.body["data"].as_array().map(Vec::len), Some(3));
    let cursor = by_actor.str("nextCursor");
    let next = app
        .get(
            &format!("/api/v1/audit?actor={actor}&limit=3&cursor={cursor}"),
            &admin,
        )
        .await?;
    assert_eq!(
        actions(&next.body),
        ["user.created", "credits.granted", "agent.created"]
    );
    let future = app
        .get("/api/v1/audit?from=2999-01-01T00:00:00Z", &admin)
        .await?;
    assert_eq!(actions(&future.body), Vec::<String>::new());
    let bad = app.get("/api/v1/audit?from=yesterday", &admin).await?;
    assert_eq!(bad.status, 422, "{}", bad.text);

    let refused = app.get("/api/v1/audit", &viewer).await?;
    assert_eq!(refused.status, 403);
    assert_eq!(error_code(&refused), "forbidden");
    app.stop().await
}

async fn the_log_is_the_tenants_own_and_every_tenants_for_the_platform(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start(database).await?;
    let platform = app.admin();
    let tenant = created(
        app.post("/api/v1/tenants", &platform, json!({"name": "Audited"}))
            .await?,
    )?;
    let (_, tenant_admin) = user(&app, &platform, "audited-admin", "admin", Some(&tenant)).await?;
    created(
        app.post(
            "/api/v1/agents",
            &tenant_admin,
            json!({"name": "Echo", "kind": "echo"}),
        )
        .await?,
    )?;

    let own = app.get("/api/v1/audit", &tenant_admin).await?;
    assert_eq!(
        actions(&own.body),
        ["agent.created", "user.created", "tenant.created"],
        "the tenant's own events, its creation and first admin included"
    );
    let everything = app
        .get("/api/v1/audit?allTenants=true", &tenant_admin)
        .await?;
    assert_eq!(everything.status, 403, "{}", everything.text);

    let platform_own = app.get("/api/v1/audit", &platform).await?;
    assert_eq!(
        actions(&platform_own.body),
        Vec::<String>::new(),
        "the platform admin's own tenant saw no change"
    );
    let across = app.get("/api/v1/audit?allTenants=true", &platform).await?;
    assert_eq!(actions(&across.body).len(), 3);
    let Credential::Bearer(token) = &platform else {
        anyhow::bail!("the platform admin logs in with a token");
    };
    let inside = app
        .client
        .get(app.url("/api/v1/audit?resource=agent"))
        .bearer_auth(token)
        .header("x-tenant-id", &tenant)
        .send()
        .await?;
    let inside = TestApp::reply(inside).await?;
    assert_eq!(
        actions(&inside.body),
        ["agent.created"],
        "inside the tenant, as X-Tenant-Id says"
    );

    // GraphQL's mutations are the same use cases, recorded with the request's origin too.
    let mutation = "mutation { grantCredits(amount: 5, reason: \"gql\", idempotencyKey: \"audit-gql\") { created } }";
    let granted =
        post_from_console(&app, "/graphql", &tenant_admin, json!({"query": mutation})).await?;
    assert_eq!(
        granted.body["data"]["grantCredits"]["created"], true,
        "{}",
        granted.text
    );
    let grants = app
        .get("/api/v1/audit?action=credits.granted", &tenant_admin)
        .await?;
    assert_eq!(grants.body["data"][0]["details"]["amount"], 5);
    assert_eq!(
        grants.body["data"][0]["origin"]["userAgent"],
        "audit-console/1.0"
    );
    assert_eq!(
        grants.body["data"][0]["origin"]["requestId"],
        "audit-request-7"
    );
    app.stop().await
}

//! GraphQL at `/graphql`: the resources REST serves, read with the caller's tenant and role;
//! errors with REST's codes in `extensions.code`; depth bounded.

use serde_json::{Value, json};
use switchboard_test_support::{Credential, TestApp, TestDatabase, backend_tests};

use crate::world::{created, error_code, fixture, start, user};

backend_tests!(
    queries_read_what_rest_serves,
    another_tenants_conversation_is_not_found,
    graphql_needs_credentials_and_bounds_depth
);

/// Runs `query` with `variables` as `credential`; the reply's body.
async fn graphql(
    app: &TestApp,
    credential: &Credential,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let reply = app
        .post(
            "/graphql",
            credential,
            json!({"query": query, "variables": variables}),
        )
        .await?;
    anyhow::ensure!(reply.status == 200, "{} {}", reply.status, reply.text);
    Ok(reply.body)
}

async fn queries_read_what_rest_serves(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;
    for text in ["first", "second", "third"] {
        let sent = app
            .post(
                &format!("/api/v1/conversations/{}/messages", world.conversation),
                &admin,
                json!({"text": text}),
            )
            .await?;
        anyhow::ensure!(sent.status == 201, "{}", sent.text);
    }

    let me = graphql(&app, &admin, "{ me { username role } }", json!({})).await?;
    assert_eq!(me["data"]["me"]["username"], "admin", "{me}");

    let users = graphql(
        &app,
        &admin,
        "query { users(pagination: { first: 10 }) { edges { node { id username } } pageInfo { hasNextPage } } }",
        json!({}),
    )
    .await?;
    let names: Vec<&str> = users["data"]["users"]["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .filter_map(|edge| edge["node"]["username"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(names.contains(&"admin"), "{users}");

    let listed = graphql(
        &app,
        &admin,
        "query($id: ID!) {
           conversations { edges { node { id status unreadCount lastMessage { text } } } }
           conversation(id: $id) {
             id
             messages(pagination: { first: 2 }) {
               edges { node { text seq } cursor }
               pageInfo { hasNextPage endCursor }
             }
             participants { role }
           }
         }",
        json!({"id": world.conversation}),
    )
    .await?;
    assert!(listed["errors"].is_null(), "{listed}");
    let conversation = &listed["data"]["conversation"];
    assert_eq!(conversation["id"], world.conversation.as_str());
    let page = &conversation["messages"];
    assert_eq!(
        page["edges"][0]["node"]["text"], "third",
        "newest first: {page}"
    );
    assert_eq!(page["edges"][1]["node"]["text"], "second");
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let end = page["pageInfo"]["endCursor"].clone();
    assert_eq!(
        page["edges"][1]["cursor"], end,
        "the last edge's cursor is the end"
    );
    let rest = graphql(
        &app,
        &admin,
        "query($id: ID!, $after: String) {
           conversation(id: $id) { messages(pagination: { first: 2, after: $after }) { edges { node { text } } pageInfo { hasNextPage } } }
         }",
        json!({"id": world.conversation, "after": end}),
    )
    .await?;
    let older = &rest["data"]["conversation"]["messages"];
    assert_eq!(older["edges"][0]["node"]["text"], "first", "{rest}");
    assert_eq!(older["pageInfo"]["hasNextPage"], false);

    let listed_ids: Vec<&str> = listed["data"]["conversations"]["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .filter_map(|edge| edge["node"]["id"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        listed_ids.contains(&world.conversation.as_str()),
        "{listed}"
    );

    let found = graphql(
        &app,
        &admin,
        "{ searchMessages(q: \"second\") { edges { node { rank message { text } } } } credits { balance } }",
        json!({}),
    )
    .await?;
    assert_eq!(
        found["data"]["searchMessages"]["edges"][0]["node"]["message"]["text"], "second",
        "{found}"
    );
    assert!(found["data"]["credits"]["balance"].is_i64(), "{found}");
    Ok(())
}

async fn another_tenants_conversation_is_not_found(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let platform = app.admin();
    let tenant_b = created(
        app.post("/api/v1/tenants", &platform, json!({"name": "Tenant B"}))
            .await?,
    )?;
    let (_, admin_b) = user(&app, &platform, "admin-b", "admin", Some(&tenant_b)).await?;
    let theirs = fixture(&app, &admin_b).await?;
    let (_, viewer) = user(&app, &platform, "viewer-a", "viewer", None).await?;

    let query = "query($id: ID!) { conversation(id: $id) { id } }";
    let answer = graphql(&app, &viewer, query, json!({"id": theirs.conversation})).await?;
    assert!(answer["data"].is_null(), "{answer}");
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "not_found",
        "{answer}"
    );

    let garbage = graphql(&app, &viewer, query, json!({"id": "not-an-id"})).await?;
    assert_eq!(
        garbage["errors"][0]["extensions"]["code"], "bad_request",
        "{garbage}"
    );

    let tenants = graphql(
        &app,
        &viewer,
        "{ tenants { edges { node { id } } } }",
        json!({}),
    )
    .await?;
    assert_eq!(
        tenants["errors"][0]["extensions"]["code"], "forbidden",
        "{tenants}"
    );
    Ok(())
}

async fn graphql_needs_credentials_and_bounds_depth(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let anonymous = app
        .post(
            "/graphql",
            &Credential::None,
            json!({"query": "{ me { id } }"}),
        )
        .await?;
    assert_eq!(anonymous.status, 401);
    assert_eq!(error_code(&anonymous), "unauthorized");

    let nested = graphql(
        &app,
        &app.admin(),
        "{ conversations { edges { node { messages { edges { node { text } } } } } } }",
        json!({}),
    )
    .await?;
    assert!(
        nested["errors"].is_null(),
        "within the depth limit: {nested}"
    );
    let mut deep = "name".to_owned();
    for _ in 0..9 {
        deep = format!("ofType {{ {deep} }}");
    }
    let too_deep = format!("{{ __schema {{ types {{ fields {{ type {{ {deep} }} }} }} }} }}");
    let answer = graphql(&app, &app.admin(), &too_deep, json!({})).await?;
    assert!(answer["data"].is_null(), "{answer}");
    let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("nested too deep"), "{answer}");
    Ok(())
}

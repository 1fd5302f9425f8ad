//! GraphQL at `/graphql`: the resources REST serves, read with the caller's tenant and role;
//! errors with REST's codes in `extensions.code`; depth and complexity bounded; a list's items'
//! contacts, channels and participants read for the whole list at once.

use anyhow::Context as _;
use serde_json::{Value, json};
use switchboard_test_support::{Credential, TestApp, TestDatabase, backend_tests};
use tokio_util::sync::CancellationToken;

use crate::world::{created, error_code, fixture, start, user};

backend_tests!(
    queries_read_what_rest_serves,
    mutations_change_what_rest_changes,
    another_tenants_conversation_is_not_found,
    graphql_needs_credentials_and_bounds_depth,
    introspection_and_depth_follow_the_configuration,
    graphiql_is_served_from_the_binary,
    a_page_of_conversations_costs_the_same_reads_whatever_its_size,
    complexity_counts_each_row_a_page_may_hold
);

/// Runs `query` with `variables` as `credential`; the reply's body.
pub async fn graphql(
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

    let named = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": "grace", "password": "correct-horse-battery", "role": "agent",
                   "name": "Grace Hopper", "email": "grace@example.com"}),
        )
        .await?;
    anyhow::ensure!(named.status == 201, "{}", named.text);
    let me = graphql(&app, &admin, "{ me { username role } }", json!({})).await?;
    assert_eq!(me["data"]["me"]["username"], "admin", "{me}");

    let users = graphql(
        &app,
        &admin,
        "query { users(pagination: { first: 10 }) { edges { node { id username name email } } pageInfo { hasNextPage } } }",
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
    let grace = users["data"]["users"]["edges"]
        .as_array()
        .and_then(|edges| {
            edges
                .iter()
                .find(|edge| edge["node"]["username"] == "grace")
        })
        .map(|edge| edge["node"].clone())
        .unwrap_or_default();
    assert_eq!(grace["name"], "Grace Hopper", "{users}");
    assert_eq!(grace["email"], "grace@example.com", "{users}");

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

async fn mutations_change_what_rest_changes(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;
    let (operator_id, _) = user(&app, &admin, "operator-1", "agent", None).await?;

    let login = app
        .post(
            "/graphql",
            &Credential::None,
            json!({"query": "mutation { login(username: \"operator-1\", password: \"correct-horse-battery\") { accessToken expiresIn user { username } } }"}),
        )
        .await?;
    assert_eq!(
        login.status, 200,
        "login needs no credentials: {}",
        login.text
    );
    let token = login.body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!token.is_empty(), "{}", login.text);
    let operator = Credential::Bearer(token);
    let wrong = graphql(
        &app,
        &Credential::None,
        "mutation { login(username: \"operator-1\", password: \"wrong-password-here\") { accessToken } }",
        json!({}),
    )
    .await?;
    assert_eq!(
        wrong["errors"][0]["extensions"]["code"], "unauthorized",
        "{wrong}"
    );

    let without_contact = graphql(
        &app,
        &operator,
        "mutation($channel: ID!) { createConversation(channelId: $channel) { id } }",
        json!({"channel": world.channel}),
    )
    .await?;
    let refusal = &without_contact["errors"][0];
    assert_eq!(
        refusal["extensions"]["code"], "validation_failed",
        "{without_contact}"
    );
    assert_eq!(
        refusal["extensions"]["details"]["field"], "contactId",
        "{without_contact}"
    );
    let contact = graphql(
        &app,
        &operator,
        "mutation { createContact(name: \"Ada\", phone: \"+15550001111\") { id name } }",
        json!({}),
    )
    .await?;
    assert_eq!(contact["data"]["createContact"]["name"], "Ada", "{contact}");
    let made = graphql(
        &app,
        &operator,
        "mutation($channel: ID!, $contact: ID!) { createConversation(channelId: $channel, contactId: $contact) { id status } }",
        json!({"channel": world.channel, "contact": contact["data"]["createContact"]["id"]}),
    )
    .await?;
    assert!(made["errors"].is_null(), "{made}");
    let conversation = made["data"]["createConversation"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let sent = graphql(
        &app,
        &operator,
        "mutation($id: ID!) { sendMessage(conversationId: $id, text: \"hello from graphql\") { id seq text authorKind } }",
        json!({"id": conversation}),
    )
    .await?;
    assert_eq!(
        sent["data"]["sendMessage"]["text"], "hello from graphql",
        "{sent}"
    );
    let message_id = sent["data"]["sendMessage"]["id"].clone();
    let rest = app
        .get(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &operator,
        )
        .await?;
    assert_eq!(
        rest.body["data"][0]["text"], "hello from graphql",
        "REST sees it: {}",
        rest.text
    );

    let changed = graphql(
        &app,
        &operator,
        "mutation($id: ID!, $operator: ID!) {
           markRead(conversationId: $id) { lastReadSeq }
           handOff(conversationId: $id, assigneeId: $operator) { status }
           release(conversationId: $id) { status }
           setConversationStatus(conversationId: $id, status: \"resolved\") { status }
         }",
        json!({"id": conversation, "operator": operator_id}),
    )
    .await?;
    assert!(changed["errors"].is_null(), "{changed}");
    assert_eq!(changed["data"]["markRead"]["lastReadSeq"], 1);
    assert_eq!(changed["data"]["handOff"]["status"], "pending");
    assert_eq!(changed["data"]["release"]["status"], "open");
    assert_eq!(
        changed["data"]["setConversationStatus"]["status"],
        "resolved"
    );
    let unknown = graphql(
        &app,
        &operator,
        "mutation($id: ID!) { setConversationStatus(conversationId: $id, status: \"closed\") { status } }",
        json!({"id": conversation}),
    )
    .await?;
    let refusal = &unknown["errors"][0];
    assert_eq!(refusal["extensions"]["code"], "bad_request", "{unknown}");
    assert!(
        refusal["message"]
            .as_str()
            .unwrap_or_default()
            .contains("resolved"),
        "the accepted words are named: {unknown}"
    );

    let deleted = graphql(
        &app,
        &operator,
        "mutation($id: ID!) { deleteMessage(messageId: $id) { deletedAt text } }",
        json!({"id": message_id}),
    )
    .await?;
    assert!(
        deleted["data"]["deleteMessage"]["deletedAt"].is_string(),
        "{deleted}"
    );

    let grant = "mutation { grantCredits(amount: 25, reason: \"top-up\", idempotencyKey: \"gql-1\") { created entry { amount balanceAfter } } }";
    let first = graphql(&app, &admin, grant, json!({})).await?;
    assert_eq!(first["data"]["grantCredits"]["created"], true, "{first}");
    let again = graphql(&app, &admin, grant, json!({})).await?;
    assert_eq!(
        again["data"]["grantCredits"]["created"], false,
        "replayed: {again}"
    );
    assert_eq!(
        again["data"]["grantCredits"]["entry"]["balanceAfter"],
        first["data"]["grantCredits"]["entry"]["balanceAfter"]
    );
    let refused = graphql(&app, &operator, grant, json!({})).await?;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "forbidden",
        "{refused}"
    );

    let issued = graphql(
        &app,
        &admin,
        "mutation { createApiKey(name: \"ci\", role: \"viewer\") { key apiKey { role } } }",
        json!({}),
    )
    .await?;
    let key = issued["data"]["createApiKey"]["key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let by_key = graphql(
        &app,
        &Credential::ApiKey(key),
        "{ me { username } }",
        json!({}),
    )
    .await?;
    assert_eq!(by_key["data"]["me"]["username"], "admin", "{by_key}");

    let missing = graphql(
        &app,
        &admin,
        "mutation($id: ID!) { retryDeadLetter(id: $id) { id } }",
        json!({"id": "0190f1e8-0000-7000-8000-000000000000"}),
    )
    .await?;
    assert_eq!(
        missing["errors"][0]["extensions"]["code"], "not_found",
        "{missing}"
    );
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

    let schema = graphql(
        &app,
        &app.admin(),
        "{ __schema { queryType { name } } }",
        json!({}),
    )
    .await?;
    assert_eq!(
        schema["data"]["__schema"]["queryType"]["name"], "Query",
        "introspection is on by default: {schema}"
    );
    let nested = graphql(
        &app,
        &app.admin(),
        "{ conversations(pagination: { first: 10 }) { edges { node { messages(pagination: { first: 10 }) { edges { node { text } } } } } } }",
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

async fn introspection_and_depth_follow_the_configuration(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = TestApp::spawn_with(database, CancellationToken::new(), |config| {
        config.graphql.introspection = false;
        config.graphql.max_depth = 4;
    })
    .await?;
    let admin = app.admin();
    let introspection = graphql(
        &app,
        &admin,
        "{ __schema { queryType { name } } }",
        json!({}),
    )
    .await?;
    assert!(
        introspection["data"]["__schema"].is_null(),
        "switched off: {introspection}"
    );
    let deep = graphql(
        &app,
        &admin,
        "{ conversations(pagination: { first: 1 }) { edges { node { messages(pagination: { first: 1 }) { edges { node { id } } } } } } }",
        json!({}),
    )
    .await?;
    let message = deep["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("nested too deep"),
        "depth 4 is the limit now: {deep}"
    );
    let shallow = graphql(&app, &admin, "{ me { username } }", json!({})).await?;
    assert_eq!(shallow["data"]["me"]["username"], "admin", "{shallow}");
    Ok(())
}

async fn graphiql_is_served_from_the_binary(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let http = reqwest::Client::builder().no_gzip().build()?;
    let page = http
        .get(app.url("/graphql"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await?;
    assert_eq!(page.status(), 200);
    let page = page.text().await?;
    assert!(page.contains("/graphql/assets/graphiql.min.js"), "{page}");
    assert!(
        !page.contains("https://"),
        "nothing comes from the internet: {page}"
    );

    // Every script and style the page loads is served, gzipped to browsers, plain to others.
    for asset in page
        .split('"')
        .filter(|part| part.starts_with("/graphql/assets/"))
    {
        let gzipped = http
            .get(app.url(asset))
            .header("accept-encoding", "gzip, br")
            .send()
            .await?;
        assert_eq!(gzipped.status(), 200, "{asset}");
        let plain = http.get(app.url(asset)).send().await?;
        assert_eq!(plain.status(), 200, "{asset}");
        assert!(plain.headers().get("content-encoding").is_none(), "{asset}");
        let plain = plain.bytes().await?;
        assert!(
            !plain.is_empty() && std::str::from_utf8(&plain).is_ok(),
            "{asset}"
        );
        if asset.ends_with(".min.js") || asset.ends_with(".css") {
            assert_eq!(gzipped.headers()["content-encoding"], "gzip", "{asset}");
            assert!(gzipped.bytes().await?.len() < plain.len(), "{asset}");
        }
    }
    let missing = http.get(app.url("/graphql/assets/nope.js")).send().await?;
    assert_eq!(missing.status(), 404);

    // Neither a browser nor a WebSocket: GET is not how queries are sent.
    let bare = app.get("/graphql", &app.admin()).await?;
    assert_eq!(bare.status, 405, "{}", bare.text);
    assert_eq!(error_code(&bare), "method_not_allowed");
    Ok(())
}

/// The conversations list as an operator's dashboard asks for it: each conversation's contact,
/// channel, participants, unread count and last message.
const CONVERSATIONS_PAGE: &str = "{ conversations {
    edges { node { id unreadCount lastMessage { text } contact { name phone } channel { name } participants { role } } }
    pageInfo { hasNextPage } } }";

/// Reads the conversations page as `credential`: the reply, and the statements the store ran
/// on its read pool meanwhile.
async fn read_conversations_page(
    app: &TestApp,
    credential: &Credential,
) -> anyhow::Result<(Value, u64)> {
    // Nothing else is at work: every message stored, every delivery done. The count is of
    // every read the server runs, and background loops (the dialer's rounds, follow-ups) read
    // now and then; they only ever add, so the fewest of three tries is the page's own.
    app.run_until_idle().await;
    let mut fewest: Option<(Value, u64)> = None;
    for _ in 0..3 {
        let before = app.engine.reads_run();
        let page = graphql(app, credential, CONVERSATIONS_PAGE, json!({})).await?;
        let reads = app.engine.reads_run() - before;
        anyhow::ensure!(page["errors"].is_null(), "{page}");
        if fewest.as_ref().is_none_or(|(_, least)| reads < *least) {
            fewest = Some((page, reads));
        }
    }
    fewest.context("three tries were made")
}

/// Opens a conversation on `channel` with a new contact named `name`, and posts `text` in it.
async fn conversation_with(
    app: &TestApp,
    credential: &Credential,
    channel: &str,
    name: &str,
    text: &str,
) -> anyhow::Result<String> {
    let contact = created(
        app.post(
            "/api/v1/contacts",
            credential,
            json!({"name": name, "phone": "+15551230002"}),
        )
        .await?,
    )?;
    let conversation = created(
        app.post(
            "/api/v1/conversations",
            credential,
            json!({"channelId": channel, "contactId": contact}),
        )
        .await?,
    )?;
    let sent = app
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            credential,
            json!({"text": text}),
        )
        .await?;
    anyhow::ensure!(sent.status == 201, "{}", sent.text);
    Ok(conversation)
}

async fn a_page_of_conversations_costs_the_same_reads_whatever_its_size(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;
    let sent = app
        .post(
            &format!("/api/v1/conversations/{}/messages", world.conversation),
            &admin,
            json!({"text": "hello Ada"}),
        )
        .await?;
    anyhow::ensure!(sent.status == 201, "{}", sent.text);
    let (one, reads_for_one) = read_conversations_page(&app, &admin).await?;
    let node = &one["data"]["conversations"]["edges"][0]["node"];
    assert_eq!(node["contact"]["name"], "Ada", "{one}");
    assert_eq!(node["contact"]["phone"], "+15551230001", "{one}");
    assert_eq!(node["channel"]["name"], "Web chat", "{one}");
    assert_eq!(node["participants"][0]["role"], "member", "{one}");
    assert_eq!(node["lastMessage"]["text"], "hello Ada", "{one}");

    let mut written = std::collections::HashMap::new();
    for index in 1..50 {
        let name = format!("Contact {index}");
        let text = format!("hello {name}");
        let conversation = conversation_with(&app, &admin, &world.channel, &name, &text).await?;
        written.insert(conversation, (name, text));
    }
    let (fifty, reads_for_fifty) = read_conversations_page(&app, &admin).await?;
    let edges = fifty["data"]["conversations"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edges.len(), 50, "one page holds them all: {fifty}");
    for edge in &edges {
        let node = &edge["node"];
        let Some((name, text)) = node["id"].as_str().and_then(|id| written.get(id)) else {
            continue;
        };
        assert_eq!(
            node["contact"]["name"],
            name.as_str(),
            "each its own: {node}"
        );
        assert_eq!(node["lastMessage"]["text"], text.as_str(), "{node}");
        assert_eq!(node["channel"]["name"], "Web chat", "{node}");
        assert_eq!(node["participants"][0]["role"], "member", "{node}");
    }

    assert_eq!(
        reads_for_fifty, reads_for_one,
        "fifty conversations cost what one costs"
    );
    // The page with its unread counts and last messages; then the contacts, the channels and
    // the participants of the whole page, one statement each.
    assert_eq!(reads_for_one, 4, "{one}");
    Ok(())
}

async fn complexity_counts_each_row_a_page_may_hold(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    fixture(&app, &admin).await?;
    let too_complex = |answer: &Value| {
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
        answer["data"].is_null() && message.contains("too complex")
    };

    // At most 200 conversations, each with at most 200 messages: 40,000 rows.
    let largest = "{ conversations(pagination: { first: 200 }) { edges { node {
        messages(pagination: { first: 200 }) { edges { node { text } } } } } } }";
    let refused = graphql(&app, &admin, largest, json!({})).await?;
    assert!(too_complex(&refused), "{refused}");
    // Without `first`, a page holds 50: still 2,500 rows.
    let by_default = largest.replace("(pagination: { first: 200 })", "");
    let refused = graphql(&app, &admin, &by_default, json!({})).await?;
    assert!(too_complex(&refused), "{refused}");
    let few = largest.replace("first: 200", "first: 5");
    let answered = graphql(&app, &admin, &few, json!({})).await?;
    assert!(
        answered["errors"].is_null(),
        "five by five is fine: {answered}"
    );

    // A dashboard: the default page of conversations with what a list shows of each, and the
    // newest messages of the first few, with every field.
    let dashboard = "{ me { username } credits { balance }
        conversations {
          edges { node { id status unreadCount lastActivityAt lastMessage { text createdAt }
                         contact { name phone } channel { name } } }
          pageInfo { hasNextPage endCursor } }
        recent: conversations(pagination: { first: 10 }) { edges { node {
          id channelId contactId type businessId status agentId lastSeq lastActivityAt
          createdAt updatedAt unreadCount
          messages(pagination: { first: 5 }) { edges { node {
            id conversationId channelId seq direction authorKind authorId type text content
            providerMessageId status createdAt deletedAt } } } } } } }";
    let answered = graphql(&app, &admin, dashboard, json!({})).await?;
    assert!(
        answered["errors"].is_null(),
        "within the default budget: {answered}"
    );
    Ok(())
}

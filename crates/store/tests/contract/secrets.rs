//! Secrets at rest: what the database holds of a channel's or an agent's configuration is
//! sealed; only the configured keys open it; values from before sealing are sealed once; a
//! rotation re-seals everything under the new key.

use serde_json::json;
use sqlx::{AssertSqlSafe, Connection};
use switchboard_core::{AgentKind, ChannelConfig, ChannelKind, Credits};
use switchboard_store::{
    DatabaseOptions, Keyring, MasterKey, NewAgent, NewChannel, Resealed, SecretsError, Store,
    StoreError,
};
use switchboard_test_database::{Backend, TestDatabase, backend_tests};

use crate::fixtures::TestResult;

backend_tests!(
    the_database_holds_no_secret_in_the_clear,
    values_from_before_sealing_are_sealed_once,
    a_store_opened_with_another_key_fails_naming_the_key,
    rotation_reseals_every_secret_under_the_new_key,
);

/// Every secret the tests write; none may appear in the database's bytes.
const SECRETS: &[&str] = &[
    "whatsapp-app-secret-71f3",
    "whatsapp-verify-token-0c2a",
    "whatsapp-access-token-9e4d",
    "openai-api-key-5b8e",
    "mcp-bearer-token-d3a7",
];

fn key() -> MasterKey {
    MasterKey::generate().unwrap_or_else(|error| panic!("no key: {error}"))
}

async fn open_with(database: &TestDatabase, keyring: Keyring) -> anyhow::Result<Store> {
    let store = Store::connect_with_keyring(DatabaseOptions::new(database.url()), keyring).await?;
    store.migrate().await?;
    Ok(store)
}

/// A tenant with a WhatsApp channel and an `openai` agent using an MCP server, every secret of
/// [`SECRETS`] among their settings.
async fn write_secrets(store: &Store) -> anyhow::Result<()> {
    let tenant = store.create_tenant("sealed".into()).await?;
    let config = ChannelConfig::parse(
        ChannelKind::Whatsapp,
        json!({
            "phoneNumberId": "1234",
            "appSecret": SECRETS[0],
            "verifyToken": SECRETS[1],
            "accessToken": SECRETS[2],
        }),
    )?;
    let channel = store
        .create_channel(
            tenant.id,
            NewChannel {
                name: "whatsapp".into(),
                agent_id: None,
                config,
            },
        )
        .await?;
    let agent = store
        .create_agent(
            tenant.id,
            NewAgent {
                name: "model".into(),
                kind: AgentKind::Openai,
                config: json!({
                    "apiKey": SECRETS[3],
                    "model": "gpt-test",
                    "mcpServers": [{
                        "name": "tools",
                        "url": "http://127.0.0.1:9/mcp",
                        "headers": {"Authorization": format!("Bearer {}", SECRETS[4])},
                    }],
                }),
                cost_per_run: Credits(1),
            },
        )
        .await?;
    let read = store.get_channel(tenant.id, channel.id).await?;
    assert_eq!(
        read.config, channel.config,
        "the store gives back what it sealed"
    );
    let read = store.get_agent(tenant.id, agent.id).await?;
    assert_eq!(read.config["apiKey"], SECRETS[3]);
    Ok(())
}

/// Every byte the database holds: SQLite's files (database, WAL, inbox), or PostgreSQL's rows of
/// every table of the test's schema as text.
async fn raw_contents(database: &TestDatabase) -> anyhow::Result<Vec<u8>> {
    match database.backend() {
        Backend::Sqlite => {
            let path = database
                .url()
                .strip_prefix("sqlite://")
                .ok_or_else(|| anyhow::anyhow!("not a SQLite URL"))?;
            let directory = std::path::Path::new(path)
                .parent()
                .ok_or_else(|| anyhow::anyhow!("no directory"))?;
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(directory)? {
                bytes.extend(std::fs::read(entry?.path())?);
            }
            Ok(bytes)
        }
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(database.url()).await?;
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            )
            .fetch_all(&mut connection)
            .await?;
            let mut bytes = Vec::new();
            for (table,) in tables {
                let rows: Vec<(String,)> =
                    sqlx::query_as(AssertSqlSafe(format!("SELECT t::text FROM \"{table}\" t")))
                        .fetch_all(&mut connection)
                        .await?;
                for (row,) in rows {
                    bytes.extend(row.into_bytes());
                }
            }
            Ok(bytes)
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

async fn the_database_holds_no_secret_in_the_clear(database: TestDatabase) -> TestResult {
    let store = open_with(&database, Keyring::new(key(), Vec::new())).await?;
    write_secrets(&store).await?;
    store.close().await;
    let raw = raw_contents(&database).await?;
    assert!(
        contains(&raw, "sealed:v1:"),
        "the sealed values are there to find"
    );
    for secret in SECRETS {
        assert!(
            !contains(&raw, secret),
            "{secret} is readable in the database"
        );
    }
    Ok(())
}

async fn values_from_before_sealing_are_sealed_once(database: TestDatabase) -> TestResult {
    let store = open_with(&database, Keyring::new(key(), Vec::new())).await?;
    let tenant = store.create_tenant("legacy".into()).await?;
    let channel_id = uuid::Uuid::now_v7().to_string();
    let plaintext = json!({"signingSecret": "legacy-signing-secret-44aa"}).to_string();
    // As a release from before sealing wrote it.
    let insert =
        "INSERT INTO channels (id, tenant_id, kind, name, agent_id, config, created_at, updated_at)
                  VALUES ($1, $2, 'api', 'legacy', NULL, $3, 0, 0)";
    match database.backend() {
        Backend::Sqlite => {
            let url = database.url().replacen("sqlite://", "sqlite:", 1);
            let mut connection = sqlx::SqliteConnection::connect(&url).await?;
            sqlx::query(insert)
                .bind(&channel_id)
                .bind(tenant.id.to_string())
                .bind(&plaintext)
                .execute(&mut connection)
                .await?;
        }
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(database.url()).await?;
            sqlx::query(insert)
                .bind(&channel_id)
                .bind(tenant.id.to_string())
                .bind(&plaintext)
                .execute(&mut connection)
                .await?;
        }
    }
    let first = store.seal_secrets().await?;
    assert_eq!(
        first,
        Resealed {
            checked: 1,
            sealed: 1
        }
    );
    let again = store.seal_secrets().await?;
    assert_eq!(
        again,
        Resealed {
            checked: 1,
            sealed: 0
        },
        "sealing twice changes nothing"
    );
    let channel = store.get_channel(tenant.id, channel_id.parse()?).await?;
    assert_eq!(
        channel.config.to_json()["signingSecret"],
        "legacy-signing-secret-44aa"
    );
    store.close().await;
    assert!(!contains(
        &raw_contents(&database).await?,
        "legacy-signing-secret-44aa"
    ));
    Ok(())
}

async fn a_store_opened_with_another_key_fails_naming_the_key(
    database: TestDatabase,
) -> TestResult {
    let right = key();
    let store = open_with(&database, Keyring::new(right.clone(), Vec::new())).await?;
    write_secrets(&store).await?;
    store.close().await;

    let wrong = open_with(&database, Keyring::new(key(), Vec::new())).await?;
    match wrong.seal_secrets().await {
        Err(StoreError::Secrets(SecretsError::UnknownKey { key_id, .. })) => {
            assert_eq!(key_id, right.id().as_str());
        }
        other => panic!("expected the missing key to be named, got {other:?}"),
    }
    wrong.close().await;
    let reopened = open_with(&database, Keyring::new(right, Vec::new())).await?;
    assert_eq!(reopened.seal_secrets().await?.sealed, 0);
    Ok(())
}

async fn rotation_reseals_every_secret_under_the_new_key(database: TestDatabase) -> TestResult {
    let old = key();
    let store = open_with(&database, Keyring::new(old.clone(), Vec::new())).await?;
    write_secrets(&store).await?;
    store.close().await;

    let new = key();
    let rotating = open_with(&database, Keyring::new(new.clone(), vec![old.clone()])).await?;
    assert_eq!(
        rotating.seal_secrets().await?,
        Resealed {
            checked: 2,
            sealed: 2
        }
    );
    rotating.close().await;

    let rotated = open_with(&database, Keyring::new(new, Vec::new())).await?;
    assert_eq!(
        rotated.seal_secrets().await?.sealed,
        0,
        "the old key is no longer needed"
    );
    rotated.close().await;
    let retired = open_with(&database, Keyring::new(old, Vec::new())).await?;
    assert!(matches!(
        retired.seal_secrets().await,
        Err(StoreError::Secrets(SecretsError::UnknownKey { .. }))
    ));
    Ok(())
}

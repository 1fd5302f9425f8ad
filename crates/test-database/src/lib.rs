#![doc = include_str!("../README.md")]

use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, PgConnection};
pub use switchboard_database::Backend;

/// The server `TestDatabase::postgres` uses unless `SWITCHBOARD_TEST_POSTGRES_URL` names another.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long to wait for the PostgreSQL server before telling the developer to start it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One test's database. Hand [`TestDatabase::url`] to whatever opens it.
pub struct TestDatabase {
    url: String,
    backend: Backend,
    owned: Owned,
}

/// What the test owns and must give back when it ends.
enum Owned {
    /// The temporary directory holding the SQLite file; removed with it.
    SqliteDirectory(
        #[expect(
            dead_code,
            reason = "held only so that dropping it deletes the directory"
        )]
        tempfile::TempDir,
    ),
    /// A schema on a shared server, dropped with everything in it.
    PostgresSchema { server_url: String, schema: String },
}

impl TestDatabase {
    /// A new SQLite database file in its own temporary directory.
    pub async fn sqlite() -> Self {
        let directory = tempfile::tempdir()
            .unwrap_or_else(|error| panic!("cannot create a temporary directory: {error}"));
        let path = directory.path().join("switchboard.db");
        Self {
            url: format!("sqlite://{}", path.display()),
            backend: Backend::Sqlite,
            owned: Owned::SqliteDirectory(directory),
        }
    }

    /// A new, empty schema on the PostgreSQL server named by `SWITCHBOARD_TEST_POSTGRES_URL`
    /// (default `postgres://postgres@127.0.0.1:5432/postgres`); every connection made through
    /// [`TestDatabase::url`] works inside it.
    ///
    /// Panics, saying how to start one, when the server cannot be reached.
    pub async fn postgres() -> Self {
        let server_url = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let schema = format!("test_{}", uuid::Uuid::now_v7().simple());
        let mut connection = connect(&server_url).await;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|error| panic!("cannot create test schema {schema}: {error}"));
        let _ = connection.close().await;
        // `options` reaches the server as startup parameters: every session starts in the schema.
        let separator = if server_url.contains('?') { '&' } else { '?' };
        let url = format!("{server_url}{separator}options=-c%20search_path%3D{schema}");
        Self {
            url,
            backend: Backend::Postgres,
            owned: Owned::PostgresSchema { server_url, schema },
        }
    }

    /// The database URL, ready for `DatabaseOptions::new`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Owned::PostgresSchema { server_url, schema } = &self.owned else {
            // The temporary directory removes itself.
            return;
        };
        let server_url = server_url.clone();
        let statement = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
        // Drop cannot await, and the test's runtime may be unwinding or gone: a thread with a
        // runtime of its own does the cleanup, and the test waits for it.
        let cleanup = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| format!("no runtime for cleanup: {error}"))?;
            runtime.block_on(async move {
                let mut connection =
                    tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(&server_url))
                        .await
                        .map_err(|_| "timed out connecting".to_owned())?
                        .map_err(|error| error.to_string())?;
                sqlx::raw_sql(AssertSqlSafe(statement))
                    .execute(&mut connection)
                    .await
                    .map_err(|error| error.to_string())?;
                let _ = connection.close().await;
                Ok(())
            })
        });
        // A panic here, perhaps while the test is already unwinding, would abort the whole run.
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("warning: test schema {schema} was not dropped: {error}"),
            Err(_) => eprintln!("warning: dropping test schema {schema} panicked"),
        }
    }
}

/// A connection to the PostgreSQL server, or a panic that says how to get one.
async fn connect(server_url: &str) -> PgConnection {
    let how_to_fix = "start it with `scripts/test` (which starts the local cluster, or run \
                      `pg_ctlcluster <version> main start`), or set SWITCHBOARD_TEST_POSTGRES_URL \
                      to a server where this user may create schemas";
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(server_url)).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(error)) => panic!(
            "PostgreSQL tests need a server at {}, which refused: {error}; {how_to_fix}",
            redacted(server_url)
        ),
        Err(_) => panic!(
            "PostgreSQL tests need a server at {}, which did not answer within {CONNECT_TIMEOUT:?}; {how_to_fix}",
            redacted(server_url)
        ),
    }
}

/// The URL without its password, for panic messages.
fn redacted(url: &str) -> String {
    match url.split_once("://").and_then(|(scheme, rest)| {
        let (credentials, host) = rest.split_once('@')?;
        let (user, _password) = credentials.split_once(':')?;
        Some(format!("{scheme}://{user}:***@{host}"))
    }) {
        Some(redacted) => redacted,
        None => url.to_owned(),
    }
}

/// What [`backend_tests!`] expands to needs, reachable through this crate so callers need not
/// name these dependencies themselves. Not an API.
#[doc(hidden)]
pub mod __private {
    pub use tokio;

    /// How a test body reports failure: by panicking, or by returning an error.
    pub trait TestOutcome {
        fn check(self);
    }

    impl TestOutcome for () {
        fn check(self) {}
    }

    impl<E: std::fmt::Debug> TestOutcome for Result<(), E> {
        fn check(self) {
            if let Err(error) = self {
                panic!("test failed: {error:?}");
            }
        }
    }
}

/// Declares each listed test once per backend. Each name is an
/// `async fn name(database: TestDatabase)` in the calling file (it may also return a
/// `Result<(), E: Debug>`); this generates `sqlite::name` and `postgres::name`, each a
/// `#[tokio::test]` on a multi-threaded runtime given a fresh database of that backend.
///
/// ```ignore
/// async fn messages_are_numbered(database: TestDatabase) { /* … */ }
///
/// switchboard_test_database::backend_tests!(messages_are_numbered);
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[$crate::__private::tokio::test(
                    flavor = "multi_thread",
                    worker_threads = 2,
                    crate = "::switchboard_test_database::__private::tokio"
                )]
                async fn $name() {
                    let database = $crate::TestDatabase::sqlite().await;
                    $crate::__private::TestOutcome::check(super::$name(database).await);
                }
            )*
        }

        mod postgres {
            $(
                #[$crate::__private::tokio::test(
                    flavor = "multi_thread",
                    worker_threads = 2,
                    crate = "::switchboard_test_database::__private::tokio"
                )]
                async fn $name() {
                    let database = $crate::TestDatabase::postgres().await;
                    $crate::__private::TestOutcome::check(super::$name(database).await);
                }
            )*
        }
    };
}

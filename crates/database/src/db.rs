//! One way to run a statement on either backend. Every query in this crate is written once, in
//! SQL both backends accept (`$1`-style parameters), and built with [`query`]; a [`Db`] says
//! where it runs:
//!
//! - SQLite runs in-process through `rusqlite`: statements are prepared once per connection and
//!   cached, and run on the calling thread — the writer's own thread for writes, the caller's
//!   for reads (see [`crate::sqlite`]). No statement costs a hop to another thread.
//! - PostgreSQL runs through `sqlx` over the network.
//!
//! Rows come back as [`Row`], decoded by name through [`crate::row::RowExt`].

use std::borrow::Cow;
use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row as _};

use switchboard_core::OrderingKey;

use crate::DatabaseError;
use crate::postgres::Pool;
use crate::sqlite::Readers;

/// Where a statement runs.
pub enum Db<'c> {
    /// SQLite reads: a connection from the read-only pool, borrowed for one statement (counted:
    /// [`crate::Database::reads_run`]).
    SqliteReaders(&'c Arc<Readers>),
    /// SQLite writes: the writer's connection, inside its open transaction.
    SqliteWriter(&'c mut rusqlite::Connection),
    /// PostgreSQL reads: any pooled connection, leased for one statement (counted:
    /// [`crate::Database::reads_run`]).
    Postgres(&'c Pool),
    /// PostgreSQL writes: a leased connection, inside the caller's transaction or (where the
    /// caller opened none) each statement committing by itself.
    PostgresConnection(&'c mut AnyConnection),
}

/// Anything a statement can run on: a [`Db`], or a borrowed one (helpers that take part in the
/// caller's transaction receive `&mut Db` and pass it on).
pub trait Executor<'a>: Send {
    fn db(self) -> Db<'a>;
}

impl<'a> Executor<'a> for Db<'a> {
    fn db(self) -> Db<'a> {
        self
    }
}

impl<'a> Executor<'a> for &'a mut Db<'_> {
    fn db(self) -> Db<'a> {
        match self {
            Db::SqliteReaders(readers) => Db::SqliteReaders(readers),
            Db::SqliteWriter(connection) => Db::SqliteWriter(connection),
            Db::Postgres(pool) => Db::Postgres(pool),
            Db::PostgresConnection(connection) => Db::PostgresConnection(connection),
        }
    }
}

impl Db<'_> {
    /// Whether statements go to PostgreSQL, where each is a network round trip: the hottest
    /// writes fold several statements into one there (data-modifying `WITH`, which SQLite lacks).
    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_) | Db::PostgresConnection(_))
    }
}

/// A bound parameter. Nulls keep their type: PostgreSQL refuses a text null for a bigint.
#[derive(Debug, Clone)]
pub enum Arg {
    Integer(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
}

/// A value that can be bound as a parameter.
pub trait Bind {
    fn into_arg(self) -> Arg;
    /// The null of this parameter's type.
    fn null() -> Arg;
}

macro_rules! bind_as {
    ($variant:ident: $($source:ty => |$value:ident| $convert:expr),* $(,)?) => {$(
        impl Bind for $source {
            fn into_arg(self) -> Arg {
                let $value = self;
                Arg::$variant(Some($convert))
            }
            fn null() -> Arg {
                Arg::$variant(None)
            }
        }
    )*};
}

bind_as!(Integer:
    i64 => |value| value,
    i32 => |value| i64::from(value),
    u32 => |value| i64::from(value),
    bool => |value| i64::from(value),
);
bind_as!(Real: f64 => |value| value);
bind_as!(Text:
    String => |value| value,
    &str => |value| value.to_owned(),
    &String => |value| value.clone(),
    OrderingKey => |value| value.to_string(),
    &OrderingKey => |value| value.to_string(),
);

impl<T: Bind> Bind for Option<T> {
    fn into_arg(self) -> Arg {
        match self {
            Some(value) => value.into_arg(),
            None => T::null(),
        }
    }

    fn null() -> Arg {
        T::null()
    }
}

/// A statement and its parameters, run with `execute` or one of the `fetch_*` methods.
#[must_use = "a query does nothing until it is executed or fetched"]
pub struct Query {
    sql: Cow<'static, str>,
    args: Vec<Arg>,
    blocking: bool,
    /// Parameters without an argument read as NULL instead of failing the statement.
    unbound_null: bool,
}

/// A statement's SQL with `$1`-style parameters, the same text on both backends.
pub fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
        blocking: false,
        unbound_null: false,
    }
}

/// What a statement without a result set did.
pub struct Done {
    rows_affected: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

impl Query {
    pub fn bind(mut self, value: impl Bind) -> Self {
        self.args.push(value.into_arg());
        self
    }

    /// Runs a SQLite read off the async runtime's threads: for statements that may take
    /// milliseconds (search, statistics), which would stall every request sharing the thread.
    pub fn blocking(mut self) -> Self {
        self.blocking = true;
        self
    }

    /// Lets parameters go without arguments (they read as NULL): for plans of statements given
    /// with placeholders, which are analysed and never run.
    pub fn unbound_as_null(mut self) -> Self {
        self.unbound_null = true;
        self
    }

    pub async fn execute<'a>(self, db: impl Executor<'a>) -> Result<Done, DatabaseError> {
        let rows_affected = self.run(db.db(), Want::Nothing).await?.rows_affected;
        Ok(Done { rows_affected })
    }

    pub async fn fetch_all<'a>(self, db: impl Executor<'a>) -> Result<Vec<Row>, DatabaseError> {
        Ok(self.run(db.db(), Want::All).await?.rows)
    }

    pub async fn fetch_optional<'a>(
        self,
        db: impl Executor<'a>,
    ) -> Result<Option<Row>, DatabaseError> {
        Ok(self.run(db.db(), Want::First).await?.rows.pop())
    }

    pub async fn fetch_one<'a>(self, db: impl Executor<'a>) -> Result<Row, DatabaseError> {
        self.fetch_optional(db).await?.ok_or_else(no_rows)
    }

    /// The first column of the only row.
    pub async fn fetch_scalar<'a, T: Decode>(
        self,
        db: impl Executor<'a>,
    ) -> Result<T, DatabaseError> {
        self.fetch_one(db).await?.get(0)
    }

    /// The first column of the first row, if there is a row.
    pub async fn fetch_optional_scalar<'a, T: Decode>(
        self,
        db: impl Executor<'a>,
    ) -> Result<Option<T>, DatabaseError> {
        self.fetch_optional(db)
            .await?
            .map(|row| row.get(0))
            .transpose()
    }

    /// The first column of every row.
    pub async fn fetch_scalars<'a, T: Decode>(
        self,
        db: impl Executor<'a>,
    ) -> Result<Vec<T>, DatabaseError> {
        self.fetch_all(db)
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    async fn run(self, db: Db<'_>, want: Want) -> Result<Output, DatabaseError> {
        match &db {
            Db::SqliteReaders(readers) => readers.count_read(),
            Db::Postgres(pool) => pool.count_read(),
            Db::SqliteWriter(_) | Db::PostgresConnection(_) => {}
        }
        match db {
            Db::SqliteWriter(connection) => Ok(run_sqlite(connection, &self, want)?),
            Db::SqliteReaders(readers) if self.blocking => {
                let readers = Arc::clone(readers);
                tokio::task::spawn_blocking(move || {
                    readers.with(|connection| run_sqlite(connection, &self, want))
                })
                .await
                .map_err(|error| DatabaseError::Other(Box::new(error)))?
            }
            Db::SqliteReaders(readers) => {
                readers.with(|connection| run_sqlite(connection, &self, want))
            }
            Db::Postgres(pool) => {
                let mut lease = pool.acquire().await?;
                let output = self.run_postgres(lease.connection(), want).await;
                lease.settle(output)
            }
            Db::PostgresConnection(connection) => self.run_postgres(connection, want).await,
        }
    }

    async fn run_postgres<'e, E>(self, executor: E, want: Want) -> Result<Output, DatabaseError>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let mut statement = sqlx::query(AssertSqlSafe(self.sql));
        for arg in self.args {
            statement = match arg {
                Arg::Integer(value) => statement.bind(value),
                Arg::Real(value) => statement.bind(value),
                Arg::Text(value) => statement.bind(value),
            };
        }
        Ok(match want {
            Want::Nothing => Output {
                rows: Vec::new(),
                rows_affected: statement.execute(executor).await?.rows_affected(),
            },
            Want::First => Output {
                rows: statement
                    .fetch_optional(executor)
                    .await?
                    .map(Row::Postgres)
                    .into_iter()
                    .collect(),
                rows_affected: 0,
            },
            Want::All => Output {
                rows: statement
                    .fetch_all(executor)
                    .await?
                    .into_iter()
                    .map(Row::Postgres)
                    .collect(),
                rows_affected: 0,
            },
        })
    }
}

/// Runs statements that take no parameters, several separated by `;` (migrations, setup).
pub async fn execute_script(db: Db<'_>, sql: &'static str) -> Result<(), DatabaseError> {
    match db {
        Db::SqliteWriter(connection) => Ok(connection.execute_batch(sql)?),
        Db::SqliteReaders(readers) => readers.with(|connection| connection.execute_batch(sql)),
        Db::Postgres(pool) => {
            let mut lease = pool.acquire().await?;
            let done = sqlx::raw_sql(sql).execute(lease.connection()).await;
            lease.settle(done.map(drop).map_err(Into::into))
        }
        Db::PostgresConnection(connection) => sqlx::raw_sql(sql)
            .execute(&mut *connection)
            .await
            .map(drop)
            .map_err(Into::into),
    }
}

#[derive(Clone, Copy)]
enum Want {
    Nothing,
    First,
    All,
}

struct Output {
    rows: Vec<Row>,
    rows_affected: u64,
}

/// Runs one statement on a SQLite connection, its prepared form taken from (and returned to)
/// the connection's statement cache.
fn run_sqlite(
    connection: &rusqlite::Connection,
    query: &Query,
    want: Want,
) -> Result<Output, rusqlite::Error> {
    let args = &query.args;
    let mut statement = connection.prepare_cached(&query.sql)?;
    // SQLite names a `$1` parameter "$1"; one used twice is one parameter.
    let shape = crate::sqlite::shapes::shape(&statement, &query.sql);
    for (index, position) in (1..).zip(shape.positions.iter()) {
        match position.and_then(|position| args.get(position)) {
            Some(arg) => statement.raw_bind_parameter(index, arg)?,
            None if query.unbound_null => {}
            None => return Err(rusqlite::Error::InvalidParameterCount(index, args.len())),
        }
    }
    let column_count = statement.column_count();
    if column_count == 0 {
        let rows_affected = statement.raw_execute()?;
        return Ok(Output {
            rows: Vec::new(),
            rows_affected: rows_affected as u64,
        });
    }
    let mut rows = Vec::new();
    let mut cursor = statement.raw_query();
    while let Some(row) = cursor.next()? {
        let values = (0..column_count)
            .map(|index| row.get::<_, rusqlite::types::Value>(index))
            .collect::<Result<Vec<_>, _>>()?;
        rows.push(Row::Sqlite {
            columns: Arc::clone(&shape.columns),
            values,
        });
        if matches!(want, Want::First) {
            break;
        }
    }
    Ok(Output {
        rows,
        rows_affected: 0,
    })
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self {
            Arg::Integer(Some(value)) => ToSqlOutput::Owned(Value::Integer(*value)),
            Arg::Real(Some(value)) => ToSqlOutput::Owned(Value::Real(*value)),
            Arg::Text(Some(value)) => ToSqlOutput::Borrowed(ValueRef::Text(value.as_bytes())),
            Arg::Integer(None) | Arg::Real(None) | Arg::Text(None) => {
                ToSqlOutput::Owned(Value::Null)
            }
        })
    }
}

/// One result row.
pub enum Row {
    Sqlite {
        columns: Arc<[Box<str>]>,
        values: Vec<rusqlite::types::Value>,
    },
    Postgres(AnyRow),
}

/// How a cell is read: by column name (decoders) or position (scalars).
pub trait Column: sqlx::ColumnIndex<AnyRow> + Copy {
    fn position(self, columns: &[Box<str>]) -> Option<usize>;
    /// The name an error reports.
    fn label(self) -> &'static str;
}

impl Column for &'static str {
    fn position(self, columns: &[Box<str>]) -> Option<usize> {
        columns.iter().position(|column| &**column == self)
    }

    fn label(self) -> &'static str {
        self
    }
}

impl Column for usize {
    fn position(self, columns: &[Box<str>]) -> Option<usize> {
        (self < columns.len()).then_some(self)
    }

    fn label(self) -> &'static str {
        "(scalar)"
    }
}

impl Row {
    pub fn get<T: Decode>(&self, column: impl Column) -> Result<T, DatabaseError> {
        match self {
            Row::Sqlite { columns, values } => {
                let value = column
                    .position(columns)
                    .and_then(|position| values.get(position))
                    .ok_or_else(|| corrupt(column.label(), "no such column"))?;
                T::from_sqlite(value).ok_or_else(|| corrupt(column.label(), mismatch(value)))
            }
            Row::Postgres(row) => T::from_any(row, column),
        }
    }
}

/// A Rust value read from one cell.
pub trait Decode: Sized {
    fn from_sqlite(value: &rusqlite::types::Value) -> Option<Self>;
    fn from_any(row: &AnyRow, column: impl Column) -> Result<Self, DatabaseError>;
}

macro_rules! decode_as {
    ($type:ty, $variant:ident, |$value:ident| $convert:expr) => {
        impl Decode for $type {
            fn from_sqlite(value: &rusqlite::types::Value) -> Option<Self> {
                match value {
                    rusqlite::types::Value::$variant($value) => Some($convert),
                    _ => None,
                }
            }

            fn from_any(row: &AnyRow, column: impl Column) -> Result<Self, DatabaseError> {
                row.try_get(column)
                    .map_err(|error| corrupt(column.label(), error))
            }
        }

        impl Decode for Option<$type> {
            fn from_sqlite(value: &rusqlite::types::Value) -> Option<Self> {
                match value {
                    rusqlite::types::Value::Null => Some(None),
                    other => <$type>::from_sqlite(other).map(Some),
                }
            }

            fn from_any(row: &AnyRow, column: impl Column) -> Result<Self, DatabaseError> {
                row.try_get(column)
                    .map_err(|error| corrupt(column.label(), error))
            }
        }
    };
}

decode_as!(i64, Integer, |value| *value);
decode_as!(f64, Real, |value| *value);
decode_as!(String, Text, |value| value.clone());

fn mismatch(value: &rusqlite::types::Value) -> String {
    format!("unexpected {:?}", value.data_type())
}

fn corrupt(column: &'static str, reason: impl std::fmt::Display) -> DatabaseError {
    DatabaseError::Corrupt {
        column,
        reason: reason.to_string(),
    }
}

fn no_rows() -> DatabaseError {
    DatabaseError::Other(Box::new(rusqlite::Error::QueryReturnedNoRows))
}

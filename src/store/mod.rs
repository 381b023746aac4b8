//! The database: connections, migrations and the entities.

pub mod entity;
mod nodelay;

use std::str::FromStr;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, EntityTrait, SqlErr};

/// The connections to the database.
///
/// SQLite allows one writer at a time, and a deferred transaction that reads and then writes
/// fails at once with SQLITE_BUSY when another writer got in first (the busy timeout does not help
/// there). So on SQLite every write goes through `write`, a pool of exactly one connection, and
/// reads use `read`; writers queue in the pool instead of failing. On PostgreSQL both are the same
/// pool and correctness comes from row locks.
#[derive(Debug, Clone)]
pub struct Db {
    pub read: DatabaseConnection,
    pub write: DatabaseConnection,
}

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            ensure_sqlite_dir(url)?;
            let read = Database::connect(sqlite_options(url, max_connections)).await?;
            let write = Database::connect(sqlite_options(url, 1)).await?;
            Ok(Self { read, write })
        } else {
            let mut opts = ConnectOptions::new(url.to_owned());
            opts.max_connections(max_connections).connect_timeout(Duration::from_secs(10)).sqlx_logging(false).map_sqlx_postgres_pool_opts(
                |o| o.after_connect(|_, _| Box::pin(async { nodelay::set_on_all_sockets().map_err(sea_orm::sqlx::Error::Io) })),
            );
            let pool = Database::connect(opts).await?;
            Ok(Self { read: pool.clone(), write: pool })
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.write.get_database_backend()
    }

    pub async fn migrate_up(&self) -> Result<(), DbErr> {
        Migrator::up(&self.write, None).await
    }

    /// Answers whether the database takes a query now.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.read.execute_unprepared("SELECT 1").await.map(|_| ())
    }

    pub async fn close(self) {
        let _ = self.read.close().await;
        let _ = self.write.close().await;
    }
}

fn sqlite_options(url: &str, max_connections: u32) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections).min_connections(1).sqlx_logging(false).map_sqlx_sqlite_opts(|o| {
        o.create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
    });
    opts
}

/// `sqlite://var/carefair.db` must work on a fresh checkout, where `var/` does not exist yet.
fn ensure_sqlite_dir(url: &str) -> anyhow::Result<()> {
    let opts = SqliteConnectOptions::from_str(url)?;
    if let Some(dir) = opts.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    Ok(())
}

/// Whether a database error is a unique-constraint violation (a duplicate), on either database.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Whether a database error is a foreign-key violation (a row still in use, or a missing parent).
pub fn is_foreign_key_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_)))
}

/// A `LIKE` pattern matching values that contain `text`, with `%`, `_` and `\` in it taken
/// literally (use with `ESCAPE '\'`).
pub fn like_containing(text: &str) -> String {
    format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// Rows per INSERT when writing many: well inside SQLite's limit on bound values.
const INSERT_CHUNK: usize = 500;

/// Inserts any number of rows, a few hundred per statement.
pub async fn insert_all<A>(conn: &impl ConnectionTrait, rows: Vec<A>) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows;
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(INSERT_CHUNK));
        <A::Entity as EntityTrait>::insert_many(rows).exec_without_returning(conn).await?;
        rows = rest;
    }
    Ok(())
}

//! The database: connections, migrations and the entities.

pub mod bulk;
pub mod entity;
mod nodelay;
mod stored;

pub use bulk::insert_all;
pub use stored::Json;

use std::str::FromStr;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, SqlErr};

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
    /// The registration writer's (`service::registrar`). On SQLite it is `write`. On PostgreSQL
    /// it is a pool of its own with all three of its connections kept open: the writer has two
    /// batches in flight, and sqlx returns a connection to its pool in the background, pinging
    /// it first, so the third is free while another is on its way back. A writer that found none
    /// free at the start of a batch waited for the shared pool to open one (50–100 ms, which was
    /// the rush's p99 in about one run of three). Nothing else takes them, and all keep the
    /// writer's prepared statements.
    pub registrar: DatabaseConnection,
}

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            ensure_sqlite_dir(url)?;
            // The writer first: it turns a new file to WAL, which takes the file's lock; readers
            // opened after it find WAL already set and need no lock (opened at the same time,
            // a reader's own switch could meet the writer's and fail as "database is locked").
            let write = Database::connect(sqlite_options(url, 1, true)).await?;
            let read = Database::connect(sqlite_options(url, max_connections, false)).await?;
            Ok(Self { read, registrar: write.clone(), write })
        } else {
            let pool = Database::connect(postgres_options(url, max_connections)).await?;
            let mut registrar = postgres_options(url, REGISTRAR_CONNECTIONS);
            registrar.min_connections(REGISTRAR_CONNECTIONS);
            let registrar = Database::connect(registrar).await?;
            Ok(Self { read: pool.clone(), write: pool, registrar })
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.backend() == DbBackend::Sqlite
    }

    pub fn backend(&self) -> DbBackend {
        self.write.get_database_backend()
    }

    pub async fn migrate_up(&self) -> Result<(), DbErr> {
        Migrator::up(&self.write, None).await
    }

    /// Rolls back the latest migration.
    pub async fn migrate_down(&self) -> Result<(), DbErr> {
        Migrator::down(&self.write, Some(1)).await
    }

    /// Every migration's name, and whether it is applied, applied ones first.
    pub async fn migrations(&self) -> Result<Vec<(String, bool)>, DbErr> {
        let mut all: Vec<(String, bool)> =
            Migrator::get_applied_migrations(&self.write).await?.iter().map(|m| (m.name().to_owned(), true)).collect();
        all.extend(Migrator::get_pending_migrations(&self.write).await?.iter().map(|m| (m.name().to_owned(), false)));
        Ok(all)
    }

    /// Answers whether the database takes a query now.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.read.execute_unprepared("SELECT 1").await.map(|_| ())
    }

    pub async fn close(self) {
        let _ = self.read.close().await;
        let _ = self.write.close().await;
        let _ = self.registrar.close().await;
    }
}

/// See `Db::registrar`: two batches in flight and one connection on its way back.
const REGISTRAR_CONNECTIONS: u32 = 3;

/// Connection options shared by every pool, on both databases.
///
/// No idle timeout and no maximum lifetime, so sqlx starts no maintenance task. sqlx 0.9's
/// task loops `for _ in 0..pool.num_idle()` without yielding, and the idle count it reads can
/// be one below zero for a moment (a connection being returned is already in the queue and
/// taken again before the count is raised), which wraps it to `usize::MAX`: the task then spins
/// a core forever and the pool never closes. A one-shot `carefair migrate status` was seen
/// hanging that way. A PostgreSQL connection that sat idle is pinged before use instead.
/// Public for the tests' and the benchmarks' own connections.
pub fn pool_options(url: &str, max_connections: u32) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections).idle_timeout(None).max_lifetime(None).sqlx_logging(false);
    opts
}

fn postgres_options(url: &str, max_connections: u32) -> ConnectOptions {
    let mut opts = pool_options(url, max_connections);
    // A connection is pinged before use only after sitting idle (sqlx pings on every checkout by
    // default, one more round trip for each transaction of a rush).
    opts.connect_timeout(Duration::from_secs(10)).test_before_acquire_if_idle_for(IDLE_BEFORE_PING).map_sqlx_postgres_pool_opts(|o| {
        o.after_connect(|_, _| Box::pin(async { nodelay::set_on_all_sockets().map_err(sea_orm::sqlx::Error::Io) }))
    });
    opts
}

/// A PostgreSQL connection idle this long is pinged before it is used again.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);

/// Rows buffered between SQLite's thread and the task reading them: a registration batch's
/// RETURNING in one go.
const ROW_BUFFER: usize = 512;

fn sqlite_options(url: &str, max_connections: u32, writer: bool) -> ConnectOptions {
    let mut opts = pool_options(url, max_connections);
    // A file's connection does not go stale, so it is not pinged each time it is taken from the
    // pool (sqlx's default: one more round trip to SQLite's thread for every transaction).
    opts.min_connections(1).test_before_acquire(false).map_sqlx_sqlite_opts(move |o| {
        let o = o
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Statement journals (a multi-row insert that may fail halfway needs one) stay in
            // memory instead of a temporary file opened and written for each batch.
            .pragma("temp_store", "memory")
            // Rows come back from SQLite's thread through a bounded channel; at sqlx's default of
            // 50 the thread stops and waits several times while a batch's RETURNING is read.
            .row_buffer_size(ROW_BUFFER);
        // The writer never checkpoints: `checkpoint_wal` does, beside it.
        if writer { o.pragma("wal_autocheckpoint", "0") } else { o }
    });
    opts
}

/// Copies SQLite's write-ahead log back into the database file every `every`, from a reading
/// connection, until `stop` turns true; on PostgreSQL it returns at once.
///
/// Left to itself SQLite checkpoints inside the commit that crosses 1,000 pages of log, and waits
/// for the disk there: during a registration rush that stalled one batch in ten, and every
/// request waiting behind it. Here the checkpoint runs on another connection while the writer
/// goes on (a passive checkpoint never blocks it), and the log restarts from the beginning once
/// a checkpoint has caught up.
pub async fn checkpoint_wal(db: Db, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    if db.backend() != DbBackend::Sqlite {
        return;
    }
    while !*stop.borrow() {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        if let Err(err) = db.read.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)").await {
            tracing::warn!(error = %err, "checkpointing the database log failed");
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_pool_runs_sqlx_maintenance_task() {
        for opts in [
            postgres_options("postgres://localhost/carefair", 8),
            sqlite_options("sqlite://var/carefair.db", 8, false),
            sqlite_options("sqlite://var/carefair.db", 1, true),
        ] {
            assert_eq!(opts.get_idle_timeout(), Some(None), "{opts:?}");
            assert_eq!(opts.get_max_lifetime(), Some(None), "{opts:?}");
        }
    }
}

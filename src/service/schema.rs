//! The database itself, for the commands and probes that are about it rather than about a use
//! case: migrations for `carefair migrate`, and whether the database answers for `/readyz`.

use std::time::Duration;

use anyhow::Context;

use super::Services;
use crate::store::Db;

/// What `carefair migrate` does.
#[derive(Debug, Clone, Copy)]
pub enum Migration {
    Up,
    Down,
    Status,
}

/// Runs `action` on the database at `url`, and returns every migration's name and whether it is
/// applied afterwards (applied ones first).
pub async fn migrate(url: &str, action: Migration) -> anyhow::Result<Vec<(String, bool)>> {
    let db = Db::connect(url, 1).await.context("connecting to database.url")?;
    match action {
        Migration::Up => db.migrate_up().await?,
        Migration::Down => db.migrate_down().await?,
        Migration::Status => {}
    }
    let state = db.migrations().await?;
    db.close().await;
    Ok(state)
}

/// How long `/readyz` waits for the database.
const READY_WITHIN: Duration = Duration::from_secs(2);

/// Whether the database takes a query now; the reason when not.
pub async fn database_ready(svc: &Services) -> Result<(), &'static str> {
    match tokio::time::timeout(READY_WITHIN, svc.db.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "database not ready");
            Err("database unavailable")
        }
        Err(_) => Err("database timed out"),
    }
}

/// SQLite's write-ahead log checkpointed every `every` until `stop` (nothing on PostgreSQL).
pub async fn checkpoint_wal(svc: Services, every: Duration, stop: tokio::sync::watch::Receiver<bool>) {
    crate::store::checkpoint_wal(svc.db.clone(), every, stop).await;
}

/// Closes the database's connections, once everything that uses them has stopped.
pub async fn close(svc: Services) {
    svc.db.close().await;
}

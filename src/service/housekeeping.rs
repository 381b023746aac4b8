//! What is kept no longer than it is needed: the payloads of sent mail (which hold manage and
//! RSVP links) after `mail.retention_days`, login tokens once expired, and idempotency records
//! after a day (a retry comes within minutes; the record holds a manage link). It runs inside
//! `serve`, at most once an hour of the clock.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tokio::sync::watch;

use super::{ServiceResult, Services};
use crate::store::entity::{auth_token, idempotency_key, outbox};

/// How long an `Idempotency-Key` is honoured.
pub fn idempotency_lifetime() -> Duration {
    Duration::hours(24)
}

/// What one sweep removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub payloads_cleared: u64,
    pub tokens_removed: u64,
    pub idempotency_removed: u64,
}

/// Clears and removes what has outlived its use, as of the clock's now.
pub async fn sweep(svc: &Services) -> ServiceResult<Swept> {
    let now = svc.clock.now();
    let db = &svc.db.write;
    let sent_before = now - Duration::days(i64::from(svc.settings.mail.retention_days));
    let payloads_cleared = outbox::Entity::update_many()
        .col_expr(outbox::Column::Payload, Expr::value("{}"))
        .filter(outbox::Column::Status.eq("sent"))
        .filter(outbox::Column::SentAt.lt(sent_before))
        .filter(outbox::Column::Payload.ne("{}"))
        .exec(db)
        .await?
        .rows_affected;
    let tokens_removed = auth_token::Entity::delete_many().filter(auth_token::Column::ExpiresAt.lte(now)).exec(db).await?.rows_affected;
    let idempotency_removed = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(now - idempotency_lifetime()))
        .exec(db)
        .await?
        .rows_affected;
    let swept = Swept { payloads_cleared, tokens_removed, idempotency_removed };
    if swept != Swept::default() {
        tracing::info!(?swept, "housekeeping");
    }
    Ok(swept)
}

/// Sweeps at start and then whenever an hour of the clock has passed, until `shutdown`.
pub async fn run(svc: Services, mut shutdown: watch::Receiver<bool>) {
    let mut last: Option<DateTime<Utc>> = None;
    while !*shutdown.borrow() {
        let now = svc.clock.now();
        if last.is_none_or(|t| now - t >= Duration::hours(1)) {
            match sweep(&svc).await {
                Ok(_) => last = Some(now),
                Err(err) => tracing::error!(error = %err, "housekeeping failed"),
            }
        }
        tokio::select! {
            () = tokio::time::sleep(StdDuration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

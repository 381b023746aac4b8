//! The reminder scheduler: a day before an event starts, everyone with a confirmed place is sent
//! a reminder with the calendar and a fresh manage link, once. It runs inside `serve`; the mark
//! on the event row, set under the row's lock, keeps several processes from reminding twice.

use std::time::Duration as StdDuration;

use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use super::auth::new_token;
use super::outbox::{self, MessageKind};
use super::registrations::manage_url;
use super::{ServiceResult, Services};
use crate::domain::{EventStatus, RegistrationStatus};
use crate::store::entity::{event, registration_token};
use crate::store::insert_all;

/// How long before the start reminders go out.
pub fn lead() -> Duration {
    Duration::hours(24)
}

/// Queues the reminders of every published event starting within the next day that has not had
/// them yet. Returns how many messages were queued.
pub async fn queue_due(svc: &Services) -> ServiceResult<usize> {
    let now = svc.clock.now();
    let due: Vec<Uuid> = event::Entity::find()
        .select_only()
        .column(event::Column::Id)
        .filter(event::Column::Status.eq(EventStatus::Published.as_str()))
        .filter(event::Column::ReminderQueuedAt.is_null())
        .filter(event::Column::StartsAt.gt(now))
        .filter(event::Column::StartsAt.lte(now + lead()))
        .into_tuple()
        .all(&svc.db.read)
        .await?;
    let mut queued = 0;
    for id in due {
        let txn = svc.db.write.begin().await?;
        let Some(event) = event::Entity::find_by_id(id).lock_exclusive().one(&txn).await? else { continue };
        if event.reminder_queued_at.is_some() || event.status != EventStatus::Published {
            continue;
        }
        let people = outbox::registrants(&txn, id, &[RegistrationStatus::Confirmed]).await?;
        let mut tokens = Vec::with_capacity(people.len());
        let mut messages = Vec::with_capacity(people.len());
        let mut subjects = outbox::Subjects::default();
        for (registration_id, email) in &people {
            let (token, token_hash) = new_token();
            tokens.push(registration_token::ActiveModel {
                token_hash: sea_orm::Set(token_hash),
                registration_id: sea_orm::Set(*registration_id),
                created_at: sea_orm::Set(now),
            });
            let payload =
                json!({"event_id": id, "registration_id": registration_id, "manage_url": manage_url(svc.settings.public_url(), &token)});
            messages.push(subjects.message(svc.settings.public_url(), now, email, MessageKind::Reminder, &event.title, payload));
        }
        event::Entity::update_many()
            .col_expr(event::Column::ReminderQueuedAt, Expr::value(Some(now)))
            .filter(event::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        insert_all(&txn, tokens).await?;
        outbox::queue(&txn, messages).await?;
        txn.commit().await?;
        tracing::info!(event_id = %id, reminders = people.len(), "reminders queued");
        queued += people.len();
    }
    if queued > 0 {
        svc.mail_wake.notify_one();
    }
    Ok(queued)
}

/// Looks for due reminders (and feedback requests, see `feedback`) every `mail.poll_interval_ms` (at least once a second) until
/// `shutdown` turns true.
pub async fn run(svc: Services, mut shutdown: watch::Receiver<bool>) {
    let every = StdDuration::from_millis(svc.settings.mail.poll_interval_ms.clamp(1, 1000));
    while !*shutdown.borrow() {
        if let Err(err) = queue_due(&svc).await {
            tracing::error!(error = %err, "queuing reminders failed");
        }
        if let Err(err) = super::registrations::pass_on_expired_offers(&svc).await {
            tracing::error!(error = %err, "passing on expired offers failed");
        }
        if let Err(err) = super::feedback::queue_due(&svc).await {
            tracing::error!(error = %err, "queuing feedback requests failed");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}

//! The reminder scheduler: a day before an event starts, everyone with a confirmed place is sent
//! a reminder with the calendar and a fresh manage link, once. It runs inside `serve`; the mark
//! on the event row, set under the row's lock, keeps several processes from reminding twice.

use std::time::Duration as StdDuration;

use chrono::Duration;
use sea_orm::{ColumnTrait, Condition, Set};
use serde_json::json;
use tokio::sync::watch;

use super::outbox::{self, MessageKind};
use super::registrations::manage_url;
use super::{ServiceResult, Services};
use crate::domain::RegistrationStatus;
use crate::store::entity::{event, registration_token};

/// How long before the start reminders go out.
pub fn lead() -> Duration {
    Duration::hours(24)
}

/// Queues the reminders of every published event starting within the next day that has not had
/// them yet. Returns how many messages were queued.
pub async fn queue_due(svc: &Services) -> ServiceResult<usize> {
    let now = svc.clock.now();
    let mailing = outbox::OnceAnEvent {
        marker: event::Column::ReminderQueuedAt,
        due: Condition::all().add(event::Column::StartsAt.gt(now)).add(event::Column::StartsAt.lte(now + lead())),
        statuses: &[RegistrationStatus::Confirmed],
        kind: MessageKind::Reminder,
    };
    outbox::queue_once(svc, &mailing, |event, registration_id, token, token_hash| {
        let link =
            registration_token::ActiveModel { token_hash: Set(token_hash), registration_id: Set(registration_id), created_at: Set(now) };
        let url = manage_url(svc.settings.public_url(), token);
        (link, json!({"event_id": event.id, "registration_id": registration_id, "manage_url": url}))
    })
    .await
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

//! The outbox: every message is a row written in the transaction of the change that causes it,
//! so a message is never lost and never sent for a change that rolled back. The mail worker
//! (`mail_worker`) claims due rows, sends them and records the outcome; admins watch and retry
//! them through the API.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set, TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Page, PageRequest, ServiceError, ServiceResult, Services};
use crate::config::{MailSettings, public_host};
use crate::domain::{Actor, RegistrationStatus, new_id};
pub use crate::domain::{MessageKind, MessageStatus};
use crate::mail::templates;
use crate::store::entity::{candidate, event, outbox, registration};

/// An outbox message as the use cases hand it out.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub to_address: String,
    pub subject: String,
    pub kind: MessageKind,
    pub payload: String,
    pub status: MessageStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub message_id: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<outbox::Model> for OutboxMessage {
    fn from(m: outbox::Model) -> Self {
        Self {
            id: m.id,
            to_address: m.to_address,
            subject: m.subject,
            kind: m.kind,
            payload: m.payload,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            locked_until: m.locked_until,
            last_error: m.last_error,
            message_id: m.message_id,
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}

/// Makes pending outbox rows about events, rendering each subject once per kind and title:
/// whoever queues many messages at once (a batch of registrations, a thousand invitations) keeps
/// one of these for the batch; a single message takes `Subjects::default()`.
#[derive(Default)]
pub struct Subjects(std::collections::HashMap<(MessageKind, String), String>);

impl Subjects {
    /// A pending outbox row. Its `Message-ID` is fixed now, so it stays the same across
    /// retries; its subject is rendered from `{kind}/subject.txt` with the event's title (once
    /// per kind and title), so admins see it.
    ///
    /// `payload` says what the message is about (`event_id`, `registration_id`, links); the
    /// worker renders the rest from the database when it sends.
    pub fn message(
        &mut self,
        public_url: &str,
        now: DateTime<Utc>,
        to: &str,
        kind: MessageKind,
        event_title: &str,
        payload: Value,
    ) -> outbox::ActiveModel {
        let subject =
            self.0.entry((kind, event_title.to_owned())).or_insert_with(|| subject(kind, &json!({"event": {"title": event_title}})));
        pending(public_url, now, to, kind, subject.clone(), payload)
    }
}

/// A pending outbox row about an organisation rather than a person's place at an event
/// (employer approved, school links, stands): everything its templates show is in `context`,
/// kept in the payload, so the worker renders it without reading the database.
pub fn notice(public_url: &str, now: DateTime<Utc>, to: &str, kind: MessageKind, context: Value) -> outbox::ActiveModel {
    let subject = subject(kind, &context);
    pending(public_url, now, to, kind, subject, json!({ "context": context }))
}

/// A notice that carries a calendar (an interview's REQUEST or CANCEL), rendered when queued so
/// that both sides' copies say the same.
pub fn notice_with_calendar(
    public_url: &str,
    now: DateTime<Utc>,
    to: &str,
    kind: MessageKind,
    context: Value,
    method: crate::calendar::Method,
    calendar: String,
) -> outbox::ActiveModel {
    let subject = subject(kind, &context);
    pending(public_url, now, to, kind, subject, json!({ "context": context, "calendar": {"method": method.as_str(), "text": calendar} }))
}

fn subject(kind: MessageKind, context: &Value) -> String {
    templates().and_then(|t| t.subject(kind.as_str(), context)).unwrap_or_else(|err| {
        tracing::error!(error = %err, "rendering a subject");
        kind.as_str().replace('_', " ")
    })
}

fn pending(public_url: &str, now: DateTime<Utc>, to: &str, kind: MessageKind, subject: String, payload: Value) -> outbox::ActiveModel {
    let id = new_id();
    outbox::ActiveModel {
        id: Set(id),
        to_address: Set(to.to_owned()),
        subject: Set(subject),
        kind: Set(kind),
        payload: Set(payload.to_string()),
        status: Set(MessageStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        last_error: Set(None),
        message_id: Set(format!("<{}@{}>", id.simple(), public_host(public_url))),
        created_at: Set(now),
        sent_at: Set(None),
    }
}

/// Queues messages, in the caller's transaction.
pub async fn queue(conn: &impl ConnectionTrait, messages: Vec<outbox::ActiveModel>) -> ServiceResult<()> {
    Ok(crate::store::insert_all(conn, messages).await?)
}

/// The registrations in `statuses` at an event, with their people's addresses; erased
/// candidates are left out.
pub async fn registrants(
    conn: &impl ConnectionTrait,
    event_id: Uuid,
    statuses: &[RegistrationStatus],
) -> ServiceResult<Vec<(Uuid, String)>> {
    Ok(registration::Entity::find()
        .select_only()
        .column(registration::Column::Id)
        .column(candidate::Column::Email)
        .join(
            sea_orm::JoinType::InnerJoin,
            registration::Entity::belongs_to(candidate::Entity).from(registration::Column::CandidateId).to(candidate::Column::Id).into(),
        )
        .filter(registration::Column::EventId.eq(event_id))
        .filter(registration::Column::Status.is_in(statuses.iter().map(|s| s.as_str())))
        .filter(candidate::Column::ErasedAt.is_null())
        .into_tuple::<(Uuid, String)>()
        .all(conn)
        .await?
        .into_iter()
        // A walk-in who gave no email has none to write to.
        .filter(|(_, email)| !super::door::is_stand_in(email))
        .collect())
}

/// Queues one message of `kind` to everyone holding a registration in `statuses` at `event`, in
/// the caller's transaction. Erased candidates are skipped. Returns how many were queued.
pub async fn queue_to_registrants(
    conn: &impl ConnectionTrait,
    public_url: &str,
    now: DateTime<Utc>,
    event: &event::Model,
    statuses: &[RegistrationStatus],
    kind: MessageKind,
) -> ServiceResult<usize> {
    let people = registrants(conn, event.id, statuses).await?;
    let mut subjects = Subjects::default();
    let messages: Vec<_> = people
        .iter()
        .map(|(registration_id, email)| {
            let payload = json!({"event_id": event.id, "registration_id": registration_id});
            subjects.message(public_url, now, email, kind, &event.title, payload)
        })
        .collect();
    let n = messages.len();
    queue(conn, messages).await?;
    Ok(n)
}

/// Claims up to `limit` due messages for one worker: pending ones whose time has come, and
/// ones a worker claimed but never finished (its lease ran out). They become `sending` with a
/// lease until `now + lease`, and their attempt is counted.
///
/// On PostgreSQL the candidates are picked with `FOR UPDATE SKIP LOCKED`, so workers in several
/// processes never claim one message twice; on SQLite the single statement runs on the one
/// write connection, which is as exclusive.
pub async fn claim(db: &DatabaseConnection, now: DateTime<Utc>, lease: Duration, limit: u64) -> ServiceResult<Vec<OutboxMessage>> {
    let due = Condition::any()
        .add(Condition::all().add(outbox::Column::Status.eq(MessageStatus::Pending.as_str())).add(outbox::Column::NextAttemptAt.lte(now)))
        .add(Condition::all().add(outbox::Column::Status.eq(MessageStatus::Sending.as_str())).add(outbox::Column::LockedUntil.lte(now)));
    let mut picked = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(due.clone())
        .order_by_asc(outbox::Column::NextAttemptAt)
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
        .into_query();
    if db.get_database_backend() == DatabaseBackend::Postgres {
        picked.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let claimed = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(MessageStatus::Sending.as_str()))
        .col_expr(outbox::Column::LockedUntil, Expr::value(now + lease))
        .col_expr(outbox::Column::Attempts, sea_orm::sea_query::ExprTrait::add(Expr::col(outbox::Column::Attempts), 1))
        .filter(outbox::Column::Id.in_subquery(picked))
        // Checked again: between the pick and the update another worker may have won the row.
        .filter(due)
        .exec_with_returning(db)
        .await?;
    Ok(claimed.into_iter().map(Into::into).collect())
}

/// Extends the lease of these claimed messages (still `sending`) until `until`.
pub async fn renew_claims(db: &DatabaseConnection, ids: &[Uuid], until: DateTime<Utc>) -> ServiceResult<()> {
    for chunk in ids.chunks(500) {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::LockedUntil, Expr::value(until))
            .filter(outbox::Column::Id.is_in(chunk.iter().copied()))
            .filter(outbox::Column::Status.eq(MessageStatus::Sending.as_str()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Makes every claimed message due again at once; for SQLite, where a starting worker knows
/// that no other is alive. Returns how many there were.
pub async fn release_claims(db: &DatabaseConnection) -> ServiceResult<u64> {
    let released = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(MessageStatus::Pending.as_str()))
        .col_expr(outbox::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(outbox::Column::Status.eq(MessageStatus::Sending.as_str()))
        .exec(db)
        .await?;
    Ok(released.rows_affected)
}

/// Records that these claimed messages were accepted by the server.
pub async fn mark_sent(db: &DatabaseConnection, ids: Vec<Uuid>, now: DateTime<Utc>) -> ServiceResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(MessageStatus::Sent.as_str()))
        .col_expr(outbox::Column::SentAt, Expr::value(Some(now)))
        .col_expr(outbox::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(outbox::Column::LastError, Expr::value(Option::<String>::None))
        .filter(outbox::Column::Id.is_in(ids))
        .filter(outbox::Column::Status.eq(MessageStatus::Sending.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// When a message that has failed `attempts` times is tried again: `retry_base_ms`, doubled with
/// each further failure, at most a day.
pub fn backoff(mail: &MailSettings, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(20);
    let ms = mail.retry_base_ms.saturating_mul(1u64 << doublings).min(24 * 3_600_000);
    Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// Records a failed attempt: the message waits for its next try, or is `failed` once it has had
/// `max_attempts`. Returns whether it is now `failed`.
pub async fn mark_attempt_failed(
    db: &DatabaseConnection,
    mail: &MailSettings,
    message: &OutboxMessage,
    error: &str,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let given_up = u32::try_from(message.attempts).unwrap_or(0) >= mail.max_attempts;
    let status = if given_up { MessageStatus::Failed } else { MessageStatus::Pending };
    let error: String = error.chars().take(2000).collect();
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(status.as_str()))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(now + backoff(mail, message.attempts)))
        .col_expr(outbox::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(outbox::Column::LastError, Expr::value(Some(error)))
        .filter(outbox::Column::Id.eq(message.id))
        .filter(outbox::Column::Status.eq(MessageStatus::Sending.as_str()))
        .exec(db)
        .await?;
    Ok(given_up)
}

/// Messages waiting or on their way: what `/metrics` reports as the outbox depth.
pub async fn depth(svc: &Services) -> ServiceResult<u64> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::Status.is_in([MessageStatus::Pending.as_str(), MessageStatus::Sending.as_str()]))
        .count(&svc.db.read)
        .await?)
}

/// The outbox, newest first, optionally of one status.
pub async fn list(svc: &Services, actor: &Actor, status: Option<MessageStatus>, page: PageRequest) -> ServiceResult<Page<OutboxMessage>> {
    super::policy::admin(actor)?;
    let mut query = outbox::Entity::find();
    if let Some(status) = status {
        query = query.filter(outbox::Column::Status.eq(status.as_str()));
    }
    let total = query.clone().count(&svc.db.read).await?;
    let items = query
        .order_by_desc(outbox::Column::CreatedAt)
        .order_by_desc(outbox::Column::Id)
        .limit(page.limit)
        .offset(page.offset)
        .all(&svc.db.read)
        .await?;
    Ok(Page { items: items.into_iter().map(Into::into).collect(), total, limit: page.limit, offset: page.offset })
}

/// Sends a failed (or waiting) message again now, with a fresh count of attempts. A message
/// already sent, or on its way, is a conflict.
pub async fn retry(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<OutboxMessage> {
    super::policy::admin(actor)?;
    let now = svc.clock.now();
    // One transaction, so the answer shows the message as this call left it, before a worker
    // (woken after the commit) claims it.
    let txn = svc.db.write.begin().await?;
    let updated = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(MessageStatus::Pending.as_str()))
        .col_expr(outbox::Column::Attempts, Expr::value(0))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(now))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.is_in([MessageStatus::Failed.as_str(), MessageStatus::Pending.as_str()]))
        .exec(&txn)
        .await?;
    let found = outbox::Entity::find_by_id(id).one(&txn).await?.ok_or(ServiceError::NotFound)?;
    if updated.rows_affected == 0 {
        return Err(ServiceError::conflict(format!(
            "the message is {}; only failed or pending messages are retried",
            found.status.as_str()
        )));
    }
    txn.commit().await?;
    svc.mail_wake.notify_one();
    Ok(found.into())
}

/// A mail every event's people get once at some point of it (the reminder before it starts, the
/// feedback request after it ends), each with a link of their own.
pub(super) struct OnceAnEvent {
    /// The event's column marking the mailing done; it is set under the event row's lock, so
    /// several processes never send it twice.
    pub marker: event::Column,
    /// Which published events are due now.
    pub due: Condition,
    /// The registrations it goes to.
    pub statuses: &'static [RegistrationStatus],
    pub kind: MessageKind,
}

/// Queues `mailing` for every due event not yet marked: for each person, `link` makes their
/// link's row (from the link's token and its hash) and the message's payload. Returns how many
/// messages were queued.
pub(super) async fn queue_once<L, F>(svc: &Services, mailing: &OnceAnEvent, link: F) -> ServiceResult<usize>
where
    L: sea_orm::ActiveModelTrait + Send,
    F: Fn(&event::Model, Uuid, &str, String) -> (L, Value),
{
    let now = svc.clock.now();
    let unmarked =
        || Condition::all().add(event::Column::Status.eq(crate::domain::EventStatus::Published.as_str())).add(mailing.marker.is_null());
    let due: Vec<Uuid> = event::Entity::find()
        .select_only()
        .column(event::Column::Id)
        .filter(unmarked())
        .filter(mailing.due.clone())
        .into_tuple()
        .all(&svc.db.read)
        .await?;
    let mut queued = 0;
    for id in due {
        let txn = svc.db.write.begin().await?;
        // Read again under the lock: another process may have sent it, or the event changed.
        let Some(event) = event::Entity::find_by_id(id).filter(unmarked()).lock_exclusive().one(&txn).await? else { continue };
        let people = registrants(&txn, id, mailing.statuses).await?;
        let mut links = Vec::with_capacity(people.len());
        let mut messages = Vec::with_capacity(people.len());
        let mut subjects = Subjects::default();
        for (registration_id, email) in &people {
            let (token, token_hash) = super::auth::new_token();
            let (row, payload) = link(&event, *registration_id, &token, token_hash);
            links.push(row);
            messages.push(subjects.message(svc.settings.public_url(), now, email, mailing.kind, &event.title, payload));
        }
        event::Entity::update_many().col_expr(mailing.marker, Expr::value(Some(now))).filter(event::Column::Id.eq(id)).exec(&txn).await?;
        crate::store::insert_all(&txn, links).await?;
        queue(&txn, messages).await?;
        txn.commit().await?;
        tracing::info!(event_id = %id, kind = mailing.kind.as_str(), messages = people.len(), "mailing queued");
        queued += people.len();
    }
    if queued > 0 {
        svc.mail_wake.notify_one();
    }
    Ok(queued)
}

//! A registration's life after it is taken: the holder's view and cancellation by manage token,
//! promotion from the waiting list, the organiser's list, and closing an event. Taking
//! registrations is `registrar`; checking them in is `door`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use uuid::Uuid;

use super::auth::{hash_token, new_token};
use super::events::Event;
use super::outbox::{self, MessageKind};
use super::registrar::store_counters;
use super::{Page, PageRequest, ServiceError, ServiceResult, Services};
use crate::domain::{Actor, EventKind, EventStatus, RegistrationStatus, TicketCode};
use crate::store::entity::{candidate, event, outbox as outbox_entity, registration, registration_token};

/// A registration as the use cases hand it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub id: Uuid,
    pub event_id: Uuid,
    pub candidate_id: Uuid,
    pub status: RegistrationStatus,
    pub waitlist_seq: Option<i64>,
    pub checked_in_at: Option<DateTime<Utc>>,
    /// The door that checked the person in.
    pub checked_in_by: Option<String>,
    pub ticket_code: TicketCode,
    /// While a place is offered: when the offer passes on.
    pub offer_expires_at: Option<DateTime<Utc>>,
    /// Whether they agreed that the employers at the fair may see their details.
    pub consent_share_with_employers: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<registration::Model> for Registration {
    fn from(m: registration::Model) -> Self {
        Self {
            id: m.id,
            event_id: m.event_id,
            candidate_id: m.candidate_id,
            status: m.status,
            waitlist_seq: m.waitlist_seq,
            checked_in_at: m.checked_in_at,
            checked_in_by: m.checked_in_by,
            ticket_code: TicketCode::stored(m.ticket_code),
            offer_expires_at: m.offer_expires_at,
            consent_share_with_employers: m.consent_share_with_employers,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A candidate as the use cases hand it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub postcode: Option<String>,
    pub interests: Vec<String>,
    pub consent_marketing: bool,
    pub consent_at: Option<DateTime<Utc>>,
    pub source: Option<String>,
    pub erased_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<candidate::Model> for Candidate {
    fn from(m: candidate::Model) -> Self {
        Self {
            id: m.id,
            email: m.email,
            name: m.name,
            phone: m.phone,
            postcode: m.postcode,
            interests: m.interests.0,
            consent_marketing: m.consent_marketing,
            consent_at: m.consent_at,
            source: m.source,
            erased_at: m.erased_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// The link a registration's holder manages their place from.
pub fn manage_url(public_url: &str, token: &str) -> String {
    format!("{public_url}/r/{token}")
}

/// A registration from the public (the API or a page), from `client`: limited per client
/// address, then taken by the registration writer (which also checks the answers to the
/// event's questions).
pub async fn register(
    svc: &Services,
    client: Option<std::net::IpAddr>,
    request: super::registrar::RegisterRequest,
) -> ServiceResult<super::registrar::Registered> {
    super::admit_public_write(svc, client)?;
    svc.registrar.register(request).await
}

/// Whether `event` takes registrations at `now`; a 409 with the reason when not.
pub fn check_open(event: &Event, now: DateTime<Utc>) -> ServiceResult<()> {
    open_at(event.kind, event.status, event.registration_opens_at, event.registration_closes_at, event.ends_at, now)
}

/// [`check_open`] for a stored row (the registration writer works on rows).
pub(crate) fn check_row_open(event: &event::Model, now: DateTime<Utc>) -> ServiceResult<()> {
    open_at(event.kind, event.status, event.registration_opens_at, event.registration_closes_at, event.ends_at, now)
}

fn open_at(
    kind: EventKind,
    status: EventStatus,
    opens: Option<DateTime<Utc>>,
    closes: Option<DateTime<Utc>>,
    ends: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    if kind == EventKind::SchoolEngagement {
        // For the school's own pupils: the public cannot book, nor learn that one exists.
        return Err(ServiceError::NotFound);
    }
    match status {
        EventStatus::Published => {}
        EventStatus::Draft => return Err(ServiceError::Closed(Closed::NotPublished)),
        EventStatus::Cancelled => return Err(ServiceError::Closed(Closed::Cancelled)),
        EventStatus::Completed => return Err(ServiceError::Closed(Closed::Over)),
    }
    if let Some(opens) = opens
        && now < opens
    {
        return Err(ServiceError::Closed(Closed::OpensAt(opens)));
    }
    // Bookings close when the event ends unless an earlier close is set.
    let closes = closes.unwrap_or(ends);
    if now >= closes {
        return Err(ServiceError::Closed(Closed::ClosedAt(closes)));
    }
    Ok(())
}

/// Why an event takes no registrations now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    NotPublished,
    Cancelled,
    Over,
    OpensAt(DateTime<Utc>),
    ClosedAt(DateTime<Utc>),
}

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Closed::NotPublished => f.write_str("registration is not open: the event is not published yet"),
            Closed::Cancelled => f.write_str("registration is closed: the event is cancelled"),
            Closed::Over => f.write_str("registration is closed: the event is over"),
            Closed::OpensAt(at) => write!(f, "registration opens at {}", at.to_rfc3339()),
            Closed::ClosedAt(at) => write!(f, "registration closed at {}", at.to_rfc3339()),
        }
    }
}

/// A registration with its person and, for the waitlisted, their current place in the queue.
#[derive(Debug, Clone)]
pub struct RegistrationDetail {
    pub registration: Registration,
    pub candidate: Candidate,
    pub position: Option<i64>,
    /// What they answered to the event's questions, in form order.
    pub answers: Vec<super::questions::Answered>,
}

/// Everything the holder of a manage link sees.
pub struct HeldRegistration {
    pub detail: RegistrationDetail,
    pub event: Event,
}

pub(crate) async fn registration_by_token<C: sea_orm::ConnectionTrait>(db: &C, token: &str) -> ServiceResult<Registration> {
    // One query: the token's registration, joined.
    let by_token = registration::Entity::belongs_to(registration_token::Entity)
        .from(registration::Column::Id)
        .to(registration_token::Column::RegistrationId);
    registration::Entity::find()
        .join(sea_orm::JoinType::InnerJoin, by_token.into())
        .filter(registration_token::Column::TokenHash.eq(hash_token(token)))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
        .map(Into::into)
}

/// The place in the waiting list: how many are still waiting who arrived no later.
async fn position_of<C: sea_orm::ConnectionTrait>(db: &C, r: &Registration) -> ServiceResult<Option<i64>> {
    if r.status != RegistrationStatus::Waitlisted {
        return Ok(None);
    }
    let Some(seq) = r.waitlist_seq else { return Ok(None) };
    let ahead = registration::Entity::find()
        .filter(registration::Column::EventId.eq(r.event_id))
        .filter(registration::Column::Status.eq(RegistrationStatus::Waitlisted.as_str()))
        .filter(registration::Column::WaitlistSeq.lte(seq))
        .count(db)
        .await?;
    Ok(Some(i64::try_from(ahead).unwrap_or(i64::MAX)))
}

/// One registration of an event, with its person.
pub async fn detail(svc: &Services, event_id: Uuid, registration_id: Uuid) -> ServiceResult<RegistrationDetail> {
    let registration = registration::Entity::find_by_id(registration_id)
        .filter(registration::Column::EventId.eq(event_id))
        .one(&svc.db.read)
        .await?
        .ok_or(ServiceError::NotFound)?;
    detail_of(svc, registration.into()).await
}

/// A registration with its person and place in the queue.
async fn detail_of(svc: &Services, registration: Registration) -> ServiceResult<RegistrationDetail> {
    let candidate = candidate::Entity::find_by_id(registration.candidate_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    let position = position_of(&svc.db.read, &registration).await?;
    let answers = super::questions::answers_of(&svc.db.read, &[registration.id]).await?.remove(&registration.id).unwrap_or_default();
    Ok(RegistrationDetail { registration, candidate: candidate.into(), position, answers })
}

/// The registration a manage token belongs to.
pub async fn held(svc: &Services, token: &str) -> ServiceResult<HeldRegistration> {
    let registration = registration_by_token(&svc.db.read, token).await?;
    detail_and_event(svc, registration).await
}

async fn detail_and_event(svc: &Services, registration: Registration) -> ServiceResult<HeldRegistration> {
    let event = event::Entity::find_by_id(registration.event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?.into();
    Ok(HeldRegistration { detail: detail_of(svc, registration).await?, event })
}

/// Cancels the place a manage token holds. Cancelling twice is not an error.
#[tracing::instrument(skip_all)]
pub async fn cancel_by_token(svc: &Services, token: &str) -> ServiceResult<HeldRegistration> {
    let found = registration_by_token(&svc.db.read, token).await?;
    let cancelled = cancel_place(svc, found.event_id, found.id).await?;
    detail_and_event(svc, cancelled).await
}

/// Cancels a registration; a confirmed place goes to the earliest on the waiting list, in the
/// same transaction.
#[tracing::instrument(skip_all, fields(event_id = %event_id, registration_id = %registration_id))]
pub async fn cancel(svc: &Services, actor: &Actor, event_id: Uuid, registration_id: Uuid) -> ServiceResult<Registration> {
    super::policy::organiser(actor)?;
    cancel_place(svc, event_id, registration_id).await
}

/// Cancels a place, whoever may: an organiser, or the holder of its manage link.
async fn cancel_place(svc: &Services, event_id: Uuid, registration_id: Uuid) -> ServiceResult<Registration> {
    let now = svc.clock.now();
    let txn = svc.db.write.begin().await?;
    let mut event = lock_event(&txn, event_id).await?;
    let current = registration::Entity::find_by_id(registration_id)
        .filter(registration::Column::EventId.eq(event_id))
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let status = current.status;
    match status {
        RegistrationStatus::Cancelled => return Ok(current.into()),
        RegistrationStatus::Attended | RegistrationStatus::NoShow => {
            return Err(ServiceError::conflict("the event has happened; this registration can no longer be cancelled"));
        }
        // An offer holds the place it offers, as a confirmed one does.
        RegistrationStatus::Confirmed | RegistrationStatus::Offered => event.confirmed_count -= 1,
        RegistrationStatus::Waitlisted => event.waitlisted_count -= 1,
    }
    let mut model: registration::ActiveModel = current.into();
    model.status = Set(RegistrationStatus::Cancelled);
    model.offer_expires_at = Set(None);
    model.updated_at = Set(now);
    let cancelled = model.update(&txn).await?;
    // Its interviews are freed for others, and both sides told.
    super::slots::release_where(svc, &txn, crate::store::entity::slot_booking::Column::RegistrationId.eq(cancelled.id)).await?;
    // Manage links of a cancelled place keep working, so the holder can see it is cancelled.
    if let Some(candidate) = candidate::Entity::find_by_id(cancelled.candidate_id).one(&txn).await? {
        let payload = serde_json::json!({"registration_id": cancelled.id, "event_id": event.id});
        outbox::Subjects::default()
            .message(svc.settings.public_url(), now, &candidate.email, MessageKind::RegistrationCancelled, &event.title, payload)
            .insert(&txn)
            .await?;
    }
    if matches!(status, RegistrationStatus::Confirmed | RegistrationStatus::Offered) && event.status == EventStatus::Published {
        promote(svc, &txn, &mut event, now).await?;
    }
    store_counters(&txn, &event).await?;
    txn.commit().await?;
    svc.mail_wake.notify_one();
    Ok(cancelled.into())
}

async fn lock_event(txn: &DatabaseTransaction, id: Uuid) -> ServiceResult<event::Model> {
    event::Entity::find_by_id(id).lock_exclusive().one(txn).await?.ok_or(ServiceError::NotFound)
}

/// Moves the earliest on the waiting list into the places free at `event` (whose row the caller
/// has locked), queuing a message with a fresh manage link for each. Updates the counters in
/// `event`; the caller stores them.
pub async fn promote(svc: &Services, txn: &DatabaseTransaction, event: &mut event::Model, now: DateTime<Utc>) -> ServiceResult<usize> {
    let free = match event.capacity {
        Some(capacity) => i64::from(capacity - event.confirmed_count).max(0),
        None => i64::from(event.waitlisted_count),
    };
    let wanted = u64::try_from(free.min(i64::from(event.waitlisted_count))).unwrap_or(0);
    if wanted == 0 {
        return Ok(0);
    }
    let promoted = registration::Entity::find()
        .filter(registration::Column::EventId.eq(event.id))
        .filter(registration::Column::Status.eq(RegistrationStatus::Waitlisted.as_str()))
        .order_by_asc(registration::Column::WaitlistSeq)
        .limit(wanted)
        .all(txn)
        .await?;
    if promoted.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = promoted.iter().map(|r| r.id).collect();
    // With waiting-list offers on, and more than their length before the start, the place is
    // offered; nearer the start it is given at once, as there would be no time to pass it on.
    let offer_for = event.offer_hours.map(|h| Duration::hours(i64::from(h))).filter(|length| event.starts_at - now > *length);
    let (status, expires_at) = match offer_for {
        Some(length) => (RegistrationStatus::Offered, Some(now + length)),
        None => (RegistrationStatus::Confirmed, None),
    };
    registration::Entity::update_many()
        .col_expr(registration::Column::Status, Expr::value(status.as_str()))
        .col_expr(registration::Column::OfferExpiresAt, Expr::value(expires_at))
        .col_expr(registration::Column::UpdatedAt, Expr::value(now))
        .filter(registration::Column::Id.is_in(ids.clone()))
        .exec(txn)
        .await?;
    let (kind, expires) = match expires_at {
        Some(at) => (MessageKind::PlaceOffered, Some(offer_time(event, at))),
        None => (MessageKind::RegistrationPromoted, None),
    };
    let emails: HashMap<Uuid, String> = candidate::Entity::find()
        .filter(candidate::Column::Id.is_in(promoted.iter().map(|r| r.candidate_id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|c| (c.id, c.email))
        .collect();
    let mut tokens = Vec::new();
    let mut messages = Vec::new();
    let mut subjects = outbox::Subjects::default();
    for r in &promoted {
        let (token, token_hash) = new_token();
        tokens.push(registration_token::ActiveModel { token_hash: Set(token_hash), registration_id: Set(r.id), created_at: Set(now) });
        if let Some(email) = emails.get(&r.candidate_id) {
            let payload = serde_json::json!({
                "registration_id": r.id, "event_id": event.id, "manage_url": manage_url(svc.settings.public_url(), &token),
                "offer_expires": expires,
            });
            messages.push(subjects.message(svc.settings.public_url(), now, email, kind, &event.title, payload));
        }
    }
    registration_token::Entity::insert_many(tokens).exec(txn).await?;
    if !messages.is_empty() {
        outbox_entity::Entity::insert_many(messages).exec(txn).await?;
    }
    let n = promoted.len();
    let n32 = i32::try_from(n).unwrap_or(i32::MAX);
    event.confirmed_count += n32;
    event.waitlisted_count -= n32;
    tracing::info!(event_id = %event.id, promoted = n, offered = expires_at.is_some(), "places given from the waiting list");
    Ok(n)
}

/// Claims the place offered to the holder of `token`: confirmed, with their ticket by mail. An
/// offer that has expired (even if not yet passed on), or no offer, is a 409. Under the event
/// row's lock, like the sweep that passes offers on, so a claim and an expiry never both win.
#[tracing::instrument(skip_all)]
pub async fn claim(svc: &Services, token: &str) -> ServiceResult<HeldRegistration> {
    let found = registration_by_token(&svc.db.read, token).await?;
    let now = svc.clock.now();
    let txn = svc.db.write.begin().await?;
    let event = lock_event(&txn, found.event_id).await?;
    if event.status != EventStatus::Published {
        return Err(ServiceError::conflict(format!("the event is {}", event.status.as_str())));
    }
    let current = registration::Entity::find_by_id(found.id).one(&txn).await?.ok_or(ServiceError::NotFound)?;
    match current.status {
        RegistrationStatus::Offered => {}
        RegistrationStatus::Confirmed | RegistrationStatus::Attended => return Err(ServiceError::conflict("this place is already yours")),
        _ => return Err(ServiceError::conflict("no place is offered to you now")),
    }
    if current.offer_expires_at.is_none_or(|at| at <= now) {
        return Err(ServiceError::conflict("this offer has expired, and the place has passed to the next person waiting"));
    }
    let candidate_id = current.candidate_id;
    let mut model: registration::ActiveModel = current.into();
    model.status = Set(RegistrationStatus::Confirmed);
    model.offer_expires_at = Set(None);
    model.updated_at = Set(now);
    let claimed = model.update(&txn).await?;
    if let Some(candidate) = candidate::Entity::find_by_id(candidate_id).one(&txn).await? {
        let payload = serde_json::json!({"registration_id": claimed.id, "event_id": event.id, "manage_url": manage_url(svc.settings.public_url(), token)});
        outbox::Subjects::default()
            .message(svc.settings.public_url(), now, &candidate.email, MessageKind::RegistrationPromoted, &event.title, payload)
            .insert(&txn)
            .await?;
    }
    txn.commit().await?;
    svc.mail_wake.notify_one();
    held(svc, token).await
}

/// When an offer ends, as its mails say it: "10:00 on Monday 4 January 2027", in the event's zone.
fn offer_time(event: &event::Model, at: DateTime<Utc>) -> String {
    at.with_timezone(&event.timezone.tz()).format("%H:%M on %A %-d %B %Y").to_string()
}

/// Passes on every offer whose time is up: the offer lapses (the registration is cancelled) and
/// the place goes to the next person waiting, offered again or, near the start, given. Per event,
/// under its row's lock. Returns how many offers lapsed.
pub async fn pass_on_expired_offers(svc: &Services) -> ServiceResult<usize> {
    let now = svc.clock.now();
    let mut events: Vec<Uuid> = registration::Entity::find()
        .select_only()
        .column(registration::Column::EventId)
        .filter(registration::Column::Status.eq(RegistrationStatus::Offered.as_str()))
        .filter(registration::Column::OfferExpiresAt.lte(now))
        .into_tuple()
        .all(&svc.db.read)
        .await?;
    events.sort_unstable();
    events.dedup();
    let mut lapsed = 0;
    for event_id in events {
        let txn = svc.db.write.begin().await?;
        let mut event = lock_event(&txn, event_id).await?;
        // Read under the lock: a claim or another process's sweep may have come first.
        let lapsing = registration::Entity::find()
            .filter(registration::Column::EventId.eq(event_id))
            .filter(registration::Column::Status.eq(RegistrationStatus::Offered.as_str()))
            .filter(registration::Column::OfferExpiresAt.lte(now))
            .all(&txn)
            .await?;
        if lapsing.is_empty() {
            continue;
        }
        let n = registration::Entity::update_many()
            .col_expr(registration::Column::Status, Expr::value(RegistrationStatus::Cancelled.as_str()))
            .col_expr(registration::Column::OfferExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(registration::Column::UpdatedAt, Expr::value(now))
            .filter(registration::Column::Id.is_in(lapsing.iter().map(|r| r.id)))
            .exec(&txn)
            .await?
            .rows_affected;
        // Each holder is told the place passed on, with when their offer ended.
        let emails: HashMap<Uuid, String> = candidate::Entity::find()
            .filter(candidate::Column::Id.is_in(lapsing.iter().map(|r| r.candidate_id)))
            .filter(candidate::Column::ErasedAt.is_null())
            .all(&txn)
            .await?
            .into_iter()
            .map(|c| (c.id, c.email))
            .collect();
        let mut subjects = outbox::Subjects::default();
        let messages: Vec<_> = lapsing
            .iter()
            .filter_map(|r| {
                let email = emails.get(&r.candidate_id)?;
                let ended = offer_time(&event, r.offer_expires_at?);
                let payload = serde_json::json!({"registration_id": r.id, "event_id": event.id, "offer_expires": ended});
                Some(subjects.message(svc.settings.public_url(), now, email, MessageKind::OfferLapsed, &event.title, payload))
            })
            .collect();
        outbox::queue(&txn, messages).await?;
        event.confirmed_count -= i32::try_from(n).unwrap_or(i32::MAX);
        if event.status == EventStatus::Published {
            promote(svc, &txn, &mut event, now).await?;
        }
        store_counters(&txn, &event).await?;
        txn.commit().await?;
        tracing::info!(event_id = %event_id, lapsed = n, "unclaimed offers passed on");
        lapsed += n as usize;
    }
    if lapsed > 0 {
        svc.mail_wake.notify_one();
    }
    Ok(lapsed)
}

/// The registrations of an event, oldest first, with their people.
pub async fn list(
    svc: &Services,
    actor: &Actor,
    event_id: Uuid,
    status: Option<RegistrationStatus>,
    q: Option<&str>,
    page: Option<PageRequest>,
) -> ServiceResult<Page<RegistrationDetail>> {
    super::policy::organiser(actor)?;
    event::Entity::find_by_id(event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    let search = q.map(str::trim).filter(|q| !q.is_empty());
    let sqlite = svc.db.is_sqlite();
    let mut query = registration::Entity::find();
    query = match search {
        // SQLite would walk the event's registrations by its index and look up each one's
        // person: two index probes a row, about eight times the cost of reading a person in a
        // scan. A unary `+` keeps it off that index (SQLite's documented way to), so it scans
        // the people, matches the few, and finds their registrations by `candidate_id`.
        Some(_) if sqlite => query.filter(Expr::cust_with_values("+\"registrations\".\"event_id\" = ?", [event_id])),
        _ => query.filter(registration::Column::EventId.eq(event_id)),
    };
    if let Some(status) = status {
        query = query.filter(registration::Column::Status.eq(status.as_str()));
    }
    if let Some(q) = search {
        use sea_orm::sea_query::{ExprTrait, LikeExpr};
        // Case is ignored for ASCII letters only, the same on both databases: SQLite's LIKE
        // ignores ASCII case and knows no other, and PostgreSQL lowers the columns in the "C"
        // collation, which lowers ASCII alone at half the cost of the database's own (timed in
        // psql: 54 ms against 105 ms for 200,000 people). So the pattern is lowered the same
        // way, and "Élodie" finds "Élodie" on both.
        let pattern = crate::store::like_containing(&q.to_ascii_lowercase());
        let column = |c: candidate::Column| -> Expr {
            let col = Expr::col((candidate::Entity, c));
            if sqlite { col } else { Expr::cust_with_expr(r#"lower($1 COLLATE "C")"#, col) }
        };
        let people = candidate::Entity::find().select_only().column(candidate::Column::Id).filter(
            sea_orm::Condition::any()
                .add(Expr::expr(column(candidate::Column::Name)).like(LikeExpr::new(pattern.clone()).escape('\\')))
                .add(Expr::expr(column(candidate::Column::Email)).like(LikeExpr::new(pattern).escape('\\'))),
        );
        query = query.filter(registration::Column::CandidateId.in_subquery(sea_orm::QueryTrait::into_query(people)));
    }
    let query = query.order_by_asc(registration::Column::CreatedAt).order_by_asc(registration::Column::Id);
    let (total, registrations) = if search.is_some() {
        // A search reads the matching ids once, for the count and the page together, then the
        // page's rows: scanning the event's people twice (count, then page) cost twice as much.
        let ids: Vec<Uuid> = query.select_only().column(registration::Column::Id).into_tuple().all(&svc.db.read).await?;
        let total = ids.len() as u64;
        let (limit, offset) = page.map_or((total, 0), |p| (p.limit, p.offset));
        let chosen: Vec<Uuid> = ids.into_iter().skip(offset as usize).take(limit as usize).collect();
        let rows = registration::Entity::find()
            .filter(registration::Column::Id.is_in(chosen))
            .order_by_asc(registration::Column::CreatedAt)
            .order_by_asc(registration::Column::Id)
            .all(&svc.db.read)
            .await?;
        (total, rows)
    } else {
        let total = query.clone().count(&svc.db.read).await?;
        let query = match page {
            Some(page) => query.limit(page.limit).offset(page.offset),
            None => query,
        };
        (total, query.all(&svc.db.read).await?)
    };

    let mut candidates: HashMap<Uuid, Candidate> = HashMap::new();
    for chunk in registrations.chunks(500) {
        let found =
            candidate::Entity::find().filter(candidate::Column::Id.is_in(chunk.iter().map(|r| r.candidate_id))).all(&svc.db.read).await?;
        candidates.extend(found.into_iter().map(|c| (c.id, c.into())));
    }
    // Positions: the place in the queue of the waiting people on this page. Those ahead of the
    // page's first are counted, and only the waiting between its first and last are read, so a
    // page costs the same whether five or five thousand people wait.
    let seqs: Vec<i64> =
        registrations.iter().filter(|r| r.status == RegistrationStatus::Waitlisted).filter_map(|r| r.waitlist_seq).collect();
    let mut positions: HashMap<Uuid, i64> = HashMap::new();
    if let (Some(&first), Some(&last)) = (seqs.iter().min(), seqs.iter().max()) {
        let waiting = || {
            registration::Entity::find()
                .filter(registration::Column::EventId.eq(event_id))
                .filter(registration::Column::Status.eq(RegistrationStatus::Waitlisted.as_str()))
        };
        let ahead = waiting().filter(registration::Column::WaitlistSeq.lt(first)).count(&svc.db.read).await?;
        let between: Vec<Uuid> = waiting()
            .select_only()
            .column(registration::Column::Id)
            .filter(registration::Column::WaitlistSeq.between(first, last))
            .order_by_asc(registration::Column::WaitlistSeq)
            .into_tuple()
            .all(&svc.db.read)
            .await?;
        let ahead = i64::try_from(ahead).unwrap_or(i64::MAX);
        positions = between.into_iter().zip(ahead + 1..).collect();
    }

    let ids: Vec<Uuid> = registrations.iter().map(|r| r.id).collect();
    let mut answers = super::questions::answers_of(&svc.db.read, &ids).await?;
    let items = registrations
        .into_iter()
        .filter_map(|r| {
            let candidate = candidates.get(&r.candidate_id).cloned()?;
            let position = positions.get(&r.id).copied();
            let answers = answers.remove(&r.id).unwrap_or_default();
            Some(RegistrationDetail { registration: r.into(), candidate, position, answers })
        })
        .collect();
    let (limit, offset) = page.map_or((total, 0), |p| (p.limit, p.offset));
    Ok(Page { items, total, limit, offset })
}

/// A registration's candidate, for queries that read both.
fn with_candidate() -> sea_orm::RelationDef {
    registration::Entity::belongs_to(candidate::Entity).from(registration::Column::CandidateId).to(candidate::Column::Id).into()
}

/// One registration as an export writes it, its own cells and its candidate's, as text.
#[derive(Debug)]
pub struct ExportLine<'a> {
    /// The registration's id, hyphenated in lower case.
    pub id: &'a str,
    pub candidate_id: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub postcode: &'a str,
    pub status: &'a str,
    /// RFC 3339.
    pub created_at: &'a str,
    pub checked_in_at: &'a str,
    pub consent_marketing: bool,
}

/// One registration's cells as the database types them, before they are text.
pub struct TypedLine<'a> {
    pub id: Uuid,
    pub candidate_id: Uuid,
    pub name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub postcode: Option<&'a str>,
    pub status: &'a str,
    pub created_at: DateTime<Utc>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub consent_marketing: bool,
}

impl TypedLine<'_> {
    /// Hands the cells as text to `each` (the ids are written on the stack).
    pub fn as_text(&self, each: impl FnOnce(&ExportLine<'_>)) {
        let (mut id, mut candidate_id) = (Uuid::encode_buffer(), Uuid::encode_buffer());
        let (created_at, checked_in_at) = (self.created_at.to_rfc3339(), self.checked_in_at.map(|t| t.to_rfc3339()));
        each(&ExportLine {
            id: self.id.hyphenated().encode_lower(&mut id),
            candidate_id: self.candidate_id.hyphenated().encode_lower(&mut candidate_id),
            name: self.name,
            email: self.email,
            phone: self.phone.unwrap_or(""),
            postcode: self.postcode.unwrap_or(""),
            status: self.status,
            created_at: &created_at,
            checked_in_at: checked_in_at.as_deref().unwrap_or(""),
            consent_marketing: self.consent_marketing,
        });
    }
}

/// Who may export `event_id`'s registrations: organisers, of an event that exists.
pub async fn may_export(svc: &Services, actor: &Actor, event_id: Uuid) -> ServiceResult<()> {
    super::policy::organiser(actor)?;
    event::Entity::find_by_id(event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    Ok(())
}

/// An event's registrations read for an export, a page at a time, in the order they were made.
/// The caller has asked [`may_export`].
///
/// On SQLite a page is one indexed read after the last row's `(created_at, id)`
/// (`idx_registrations_event_created`), so a page costs the same wherever it is, and SQLite
/// hands the whole page over as one text ([`packed`]): the driver copies each value it hands
/// over and passes it between threads, which cost more than SQLite's own work when each of a
/// page's cells was a value. On PostgreSQL the export is one cursor in a read-only
/// transaction: a cursor is planned to give its first rows soon, so it walks the same index in
/// order whatever the statistics say. Keyset pages were planned each time, and for a new event
/// whose rows the statistics did not hold yet the planner expected a hundred rows, so every
/// page read, joined and sorted the whole rest of the event (30 to 120 ms a page of 2,000 for
/// 100,000 registrations).
pub struct ExportReader {
    event_id: Uuid,
    read: Read,
}

enum Read {
    Packed { db: sea_orm::DatabaseConnection, after: Option<(String, Uuid)> },
    Cursor { txn: DatabaseTransaction },
    Done,
}

/// The cursor's name, inside the export's own transaction.
const EXPORT_CURSOR: &str = "carefair_export";

impl ExportReader {
    pub async fn open(svc: &Services, event_id: Uuid) -> ServiceResult<Self> {
        let read = if svc.db.is_sqlite() {
            Read::Packed { db: svc.db.read.clone(), after: None }
        } else {
            let txn = svc.db.read.begin_with_config(None, Some(sea_orm::AccessMode::ReadOnly)).await?;
            let mut declare = sea_orm::QueryTrait::build(&export_query(event_id), sea_orm::DbBackend::Postgres);
            declare.sql = format!("DECLARE {EXPORT_CURSOR} NO SCROLL CURSOR FOR {}", declare.sql);
            sea_orm::ConnectionTrait::execute_raw(&txn, declare).await?;
            Read::Cursor { txn }
        };
        Ok(Self { event_id, read })
    }

    /// Hands the next `limit` rows to `each`, in order; how many there were (none once every
    /// row has been read).
    pub async fn next_page(&mut self, limit: u64, mut each: impl FnMut(&ExportLine<'_>)) -> ServiceResult<u64> {
        let count = match &mut self.read {
            Read::Done => 0,
            Read::Packed { db, after } => {
                let page = packed::page(db, self.event_id, after.as_ref(), limit).await?;
                let mut lines = packed::lines(&page).collect::<ServiceResult<Vec<_>>>()?;
                // SQLite hands an aggregate its rows in the subquery's order, but does not
                // promise it; asking it to sort them again cost a fifth of the export. So the
                // order is checked here (hex digits sort as the bytes do) and mended if need be.
                if !lines.is_sorted_by_key(packed::Line::order) {
                    lines.sort_by_key(packed::Line::order);
                }
                for line in &lines {
                    each(&line.cells());
                }
                if let Some(line) = lines.last() {
                    *after = Some(line.key()?);
                }
                lines.len() as u64
            }
            Read::Cursor { txn } => {
                let fetch = sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, format!("FETCH {limit} FROM {EXPORT_CURSOR}"));
                let found = sea_orm::ConnectionTrait::query_all_raw(&*txn, fetch).await?;
                for row in &found {
                    let (id, candidate_id, name, email, phone, postcode, status, created_at, checked_in_at, consent_marketing) =
                        row.try_get_many_by_index::<ExportCells>()?;
                    let typed = TypedLine {
                        id,
                        candidate_id,
                        name: &name,
                        email: &email,
                        phone: phone.as_deref(),
                        postcode: postcode.as_deref(),
                        status: &status,
                        created_at,
                        checked_in_at,
                        consent_marketing,
                    };
                    typed.as_text(&mut each);
                }
                found.len() as u64
            }
        };
        // A short page is the last: the reader is done, and a cursor's transaction ends.
        if count < limit
            && let Read::Cursor { txn } = std::mem::replace(&mut self.read, Read::Done)
        {
            txn.commit().await?;
        }
        Ok(count)
    }
}

/// An export's cells on PostgreSQL, read by position, not by name: a model reads each cell by
/// formatting and looking up its column's name, which on 100,000 rows cost more than the
/// database's work.
type ExportCells = (Uuid, Uuid, String, String, Option<String>, Option<String>, String, DateTime<Utc>, Option<DateTime<Utc>>, bool);

/// Every registration of `event_id` with its person's columns, in the order they were made.
fn export_query(event_id: Uuid) -> sea_orm::Select<registration::Entity> {
    registration::Entity::find()
        .select_only()
        .column(registration::Column::Id)
        .column(registration::Column::CandidateId)
        .column(candidate::Column::Name)
        .column(candidate::Column::Email)
        .column(candidate::Column::Phone)
        .column(candidate::Column::Postcode)
        .column(registration::Column::Status)
        .column(registration::Column::CreatedAt)
        .column(registration::Column::CheckedInAt)
        .column(candidate::Column::ConsentMarketing)
        .join(sea_orm::JoinType::InnerJoin, with_candidate())
        .filter(registration::Column::EventId.eq(event_id))
        .order_by_asc(registration::Column::CreatedAt)
        .order_by_asc(registration::Column::Id)
}

/// A page of the export as SQLite packs it: for each registration its id and its candidate's
/// (32 hex digits each, upper case), then name, email, phone, postcode, status, created_at and
/// checked_in_at each as `{bytes}:{text}` (a length, so that nothing a person typed can be
/// taken for the next cell), then consent as one digit.
mod packed {
    use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
    use uuid::Uuid;

    use super::ExportLine;
    use crate::service::{ServiceError, ServiceResult};

    const CELL: &str = "length(CAST(x AS BLOB)) || ':' || x";

    fn sql(after: bool) -> String {
        let cell = |column: &str| CELL.replace('x', column);
        let record = [
            "hex(r.id)".to_owned(),
            "hex(r.candidate_id)".to_owned(),
            cell("c.name"),
            cell("c.email"),
            cell("ifnull(c.phone, '')"),
            cell("ifnull(c.postcode, '')"),
            cell("r.status"),
            cell("r.created_at"),
            cell("ifnull(r.checked_in_at, '')"),
            // Stored as the integer 0 or 1.
            "c.consent_marketing".to_owned(),
        ]
        .join(" || ");
        let after = if after { "AND (r.created_at, r.id) > (?, ?)" } else { "" };
        format!(
            "SELECT group_concat(rec, '') FROM (SELECT {record} AS rec \
             FROM registrations r JOIN candidates c ON c.id = r.candidate_id \
             WHERE r.event_id = ? {after} ORDER BY r.created_at, r.id LIMIT ?)"
        )
    }

    pub(super) async fn page(db: &DatabaseConnection, event_id: Uuid, after: Option<&(String, Uuid)>, limit: u64) -> ServiceResult<String> {
        let mut values: Vec<Value> = vec![event_id.into()];
        if let Some((at, id)) = after {
            values.push(at.clone().into());
            values.push((*id).into());
        }
        values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
        let found = db.query_one_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql(after.is_some()), values)).await?;
        Ok(found.map(|row| row.try_get_by_index::<Option<String>>(0)).transpose()?.flatten().unwrap_or_default())
    }

    /// One registration's cells, as packed.
    pub(super) struct Line<'a> {
        id: &'a str,
        text: [&'a str; 7],
        consent: bool,
        ids: [[u8; 36]; 2],
    }

    impl<'a> Line<'a> {
        pub(super) fn cells(&self) -> ExportLine<'_> {
            let [name, email, phone, postcode, status, created_at, checked_in_at] = self.text;
            fn hyphenated(bytes: &[u8; 36]) -> &str {
                std::str::from_utf8(bytes).unwrap_or_default()
            }
            ExportLine {
                id: hyphenated(&self.ids[0]),
                candidate_id: hyphenated(&self.ids[1]),
                name,
                email,
                phone,
                postcode,
                status,
                created_at,
                checked_in_at,
                consent_marketing: self.consent,
            }
        }

        /// The export's order: `(created_at, id)`.
        pub(super) fn order(&self) -> (&'a str, &'a str) {
            (self.text[5], self.id)
        }

        /// Where the next page starts: after this row's `(created_at, id)`.
        pub(super) fn key(&self) -> ServiceResult<(String, Uuid)> {
            let id = Uuid::try_parse(self.id).map_err(|_| broken())?;
            Ok((self.text[5].to_owned(), id))
        }
    }

    fn broken() -> ServiceError {
        ServiceError::Internal(anyhow::anyhow!("a packed export page could not be read"))
    }

    /// The lines of a page, in order.
    pub(super) fn lines(page: &str) -> impl Iterator<Item = ServiceResult<Line<'_>>> {
        let mut rest = page;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let line = next_line(&mut rest);
            if line.is_err() {
                rest = "";
            }
            Some(line)
        })
    }

    fn next_line<'a>(rest: &mut &'a str) -> ServiceResult<Line<'a>> {
        let id = fixed(rest, 32)?;
        let candidate_id = fixed(rest, 32)?;
        let mut text = [""; 7];
        for cell in &mut text {
            *cell = counted(rest)?;
        }
        let consent = match fixed(rest, 1)? {
            "1" => true,
            "0" => false,
            _ => return Err(broken()),
        };
        Ok(Line { id, text, consent, ids: [hyphenate(id)?, hyphenate(candidate_id)?] })
    }

    fn fixed<'a>(rest: &mut &'a str, n: usize) -> ServiceResult<&'a str> {
        let cell = rest.get(..n).ok_or_else(broken)?;
        *rest = &rest[n..];
        Ok(cell)
    }

    fn counted<'a>(rest: &mut &'a str) -> ServiceResult<&'a str> {
        let (length, after) = rest.split_once(':').ok_or_else(broken)?;
        let length: usize = length.parse().map_err(|_| broken())?;
        let cell = after.get(..length).ok_or_else(broken)?;
        *rest = &after[length..];
        Ok(cell)
    }

    /// 32 hex digits as a hyphenated UUID in lower case (8-4-4-4-12).
    fn hyphenate(hex: &str) -> ServiceResult<[u8; 36]> {
        let mut out = [b'-'; 36];
        let mut at = 0;
        for (i, b) in hex.bytes().enumerate() {
            if matches!(i, 8 | 12 | 16 | 20) {
                at += 1;
            }
            if !b.is_ascii_hexdigit() {
                return Err(broken());
            }
            *out.get_mut(at).ok_or_else(broken)? = b.to_ascii_lowercase();
            at += 1;
        }
        Ok(out)
    }
}

/// Everyone waiting for `event_id` with their place in the queue (1 is next).
pub async fn waiting_positions(svc: &Services, event_id: Uuid) -> ServiceResult<HashMap<Uuid, i64>> {
    let waiting: Vec<Uuid> = registration::Entity::find()
        .select_only()
        .column(registration::Column::Id)
        .filter(registration::Column::EventId.eq(event_id))
        .filter(registration::Column::Status.eq(RegistrationStatus::Waitlisted.as_str()))
        .order_by_asc(registration::Column::WaitlistSeq)
        .into_tuple()
        .all(&svc.db.read)
        .await?;
    Ok(waiting.into_iter().zip(1..).collect())
}

/// How long before the start and after the end people can be checked in: a door opens early
/// and a list is finished late, but a check-in a month away would skew the attendance rate.
pub const CHECK_IN_MARGIN_HOURS: i64 = 12;

/// Whether `now` is inside `event`'s check-in window; a 409 saying when it is, if not.
pub fn check_in_window(event: &event::Model, now: DateTime<Utc>) -> ServiceResult<()> {
    let margin = chrono::Duration::hours(CHECK_IN_MARGIN_HOURS);
    let (opens, closes) = (event.starts_at - margin, event.ends_at + margin);
    if now < opens {
        return Err(ServiceError::conflict(format!("check-in opens at {}, 12 hours before the start", opens.to_rfc3339())));
    }
    if now > closes {
        return Err(ServiceError::conflict(format!("check-in closed at {}, 12 hours after the end", closes.to_rfc3339())));
    }
    Ok(())
}

/// After an event has ended: everyone confirmed but not checked in becomes a no-show, and the
/// event is completed. Returns how many were marked.
#[tracing::instrument(skip_all, fields(event_id = %event_id))]
pub async fn close(svc: &Services, actor: &Actor, event_id: Uuid) -> ServiceResult<u64> {
    super::policy::organiser(actor)?;
    let now = svc.clock.now();
    let txn = svc.db.write.begin().await?;
    let event = lock_event(&txn, event_id).await?;
    if now < event.ends_at {
        return Err(ServiceError::conflict("the event has not ended yet"));
    }
    if event.status == EventStatus::Cancelled {
        return Err(ServiceError::conflict("the event was cancelled"));
    }
    let marked = registration::Entity::update_many()
        .col_expr(registration::Column::Status, Expr::value(RegistrationStatus::NoShow.as_str()))
        .col_expr(registration::Column::UpdatedAt, Expr::value(now))
        .filter(registration::Column::EventId.eq(event_id))
        .filter(registration::Column::Status.eq(RegistrationStatus::Confirmed.as_str()))
        .exec(&txn)
        .await?
        .rows_affected;
    let mut model: event::ActiveModel = event.into();
    model.status = Set(EventStatus::Completed);
    model.updated_at = Set(now);
    model.update(&txn).await?;
    super::events::commit_event_change(svc, txn).await?;
    Ok(marked)
}

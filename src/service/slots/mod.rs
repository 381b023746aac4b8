//! Interview slots at a fair: an employer with a confirmed stand (or an organiser) cuts its
//! interview time into slots, each bookable by `interviewers` candidates at once; a candidate
//! with a place books one slot per stand from their manage link. Both sides get an iMIP
//! REQUEST for the booking (its own UID, the stand as LOCATION) and a CANCEL when it is freed
//! or the candidate's place is cancelled.
//!
//! A booking is read (and most often refused) outside any transaction; one that may be is
//! written by the process's booking writer (`writer`), which raises each slot's `booked` in one
//! conditional UPDATE (`WHERE booked < interviewers`): the row's lock makes concurrent writes
//! queue, and each re-reads the count, so a slot is never overbooked on either database, from
//! any number of processes. One slot per stand per person is a unique index as well as a check.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IdenStatic, JoinType, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

use super::calendar::{calendar_event, context, with_venues};
use super::events::Event;
use super::outbox::{self, MessageKind};
use super::{ServiceError, ServiceResult, Services};
use crate::calendar::{self, CalendarEvent, Method, Person};
use crate::domain::{Actor, EventKind, EventStatus, ExhibitorStatus, RegistrationStatus, Role, Validation, describe_span, new_id};
use crate::store::entity::{candidate, employer, event, exhibitor, interview_slot, registration, registration_token, slot_booking, venue};

mod writer;

pub use writer::SlotWriter;

/// The shortest and longest slot, and the most interviewers at once.
pub const MINUTES: (i64, i64) = (5, 240);
pub const INTERVIEWERS_MAX: i64 = 20;
/// The most slots one cut makes.
pub const SLOTS_MAX: i64 = 200;

/// A slot as the use cases hand it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub id: Uuid,
    pub event_id: Uuid,
    pub exhibitor_id: Uuid,
    pub employer_id: Uuid,
    pub employer_name: String,
    pub stand_label: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub interviewers: i32,
    pub booked: i32,
}

impl Slot {
    fn of(slot: interview_slot::Model, stand: &exhibitor::Model, employer_name: &str) -> Self {
        Self {
            id: slot.id,
            event_id: slot.event_id,
            exhibitor_id: slot.exhibitor_id,
            employer_id: stand.employer_id,
            employer_name: employer_name.to_owned(),
            stand_label: stand.stand_label.clone(),
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
            interviewers: slot.interviewers,
            booked: slot.booked,
        }
    }

    pub fn free(&self) -> i32 {
        Ord::max(self.interviewers - self.booked, 0)
    }
}

/// How a stand's interview time is cut, as given.
#[derive(Debug, Clone)]
pub struct CutInput {
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub minutes: i64,
    pub interviewers: i64,
}

/// Who may cut and see a stand's slots: organisers, and the users of the stand's employer
/// (another employer's stand is not found).
fn may_run_stand(actor: &Actor, stand: &exhibitor::Model) -> ServiceResult<()> {
    match actor.role {
        Role::Admin | Role::Organiser => Ok(()),
        Role::Employer if actor.employer_id == Some(stand.employer_id) => Ok(()),
        Role::Employer => Err(ServiceError::NotFound),
        Role::School => Err(ServiceError::Forbidden),
    }
}

async fn stand_of<C: ConnectionTrait>(db: &C, event_id: Uuid, exhibitor_id: Uuid) -> ServiceResult<exhibitor::Model> {
    exhibitor::Entity::find_by_id(exhibitor_id).filter(exhibitor::Column::EventId.eq(event_id)).one(db).await?.ok_or(ServiceError::NotFound)
}

/// Cuts a confirmed stand's interview time, inside the fair's times, into slots of `minutes`;
/// time left over at the end is not a slot. Slots that would overlap the stand's existing ones
/// are refused (409), so a cut made twice makes nothing the second time.
#[tracing::instrument(skip_all, fields(event_id = %event_id, exhibitor_id = %exhibitor_id))]
pub async fn cut(svc: &Services, actor: &Actor, event_id: Uuid, exhibitor_id: Uuid, input: CutInput) -> ServiceResult<Vec<Slot>> {
    let stand = stand_of(&svc.db.read, event_id, exhibitor_id).await?;
    may_run_stand(actor, &stand)?;
    let fair = event::Entity::find_by_id(event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    if stand.status != ExhibitorStatus::Confirmed {
        return Err(ServiceError::conflict("only a confirmed stand has interview slots"));
    }
    if fair.kind != EventKind::RecruitmentFair || fair.status == EventStatus::Cancelled {
        return Err(ServiceError::conflict("interview slots are for recruitment fairs that are going ahead"));
    }
    let mut v = Validation::new();
    if !(MINUTES.0..=MINUTES.1).contains(&input.minutes) {
        v.fail("minutes", format!("must be from {} to {} minutes", MINUTES.0, MINUTES.1));
    }
    if !(1..=INTERVIEWERS_MAX).contains(&input.interviewers) {
        v.fail("interviewers", format!("must be from 1 to {INTERVIEWERS_MAX}"));
    }
    let (Some(starts_at), Some(ends_at)) = (input.starts_at, input.ends_at) else {
        if input.starts_at.is_none() {
            v.fail("starts_at", "is needed");
        }
        if input.ends_at.is_none() {
            v.fail("ends_at", "is needed");
        }
        return Err(v.into_errors().into());
    };
    if starts_at < fair.starts_at || starts_at >= fair.ends_at {
        v.fail("starts_at", "must be within the fair's times");
    }
    if ends_at <= starts_at {
        v.fail("ends_at", "must be after the start");
    } else if ends_at > fair.ends_at {
        v.fail("ends_at", "must be within the fair's times");
    }
    v.finish()?;
    let minutes = Duration::minutes(input.minutes);
    let count = (ends_at - starts_at).num_minutes() / input.minutes;
    if count < 1 {
        return Err(ServiceError::invalid("minutes", "is longer than the time given"));
    }
    if count > SLOTS_MAX {
        return Err(ServiceError::invalid("minutes", format!("would make more than {SLOTS_MAX} slots")));
    }
    let end_of_last = starts_at + minutes * i32::try_from(count).unwrap_or(i32::MAX);

    let now = svc.clock.now();
    let txn = svc.db.write.begin().await?;
    // The stand's row is locked so that two cuts at once cannot both pass the overlap check.
    let stand = exhibitor::Entity::find_by_id(exhibitor_id).lock_exclusive().one(&txn).await?.ok_or(ServiceError::NotFound)?;
    let overlapping = interview_slot::Entity::find()
        .filter(interview_slot::Column::ExhibitorId.eq(stand.id))
        .filter(interview_slot::Column::StartsAt.lt(end_of_last))
        .filter(interview_slot::Column::EndsAt.gt(starts_at))
        .one(&txn)
        .await?;
    if overlapping.is_some() {
        return Err(ServiceError::conflict("these times overlap slots the stand already has"));
    }
    let interviewers = i32::try_from(input.interviewers).unwrap_or(1);
    let rows: Vec<interview_slot::ActiveModel> = (0..count)
        .map(|i| {
            let start = starts_at + minutes * i32::try_from(i).unwrap_or(0);
            interview_slot::ActiveModel {
                id: Set(new_id()),
                event_id: Set(event_id),
                exhibitor_id: Set(stand.id),
                starts_at: Set(start),
                ends_at: Set(start + minutes),
                interviewers: Set(interviewers),
                booked: Set(0),
                created_at: Set(now),
            }
        })
        .collect();
    interview_slot::Entity::insert_many(rows).exec(&txn).await?;
    txn.commit().await?;
    let made = slots_where(svc, interview_slot::Column::ExhibitorId.eq(stand.id)).await?;
    Ok(made.into_iter().filter(|s| s.starts_at >= starts_at && s.ends_at <= end_of_last).collect())
}

/// Slots matching `filter`, earliest first, with their stands' employers.
async fn slots_where(svc: &Services, filter: impl sea_orm::sea_query::IntoCondition) -> ServiceResult<Vec<Slot>> {
    let slots = interview_slot::Entity::find()
        .filter(filter)
        .order_by_asc(interview_slot::Column::StartsAt)
        .order_by_asc(interview_slot::Column::Id)
        .all(&svc.db.read)
        .await?;
    let stands: HashMap<Uuid, exhibitor::Model> = exhibitor::Entity::find()
        .filter(exhibitor::Column::Id.is_in(slots.iter().map(|s| s.exhibitor_id)))
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(|x| (x.id, x))
        .collect();
    let employers: HashMap<Uuid, String> = employer::Entity::find()
        .filter(employer::Column::Id.is_in(stands.values().map(|x| x.employer_id)))
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(|e| (e.id, e.name))
        .collect();
    Ok(slots
        .into_iter()
        .filter_map(|s| {
            let stand = stands.get(&s.exhibitor_id)?;
            // A stand withdrawn or declined after it cut slots offers them no more.
            (stand.status == ExhibitorStatus::Confirmed)
                .then(|| Slot::of(s, stand, employers.get(&stand.employer_id).map(String::as_str).unwrap_or_default()))
        })
        .collect())
}

/// A published fair's slots, for anyone: when, at which stand, and how many places are free.
pub async fn of_fair(svc: &Services, event_id: Uuid) -> ServiceResult<Vec<Slot>> {
    let fair = event::Entity::find_by_id(event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    if fair.status != EventStatus::Published && fair.status != EventStatus::Completed {
        return Err(ServiceError::NotFound);
    }
    slots_where(svc, interview_slot::Column::EventId.eq(event_id)).await
}

/// A booking with its slot and who holds it.
#[derive(Debug, Clone)]
pub struct Booking {
    pub id: Uuid,
    pub slot: Slot,
    pub registration_id: Uuid,
    pub candidate_name: String,
    pub candidate_email: String,
}

async fn bookings_where(svc: &Services, filter: impl sea_orm::sea_query::IntoCondition) -> ServiceResult<Vec<Booking>> {
    let bookings = slot_booking::Entity::find().filter(filter).all(&svc.db.read).await?;
    let slots: HashMap<Uuid, Slot> = slots_where(svc, interview_slot::Column::Id.is_in(bookings.iter().map(|b| b.slot_id)))
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let registrations: HashMap<Uuid, Uuid> = registration::Entity::find()
        .filter(registration::Column::Id.is_in(bookings.iter().map(|b| b.registration_id)))
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(|r| (r.id, r.candidate_id))
        .collect();
    let people: HashMap<Uuid, candidate::Model> = candidate::Entity::find()
        .filter(candidate::Column::Id.is_in(registrations.values().copied()))
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut out: Vec<Booking> = bookings
        .into_iter()
        .filter_map(|b| {
            let slot = slots.get(&b.slot_id)?.clone();
            let person = registrations.get(&b.registration_id).and_then(|c| people.get(c))?;
            Some(Booking {
                id: b.id,
                slot,
                registration_id: b.registration_id,
                candidate_name: person.name.clone(),
                candidate_email: super::door::shown_email(&person.email).to_owned(),
            })
        })
        .collect();
    out.sort_by_key(|b| (b.slot.starts_at, b.slot.employer_name.clone(), b.id));
    Ok(out)
}

/// An employer's booked interviews at every fair, with each candidate's name and email, for
/// organisers and that employer's users.
pub async fn schedule(svc: &Services, actor: &Actor, employer_id: Uuid) -> ServiceResult<Vec<Booking>> {
    super::policy::employer(actor, employer_id)?;
    employer::Entity::find_by_id(employer_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    bookings_where(svc, slot_booking::Column::ExhibitorId.is_in(stands_of(svc, employer_id).await?)).await
}

/// Every stand's booked interviews at a fair (organisers).
pub async fn fair_schedule(svc: &Services, actor: &Actor, event_id: Uuid) -> ServiceResult<Vec<Booking>> {
    super::policy::organiser(actor)?;
    let slots: Vec<Uuid> = interview_slot::Entity::find()
        .filter(interview_slot::Column::EventId.eq(event_id))
        .all(&svc.db.read)
        .await?
        .iter()
        .map(|s| s.id)
        .collect();
    bookings_where(svc, slot_booking::Column::SlotId.is_in(slots)).await
}

/// The interviews a registration holds.
pub async fn held_by(svc: &Services, registration_id: Uuid) -> ServiceResult<Vec<Booking>> {
    bookings_where(svc, slot_booking::Column::RegistrationId.eq(registration_id)).await
}

/// Books `slot_id` for the holder of the manage link `token`: a confirmed (or checked-in)
/// place at that fair, one slot per stand, not a slot that has begun; a full slot is a 409.
#[tracing::instrument(skip_all, fields(slot_id = %slot_id))]
pub async fn book(svc: &Services, token: &str, slot_id: Uuid) -> ServiceResult<Booking> {
    // A race for slots is a rush like one for places: the mail waits for it.
    let _rushing = svc.registrar.rushing();
    // In this process, one booking a person at a time, waited for before the queue: someone
    // trying two slots of a stand at once (two tabs, a double tap) would otherwise have both
    // pass the reads, and one be refused only by the writer, after reading and preparing all a
    // winner does. Waiting here, the second is refused by its read. (The order of waiting is
    // always person, queue, slot, writer, so nothing waits in a circle.)
    let _mine = PERSON_GATES.of(person_key(token)).lock().await;
    // One fair queue for this process's bookings (see `BOOKINGS_AT_ONCE`).
    let admitted = admission().acquire().await.map_err(|_| anyhow::anyhow!("the bookings' queue is closed"))?;
    // In this process, one booking of a slot at a time: the others wait here and then, the slot
    // most often full, are refused by one read, instead of each preparing its messages and
    // queueing for the writer; it also keeps a rush from crowding the read connections. (It
    // only spares work: the writer's conditional UPDATE is what keeps a slot from being
    // overbooked, by other processes too.)
    let turn = SLOT_GATES.of(slot_id.as_u128()).lock().await;
    // Everything that can refuse is read first, in one query of a few columns, outside the
    // writer: in a race for a few slots most requests are refused there, and need not wait for
    // the one write connection (SQLite) or hold a transaction (PostgreSQL).
    let check = Check::read(&svc.db.read, token, slot_id).await?;
    let now = svc.clock.now();
    check.may_book(now)?;
    // What the messages show, in one more query; they are made before the writer is taken,
    // from rows this booking does not change.
    let parts = Parts::asked(svc, &svc.db.read, check.registration_id, slot_id).await?;
    let booking = slot_booking::Model {
        id: new_id(),
        slot_id,
        exhibitor_id: parts.stand.id,
        registration_id: check.registration_id,
        created_at: now,
    };
    let messages = messages_of(svc, &parts, &booking, Method::Request, Some(token));
    // The writer is a queue of its own: waiting for it, a booking leaves its place in this
    // one to the next request (held, a race's winners kept the reads waiting while they waited
    // for each other's writes: PostgreSQL p99 120–136 ms, 76–102 ms released).
    drop(admitted);
    let taken = svc.slot_writer.write(booking.clone(), messages).await?;
    drop(turn);
    Ok(Booking {
        id: booking.id,
        slot: Slot::of(taken, &parts.stand, &parts.employer.name),
        registration_id: booking.registration_id,
        candidate_name: parts.candidate.name.clone(),
        candidate_email: super::door::shown_email(&parts.candidate.email).to_owned(),
    })
}

/// How many times `warm_up` runs each read on each connection: PostgreSQL plans a prepared
/// statement afresh for its first five runs, and then settles on one plan.
const WARM_UP_RUNS: usize = 6;

/// Runs a booking's two reads on every reading connection, with ids that match nothing, so that
/// the first rush after a start does not pay for preparing them: sqlx prepares a statement on
/// each connection the first time it runs there, and a new PostgreSQL backend reads the tables'
/// descriptions from its catalogue and plans each statement afresh for its first runs. On a
/// fresh server the first wave of a slot race on PostgreSQL read three to six times slower than
/// on one that had run a race before (bench/README.md). Answers how many connections were
/// warmed; a failure is only logged, since the requests would prepare the reads anyway.
pub async fn warm_up(svc: &Services) -> usize {
    // One transaction a connection holds it, so each reads on a connection of its own; the
    // connections are opened together (a PostgreSQL connection takes tens of milliseconds).
    let opened = futures::future::join_all((0..svc.settings.database.max_connections).map(|_| svc.db.read.begin())).await;
    let mut readers = Vec::new();
    for txn in opened {
        match txn {
            Ok(txn) => readers.push(txn),
            Err(err) => tracing::warn!(error = %err, "could not open a connection to warm it up"),
        }
    }
    let warmed = futures::future::join_all(readers.iter().map(|txn| async move {
        for _ in 0..WARM_UP_RUNS {
            let check = Check::read(txn, "", Uuid::nil()).await.map(|_| ());
            let parts = Parts::asked(svc, txn, Uuid::nil(), Uuid::nil()).await.map(|_| ());
            for result in [check, parts] {
                match result {
                    Ok(()) | Err(ServiceError::NotFound) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "warming up a booking's reads failed");
                        return false;
                    }
                }
            }
        }
        true
    }))
    .await;
    for txn in readers {
        let _ = txn.rollback().await;
    }
    warmed.into_iter().filter(|ok| *ok).count()
}

const ALREADY_AT_STAND: &str = "you already have an interview at this stand; free it first to choose another time";

/// What can refuse a booking, read in one query: the manage link's registration, the slot asked
/// for at that registration's fair, the slot's stand, and the person's booking at that stand if
/// they hold one. No row: not found.
#[derive(Debug, sea_orm::FromQueryResult)]
struct Check {
    registration_id: Uuid,
    status: RegistrationStatus,
    booked: i32,
    interviewers: i32,
    starts_at: DateTime<Utc>,
    stand_status: ExhibitorStatus,
    already: Option<Uuid>,
}

impl Check {
    async fn read<C: ConnectionTrait>(db: &C, token: &str, slot_id: Uuid) -> ServiceResult<Self> {
        let by_token = registration::Entity::belongs_to(registration_token::Entity)
            .from(registration::Column::Id)
            .to(registration_token::Column::RegistrationId);
        let already = interview_slot::Entity::belongs_to(slot_booking::Entity)
            .from(interview_slot::Column::ExhibitorId)
            .to(slot_booking::Column::ExhibitorId)
            .on_condition(|_, _| {
                Expr::col((slot_booking::Entity, slot_booking::Column::RegistrationId))
                    .equals((registration::Entity, registration::Column::Id))
                    .into_condition()
            });
        slot_of_registration(registration::Entity::find().select_only())
            .column_as(registration::Column::Id, "registration_id")
            .column(registration::Column::Status)
            .columns([interview_slot::Column::Booked, interview_slot::Column::Interviewers, interview_slot::Column::StartsAt])
            .column_as(exhibitor::Column::Status, "stand_status")
            .column_as(slot_booking::Column::Id, "already")
            .join(JoinType::InnerJoin, by_token.into())
            .join(JoinType::LeftJoin, already.into())
            .filter(registration_token::Column::TokenHash.eq(super::auth::hash_token(token)))
            .filter(interview_slot::Column::Id.eq(slot_id))
            .into_model::<Self>()
            .one(db)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// Refuses a booking that cannot be: no confirmed place, a stand no longer standing, a
    /// slot full or begun, a slot already held at the stand.
    fn may_book(&self, now: DateTime<Utc>) -> ServiceResult<()> {
        if !matches!(self.status, RegistrationStatus::Confirmed | RegistrationStatus::Attended) {
            return Err(ServiceError::conflict("only someone with a confirmed place can book an interview"));
        }
        // A full slot is the common refusal in a rush (the list of slots, public, says as much).
        if self.booked >= self.interviewers {
            return Err(ServiceError::conflict("this slot is full"));
        }
        if self.starts_at <= now {
            return Err(ServiceError::conflict("this slot has already begun"));
        }
        if self.stand_status != ExhibitorStatus::Confirmed {
            return Err(ServiceError::NotFound);
        }
        if self.already.is_some() {
            return Err(ServiceError::conflict(ALREADY_AT_STAND));
        }
        Ok(())
    }
}

/// `query` (of registrations) joined to the slots of each registration's fair and their stands.
fn slot_of_registration(query: sea_orm::Select<registration::Entity>) -> sea_orm::Select<registration::Entity> {
    let slot_of_fair =
        registration::Entity::belongs_to(interview_slot::Entity).from(registration::Column::EventId).to(interview_slot::Column::EventId);
    let stand = interview_slot::Entity::belongs_to(exhibitor::Entity).from(interview_slot::Column::ExhibitorId).to(exhibitor::Column::Id);
    query.join(JoinType::InnerJoin, slot_of_fair.into()).join(JoinType::InnerJoin, stand.into())
}

/// The rows of `Parts`, read in one query (`Parts::asked`).
struct PartsRow {
    candidate: candidate::Model,
    slot: interview_slot::Model,
    stand: exhibitor::Model,
    employer: employer::Model,
    fair: event::Model,
    venue: Option<venue::Model>,
}

impl sea_orm::FromQueryResult for PartsRow {
    fn from_query_result(row: &sea_orm::QueryResult, _: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(Self {
            candidate: candidate::Model::from_query_result(row, "c_")?,
            slot: interview_slot::Model::from_query_result(row, "s_")?,
            stand: exhibitor::Model::from_query_result(row, "x_")?,
            employer: employer::Model::from_query_result(row, "e_")?,
            fair: event::Model::from_query_result(row, "f_")?,
            venue: venue::Model::from_query_result_optional(row, "v_")?,
        })
    }
}

/// Selects every column of `E`, each named with `prefix` before it.
fn with_columns<E: EntityTrait>(mut query: sea_orm::Select<registration::Entity>, prefix: &str) -> sea_orm::Select<registration::Entity> {
    for column in <E::Column as sea_orm::Iterable>::iter() {
        query = query.column_as(column, format!("{prefix}{}", column.as_str()));
    }
    query
}

/// Bookings reading at once in this process (a winner leaves its place once it waits for the
/// writer). The rest wait their turn in arrival order, so a rush of 100 clients makes one fair
/// queue rather than crowding the connections, the slots' gates and the writer at once. Of 2,
/// 4, 8 and 16, eight served the slot race best (bench/README.md).
const BOOKINGS_AT_ONCE: usize = 8;

fn admission() -> &'static tokio::sync::Semaphore {
    static ADMISSION: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(BOOKINGS_AT_ONCE);
    &ADMISSION
}

/// A fixed set of locks, one picked by a key: a few keys may share one, and the set never grows.
struct Gates(std::sync::LazyLock<Vec<tokio::sync::Mutex<()>>>);

impl Gates {
    const fn new() -> Self {
        Self(std::sync::LazyLock::new(|| (0..GATES).map(|_| tokio::sync::Mutex::new(())).collect()))
    }

    /// The lock of `key`.
    fn of(&self, key: u128) -> &tokio::sync::Mutex<()> {
        &self.0[((key ^ (key >> 64)) % GATES as u128) as usize]
    }
}

const GATES: usize = 1024;

/// The gates of slots' bookings in this process, by slot id.
static SLOT_GATES: Gates = Gates::new();
/// The gates of each person's bookings in this process, by manage link.
static PERSON_GATES: Gates = Gates::new();

/// A manage link's key among `PERSON_GATES`.
fn person_key(token: &str) -> u128 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    u128::from(BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(token))
}

/// Frees the holder's booking of `slot_id`; both sides are told. Not holding it is not found.
#[tracing::instrument(skip_all, fields(slot_id = %slot_id))]
pub async fn free(svc: &Services, token: &str, slot_id: Uuid) -> ServiceResult<()> {
    let held = super::registrations::registration_by_token(&svc.db.read, token).await?;
    let txn = svc.db.write.begin().await?;
    let booking = slot_booking::Entity::find()
        .filter(slot_booking::Column::RegistrationId.eq(held.id))
        .filter(slot_booking::Column::SlotId.eq(slot_id))
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    release(svc, &txn, &booking, Some(token)).await?;
    txn.commit().await?;
    svc.mail_wake.notify_one();
    Ok(())
}

/// Frees the interviews `filter` picks, in the caller's transaction, and tells both sides of
/// each: a registration's when its place is cancelled, a stand's when it no longer stands
/// (withdrawn, declined), a fair's stands' when it is cancelled.
pub(crate) async fn release_where(
    svc: &Services,
    txn: &DatabaseTransaction,
    filter: impl sea_orm::sea_query::IntoCondition,
) -> ServiceResult<usize> {
    let bookings = slot_booking::Entity::find().filter(filter).all(txn).await?;
    for booking in &bookings {
        release(svc, txn, booking, None).await?;
    }
    Ok(bookings.len())
}

/// The condition that picks every interview at `event_id`'s stands.
pub(crate) async fn at_fair(txn: &DatabaseTransaction, event_id: Uuid) -> ServiceResult<sea_orm::Condition> {
    let stands: Vec<Uuid> =
        exhibitor::Entity::find().filter(exhibitor::Column::EventId.eq(event_id)).all(txn).await?.iter().map(|x| x.id).collect();
    Ok(sea_orm::Condition::all().add(slot_booking::Column::ExhibitorId.is_in(stands)))
}

async fn release(svc: &Services, txn: &DatabaseTransaction, booking: &slot_booking::Model, token: Option<&str>) -> ServiceResult<()> {
    // Told first, while the booking can still be read.
    tell_both(svc, txn, booking, Method::Cancel, token).await?;
    slot_booking::Entity::delete_by_id(booking.id).exec(txn).await?;
    interview_slot::Entity::update_many()
        .col_expr(interview_slot::Column::Booked, Expr::col(interview_slot::Column::Booked).sub(1))
        .filter(interview_slot::Column::Id.eq(booking.slot_id))
        .filter(interview_slot::Column::Booked.gt(0))
        .exec(txn)
        .await?;
    Ok(())
}

/// Where an interview is: the stand's label, then the fair's place.
fn stand_location(shown: &CalendarEvent, stand_label: Option<&str>) -> String {
    let stand = stand_label.map(|l| format!("Stand {l}")).unwrap_or_else(|| "The employer's stand".to_owned());
    match &shown.location {
        Some(place) => format!("{stand}, {place}"),
        None => stand,
    }
}

/// An interview as a calendar entry under `booking_id` (its UID), the stand as LOCATION.
fn interview_entry(
    shown: &CalendarEvent,
    booking_id: Uuid,
    slot: (DateTime<Utc>, DateTime<Utc>),
    stand_label: Option<&str>,
    title: String,
    sequence: i32,
) -> CalendarEvent {
    CalendarEvent {
        id: booking_id,
        title,
        description: format!("An interview at {}.", shown.title),
        starts_at: slot.0,
        ends_at: slot.1,
        timezone: shown.timezone,
        location: Some(stand_location(shown, stand_label)),
        url: shown.url.clone(),
        sequence,
        cancelled: false,
        tentative: false,
        category: "Interview".to_owned(),
    }
}

/// The candidate's calendar file of one of their interviews (`METHOD:REQUEST`).
pub async fn candidate_file(svc: &Services, token: &str, slot_id: Uuid) -> ServiceResult<String> {
    let held = super::registrations::registration_by_token(&svc.db.read, token).await?;
    let booking = slot_booking::Entity::find()
        .filter(slot_booking::Column::RegistrationId.eq(held.id))
        .filter(slot_booking::Column::SlotId.eq(slot_id))
        .one(&svc.db.read)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let parts = Parts::asked(svc, &svc.db.read, held.id, slot_id).await?;
    let entry = parts.entry(&booking, Audience::Candidate, 0);
    Ok(calendar::request(&entry, &parts.candidate_person(), &context(svc)))
}

/// An employer's booked interviews as calendar entries, for its feed.
pub(crate) async fn employer_entries(svc: &Services, employer_id: Uuid) -> ServiceResult<Vec<CalendarEvent>> {
    // The schedule's bookings (of confirmed stands only), and each fair read once.
    let bookings = bookings_where(svc, slot_booking::Column::ExhibitorId.is_in(stands_of(svc, employer_id).await?)).await?;
    let mut fair_ids: Vec<Uuid> = bookings.iter().map(|b| b.slot.event_id).collect();
    fair_ids.sort_unstable();
    fair_ids.dedup();
    let fairs: Vec<Event> =
        event::Entity::find().filter(event::Column::Id.is_in(fair_ids)).all(&svc.db.read).await?.into_iter().map(Event::from).collect();
    let shown: HashMap<Uuid, CalendarEvent> = with_venues(svc, &fairs).await?.into_iter().map(|c| (c.id, c)).collect();
    Ok(bookings
        .iter()
        .filter_map(|b| {
            let fair = shown.get(&b.slot.event_id).filter(|f| !f.cancelled)?;
            let title = format!("Interview: {}", b.candidate_name);
            Some(interview_entry(fair, b.id, (b.slot.starts_at, b.slot.ends_at), b.slot.stand_label.as_deref(), title, 0))
        })
        .collect())
}

/// The ids of an employer's stands, at every fair.
async fn stands_of(svc: &Services, employer_id: Uuid) -> ServiceResult<Vec<Uuid>> {
    Ok(exhibitor::Entity::find()
        .filter(exhibitor::Column::EmployerId.eq(employer_id))
        .all(&svc.db.read)
        .await?
        .iter()
        .map(|x| x.id)
        .collect())
}

/// Everything both messages about a booking show.
struct Parts {
    slot: interview_slot::Model,
    stand: exhibitor::Model,
    employer: employer::Model,
    candidate: candidate::Model,
    shown: CalendarEvent,
}

#[derive(Clone, Copy, PartialEq)]
enum Audience {
    Candidate,
    Employer,
}

impl Parts {
    /// The parts of `registration_id`'s booking of `slot_id`, in one query.
    async fn asked<C: ConnectionTrait>(svc: &Services, db: &C, registration_id: Uuid, slot_id: Uuid) -> ServiceResult<Self> {
        let person = registration::Entity::belongs_to(candidate::Entity).from(registration::Column::CandidateId).to(candidate::Column::Id);
        let employer = exhibitor::Entity::belongs_to(employer::Entity).from(exhibitor::Column::EmployerId).to(employer::Column::Id);
        let fair = interview_slot::Entity::belongs_to(event::Entity).from(interview_slot::Column::EventId).to(event::Column::Id);
        let venue = event::Entity::belongs_to(venue::Entity).from(event::Column::VenueId).to(venue::Column::Id);
        let mut query = slot_of_registration(registration::Entity::find().select_only());
        query = with_columns::<candidate::Entity>(query, "c_");
        query = with_columns::<interview_slot::Entity>(query, "s_");
        query = with_columns::<exhibitor::Entity>(query, "x_");
        query = with_columns::<employer::Entity>(query, "e_");
        query = with_columns::<event::Entity>(query, "f_");
        query = with_columns::<venue::Entity>(query, "v_");
        let row = query
            .join(JoinType::InnerJoin, person.into())
            .join(JoinType::InnerJoin, employer.into())
            .join(JoinType::InnerJoin, fair.into())
            .join(JoinType::LeftJoin, venue.into())
            .filter(registration::Column::Id.eq(registration_id))
            .filter(interview_slot::Column::Id.eq(slot_id))
            .into_model::<PartsRow>()
            .one(db)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let fair: Event = row.fair.into();
        Ok(Self {
            shown: calendar_event(svc, &fair, row.venue.as_ref()),
            slot: row.slot,
            stand: row.stand,
            employer: row.employer,
            candidate: row.candidate,
        })
    }

    fn entry(&self, booking: &slot_booking::Model, audience: Audience, sequence: i32) -> CalendarEvent {
        let title = match audience {
            Audience::Candidate => format!("Interview with {}", self.employer.name),
            Audience::Employer => format!("Interview: {}", self.candidate.name),
        };
        interview_entry(
            &self.shown,
            booking.id,
            (self.slot.starts_at, self.slot.ends_at),
            self.stand.stand_label.as_deref(),
            title,
            sequence,
        )
    }

    fn candidate_person(&self) -> Person {
        Person { name: self.candidate.name.clone(), email: self.candidate.email.clone() }
    }
}

/// Queues the REQUEST (or CANCEL) of a booking to the candidate and to the employer's contact.
async fn tell_both(
    svc: &Services,
    txn: &DatabaseTransaction,
    booking: &slot_booking::Model,
    method: Method,
    token: Option<&str>,
) -> ServiceResult<()> {
    let parts = Parts::asked(svc, txn, booking.registration_id, booking.slot_id).await?;
    outbox::queue(txn, messages_of(svc, &parts, booking, method, token)).await?;
    Ok(())
}

/// The REQUEST (or CANCEL) of a booking to the candidate and to the employer's contact.
fn messages_of(
    svc: &Services,
    parts: &Parts,
    booking: &slot_booking::Model,
    method: Method,
    token: Option<&str>,
) -> Vec<crate::store::entity::outbox::ActiveModel> {
    let ctx = context(svc);
    let now = svc.clock.now();
    let (kind, sequence) = match method {
        Method::Cancel => (MessageKind::InterviewCancelled, 1),
        _ => (MessageKind::InterviewBooked, 0),
    };
    let when = describe_span(parts.slot.starts_at, parts.slot.ends_at, parts.shown.timezone);
    let location = stand_location(&parts.shown, parts.stand.stand_label.as_deref());
    let mut messages = Vec::new();
    let recipients = [
        (Audience::Candidate, parts.candidate.name.clone(), parts.candidate.email.clone()),
        (Audience::Employer, parts.employer.contact_name.clone(), parts.employer.contact_email.clone()),
    ];
    for (audience, name, email) in recipients {
        if email.trim().is_empty() || super::door::is_stand_in(&email) || parts.candidate.erased_at.is_some() {
            continue;
        }
        let entry = parts.entry(booking, audience, sequence);
        let person = Person { name: name.clone(), email: email.clone() };
        let text = match method {
            Method::Cancel => calendar::cancel(&entry, &person, &ctx),
            _ => calendar::request(&entry, &person, &ctx),
        };
        let next_url = match (audience, token) {
            (Audience::Candidate, Some(token)) => Some(super::registrations::manage_url(svc.settings.public_url(), token)),
            (Audience::Candidate, None) => None,
            (Audience::Employer, _) => Some(format!("{}/employer/interviews", svc.settings.public_url())),
        };
        let context = json!({
            "person": {"name": name},
            "to_employer": audience == Audience::Employer,
            "employer": {"name": parts.employer.name},
            "candidate": {"name": parts.candidate.name, "email": super::door::shown_email(&parts.candidate.email)},
            "event": {"title": parts.shown.title, "url": parts.shown.url, "when": when, "location": location},
            "next_url": next_url,
        });
        messages.push(outbox::notice_with_calendar(svc.settings.public_url(), now, &email, kind, context, method, text));
    }
    messages
}

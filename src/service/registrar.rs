//! Taking registrations: one writer task per process that commits them in batches.
//!
//! A registration rush is thousands of requests for one event within seconds. Deciding each in
//! a transaction of its own (lock or count, insert, commit) makes every request wait for a commit,
//! and commits are what a database does slowest. So handlers hand their request to this task,
//! which takes whatever has queued up (up to `MAX_BATCH`), decides every one of them in memory
//! against the counters on the event row, writes them with two statements (the candidates, then
//! everything else: `store::bulk`), commits once and only then answers each request.
//!
//! Correctness does not rest on there being one task:
//! - On PostgreSQL the batch first locks the rows of the events it touches (`SELECT … FOR
//!   UPDATE`, in id order so two batches cannot deadlock), so batches from several carefair
//!   processes sharing the database take turns on an event, and each reads the counters the last
//!   one committed.
//! - On SQLite all writes share one connection (see `store::Db`), so batches, cancellations and
//!   event changes never interleave.
//! - A partial unique index allows one live registration per candidate per event, whatever
//!   happens above it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, Statement,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::auth::new_token;
use super::outbox::{self, MessageKind};
use super::registrations::{check_open, manage_url};
use super::{ServiceError, ServiceResult};
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{EmailAddress, Phone, Postcode, RegistrationStatus, Text, ValidationErrors, new_id};
use crate::store::Db;
use crate::store::bulk::{execute_together, insert_rows};
use crate::store::entity::{candidate, event, idempotency_key, registration, registration_token};

/// The most registrations decided in one transaction. Large enough that commits stop being the
/// bottleneck, small enough to stay well inside both databases' limits on bound parameters.
const MAX_BATCH: usize = 256;
/// Requests waiting for the writer; beyond this, handlers wait to hand theirs over.
const QUEUE: usize = 8192;
/// A batch taking longer than this is logged with the time of each of its steps.
const SLOW_BATCH: std::time::Duration = std::time::Duration::from_millis(100);

/// The person registering, as they gave their details.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: Text,
    pub email: EmailAddress,
    pub phone: Option<Phone>,
    pub postcode: Option<Postcode>,
    pub interests: Vec<String>,
    pub consent_marketing: bool,
    pub source: Option<Text>,
}

/// A client's `Idempotency-Key` with a digest of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    pub request_hash: String,
}

#[derive(Debug, Clone)]
pub struct RegisterRequest {
    pub event_id: Uuid,
    pub person: Person,
    pub idempotency: Option<IdempotencyKey>,
}

/// The answer to a registration; stored as JSON for idempotent replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registered {
    pub id: Uuid,
    pub event_id: Uuid,
    pub status: String,
    pub position: Option<i64>,
    pub manage_url: String,
}

struct Job {
    request: RegisterRequest,
    prepared: Prepared,
    reply: oneshot::Sender<ServiceResult<Registered>>,
}

/// What a registration needs that does not depend on the decision: its manage token and the
/// candidate row in case the email is new. Made on the handler's task, in parallel, so that the
/// one writer does as little per registration as it can. (The registration's id is made by the
/// writer: ids are in time order, and the organisers' lists show registrations in the order the
/// writer took them.)
struct Prepared {
    token_hash: String,
    manage_url: String,
    candidate: candidate::ActiveModel,
}

impl Prepared {
    fn new(public_url: &str, person: &Person, now: DateTime<Utc>) -> Self {
        let (token, token_hash) = new_token();
        Self {
            token_hash,
            manage_url: manage_url(public_url, &token),
            candidate: candidate::ActiveModel {
                id: Set(new_id()),
                email: Set(person.email.as_str().to_owned()),
                name: Set(person.name.as_str().to_owned()),
                phone: Set(person.phone.as_ref().map(|p| p.as_str().to_owned())),
                postcode: Set(person.postcode.as_ref().map(|p| p.as_str().to_owned())),
                interests: Set(serde_json::Value::from(person.interests.clone()).to_string()),
                consent_marketing: Set(person.consent_marketing),
                consent_at: Set(person.consent_marketing.then_some(now)),
                source: Set(person.source.as_ref().map(|s| s.as_str().to_owned())),
                erased_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            },
        }
    }
}

/// The handle through which requests reach the writer task.
#[derive(Clone)]
pub struct Registrar {
    tx: mpsc::Sender<Job>,
    clock: std::sync::Arc<dyn Clock>,
    public_url: std::sync::Arc<str>,
    /// Registrations handed over and not yet answered.
    in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts a registration as in flight until it is answered, however that ends.
struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

struct Writer {
    db: Db,
    clock: std::sync::Arc<dyn Clock>,
    public_url: String,
    mail_wake: std::sync::Arc<tokio::sync::Notify>,
}

impl Registrar {
    /// Starts the writer on a thread of its own; it ends when the last handle is dropped.
    ///
    /// The writer is the one serial step of a rush, and it awaits the database several times
    /// per batch. On the server's runtime each wake-up would queue behind hundreds of request
    /// tasks; on its own thread it runs the moment the database answers. The connection pools
    /// are shared: SQLite's connections live on threads of their own, and a PostgreSQL
    /// connection may be polled from any runtime while both run.
    pub fn spawn(db: Db, clock: std::sync::Arc<dyn Clock>, settings: &Settings, mail_wake: std::sync::Arc<tokio::sync::Notify>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = Writer { db, clock: clock.clone(), public_url: settings.public_url().to_owned(), mail_wake };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        let started = runtime.map_err(anyhow::Error::from).and_then(|runtime| {
            std::thread::Builder::new()
                .name("registrar".into())
                .spawn(move || runtime.block_on(writer.run(rx)))
                .map_err(anyhow::Error::from)
        });
        if let Err(err) = started {
            // Without the thread every registration answers 500 ("writer has stopped"); say why.
            tracing::error!(error = %err, "could not start the registration writer");
        }
        Self { tx, clock, public_url: settings.public_url().into(), in_flight: Default::default() }
    }

    /// Whether registrations are waiting for the writer or being written: a rush is on.
    pub fn is_busy(&self) -> bool {
        self.in_flight.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// Registers one person, answering once the registration is committed.
    pub async fn register(&self, request: RegisterRequest) -> ServiceResult<Registered> {
        self.in_flight.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _counted = InFlight(&self.in_flight);
        let prepared = Prepared::new(&self.public_url, &request.person, self.clock.now());
        let (reply, answer) = oneshot::channel();
        self.tx.send(Job { request, prepared, reply }).await.map_err(|_| anyhow::anyhow!("the registration writer has stopped"))?;
        answer.await.map_err(|_| anyhow::anyhow!("the registration writer dropped a request"))?
    }
}

impl Writer {
    async fn run(self, mut rx: mpsc::Receiver<Job>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            self.process(std::mem::take(&mut batch)).await;
        }
    }

    async fn process(&self, jobs: Vec<Job>) {
        let all: Vec<&Job> = jobs.iter().collect();
        let decided = self.decide(&all).await;
        match decided {
            Ok(results) => {
                for (job, result) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            // A batch that failed as a whole is retried one request at a time, so that one bad
            // request cannot take others down with it.
            Err(err) if jobs.len() > 1 => {
                tracing::warn!(error = %err, size = jobs.len(), "registration batch failed; retrying one by one");
                for job in jobs {
                    let result = match self.decide(&[&job]).await {
                        Ok(mut results) => results.pop().unwrap_or_else(|| Err(anyhow::anyhow!("no result").into())),
                        Err(err) => Err(err),
                    };
                    let _ = job.reply.send(result);
                }
            }
            Err(err) => {
                for job in jobs {
                    let _ = job.reply.send(Err(anyhow::anyhow!("registering: {err}").into()));
                }
            }
        }
    }

    /// Decides and writes a batch in one transaction; the results are in request order.
    #[tracing::instrument(skip_all, fields(size = jobs.len()))]
    async fn decide(&self, jobs: &[&Job]) -> ServiceResult<Vec<ServiceResult<Registered>>> {
        let now = self.clock.now();
        let requests: Vec<&RegisterRequest> = jobs.iter().map(|j| &j.request).collect();
        let mut steps = Steps::start();
        let txn = self.db.registrar.begin().await?;
        steps.mark("begin");
        let mut results: Vec<Option<ServiceResult<Registered>>> = requests.iter().map(|_| None).collect();

        let mut event_ids: Vec<Uuid> = requests.iter().map(|r| r.event_id).collect();
        event_ids.sort_unstable();
        event_ids.dedup();
        let mut events: HashMap<Uuid, event::Model> = event::Entity::find()
            .filter(event::Column::Id.is_in(event_ids.clone()))
            .order_by_asc(event::Column::Id)
            .lock_exclusive()
            .all(&txn)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        steps.mark("lock");

        for (i, request) in requests.iter().enumerate() {
            match events.get(&request.event_id) {
                None => results[i] = Some(Err(ServiceError::NotFound)),
                Some(event) => {
                    if let Err(err) = check_open(event, now) {
                        results[i] = Some(Err(err));
                    }
                }
            }
        }

        let followers = self.replay_idempotent(&txn, &requests, &mut results).await?;
        let pending: Vec<usize> = (0..requests.len()).filter(|i| results[*i].is_none() && !followers.contains_key(i)).collect();
        let candidates = upsert_candidates(&txn, jobs, &pending, now).await?;
        steps.mark("candidates");

        // Only someone who was a candidate before this batch can hold a live registration
        // already; in a rush of new people there is nobody to look up.
        let mut live: HashSet<(Uuid, Uuid)> = if candidates.existing.is_empty() {
            HashSet::new()
        } else {
            registration::Entity::find()
                .filter(registration::Column::EventId.is_in(event_ids))
                .filter(registration::Column::CandidateId.is_in(candidates.existing))
                .filter(registration::Column::Status.ne(RegistrationStatus::Cancelled.as_str()))
                .all(&txn)
                .await?
                .into_iter()
                .map(|r| (r.event_id, r.candidate_id))
                .collect()
        };

        let mut registrations = Vec::new();
        let mut tokens = Vec::new();
        let mut messages = Vec::new();
        let mut subjects = outbox::Subjects::default();
        let mut replays = Vec::new();
        let mut touched: HashSet<Uuid> = HashSet::new();
        for i in pending {
            let (request, prepared) = (&jobs[i].request, &jobs[i].prepared);
            let Some(&candidate_id) = candidates.ids.get(request.person.email.as_str()) else {
                results[i] = Some(Err(anyhow::anyhow!("candidate {} was not stored", request.person.email).into()));
                continue;
            };
            if !live.insert((request.event_id, candidate_id)) {
                results[i] = Some(Err(ServiceError::conflict("this email is already registered for this event")));
                continue;
            }
            let Some(event) = events.get_mut(&request.event_id) else { continue };
            touched.insert(event.id);
            let (status, seq, position) = take_place(event);
            let id = new_id();
            let registered = Registered {
                id,
                event_id: event.id,
                status: status.as_str().to_owned(),
                position,
                manage_url: prepared.manage_url.clone(),
            };
            registrations.push(registration::ActiveModel {
                id: Set(id),
                event_id: Set(event.id),
                candidate_id: Set(candidate_id),
                status: Set(status.as_str().to_owned()),
                waitlist_seq: Set(seq),
                created_at: Set(now),
                updated_at: Set(now),
            });
            tokens.push(registration_token::ActiveModel {
                token_hash: Set(prepared.token_hash.clone()),
                registration_id: Set(id),
                created_at: Set(now),
            });
            let kind = match status {
                RegistrationStatus::Confirmed => MessageKind::RegistrationConfirmed,
                _ => MessageKind::RegistrationWaitlisted,
            };
            let payload =
                serde_json::json!({"registration_id": id, "event_id": event.id, "position": position, "manage_url": registered.manage_url});
            messages.push(subjects.message(&self.public_url, now, request.person.email.as_str(), kind, &event.title, payload));
            if let Some(key) = &request.idempotency {
                replays.push(idempotency_key::ActiveModel {
                    event_id: Set(event.id),
                    key: Set(key.key.clone()),
                    request_hash: Set(key.request_hash.clone()),
                    response: Set(serde_json::to_string(&registered).map_err(anyhow::Error::from)?),
                    created_at: Set(now),
                });
            }
            results[i] = Some(Ok(registered));
        }

        let backend = txn.get_database_backend();
        let mut writes: Vec<Statement> = [
            insert_rows(backend, registrations, "")?,
            insert_rows(backend, tokens, "")?,
            insert_rows(backend, messages, "")?,
            insert_rows(backend, replays, "")?,
        ]
        .into_iter()
        .flatten()
        .collect();
        for id in touched {
            if let Some(event) = events.get(&id) {
                writes.push(counters_update(event).build(backend));
            }
        }
        steps.mark("decide");
        execute_together(&txn, writes).await?;
        steps.mark("write");
        txn.commit().await?;
        steps.mark("commit");
        if steps.total() > SLOW_BATCH {
            // One slow batch holds up every request in it and every one queued behind it.
            tracing::warn!(size = jobs.len(), steps = %steps, "a registration batch was slow");
        } else {
            tracing::debug!(size = jobs.len(), ms = steps.total().as_secs_f64() * 1000.0, steps = %steps, "registration batch");
        }
        self.mail_wake.notify_one();

        for (follower, first) in followers {
            results[follower] = Some(follow(requests[follower], requests[first], &results[first]));
        }
        Ok(results.into_iter().map(|r| r.unwrap_or_else(|| Err(anyhow::anyhow!("a registration was left undecided").into()))).collect())
    }

    /// Answers requests whose idempotency key was seen in an earlier batch, and returns the
    /// requests in this batch that repeat an earlier request's key (follower → first).
    async fn replay_idempotent(
        &self,
        txn: &DatabaseTransaction,
        requests: &[&RegisterRequest],
        results: &mut [Option<ServiceResult<Registered>>],
    ) -> ServiceResult<HashMap<usize, usize>> {
        let mut followers = HashMap::new();
        let mut first_of: HashMap<(Uuid, &str), usize> = HashMap::new();
        for (i, request) in requests.iter().enumerate() {
            if let Some(key) = &request.idempotency
                && results[i].is_none()
            {
                match first_of.get(&(request.event_id, key.key.as_str())) {
                    Some(first) => {
                        followers.insert(i, *first);
                    }
                    None => {
                        first_of.insert((request.event_id, key.key.as_str()), i);
                    }
                }
            }
        }
        if first_of.is_empty() {
            return Ok(followers);
        }
        let keys: Vec<String> = first_of.keys().map(|(_, k)| (*k).to_owned()).collect();
        let events: Vec<Uuid> = first_of.keys().map(|(e, _)| *e).collect();
        let stored = idempotency_key::Entity::find()
            .filter(idempotency_key::Column::EventId.is_in(events))
            .filter(idempotency_key::Column::Key.is_in(keys))
            .all(txn)
            .await?;
        for row in stored {
            let Some(&i) = first_of.get(&(row.event_id, row.key.as_str())) else { continue };
            let same = requests[i].idempotency.as_ref().is_some_and(|k| k.request_hash == row.request_hash);
            results[i] = Some(if same {
                serde_json::from_str::<Registered>(&row.response)
                    .map_err(|e| anyhow::anyhow!("stored answer for an idempotency key: {e}").into())
            } else {
                Err(key_reused())
            });
        }
        Ok(followers)
    }
}

/// The candidates of a batch: ids by email, and which of them were candidates before it.
struct StoredCandidates {
    ids: HashMap<String, Uuid>,
    existing: Vec<Uuid>,
}

/// Finds or creates the candidates of the pending requests in one statement. Marketing consent,
/// once given, is recorded with its time.
async fn upsert_candidates(
    txn: &DatabaseTransaction,
    jobs: &[&Job],
    pending: &[usize],
    now: DateTime<Utc>,
) -> ServiceResult<StoredCandidates> {
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    let mut offered: HashSet<Uuid> = HashSet::new();
    let mut consenting = HashSet::new();
    for &i in pending {
        let person = &jobs[i].request.person;
        if person.consent_marketing {
            consenting.insert(person.email.as_str());
        }
        if seen.insert(person.email.as_str()) {
            let row = jobs[i].prepared.candidate.clone();
            offered.extend(row.id.try_as_ref().copied());
            rows.push(row);
        }
    }
    let mut stored = StoredCandidates { ids: HashMap::new(), existing: Vec::new() };
    // An existing candidate keeps the details they first gave: anyone can register with any
    // email, so a registration must not overwrite someone's name or phone number. The no-op
    // update makes RETURNING hand back existing rows as well as new ones; a returned id that is
    // not the one offered is someone who was there before.
    let upsert =
        r#"ON CONFLICT ("email") DO UPDATE SET "updated_at" = "excluded"."updated_at" RETURNING "id", "email", "consent_marketing""#;
    let Some(insert) = insert_rows(txn.get_database_backend(), rows, upsert)? else { return Ok(stored) };
    let returned = txn.query_all_raw(insert).await?;
    let mut newly_consenting = Vec::new();
    for row in returned {
        let id: Uuid = row.try_get("", "id")?;
        let email: String = row.try_get("", "email")?;
        let consent: bool = row.try_get("", "consent_marketing")?;
        if !offered.contains(&id) {
            stored.existing.push(id);
        }
        if !consent && consenting.contains(email.as_str()) {
            newly_consenting.push(id);
        }
        stored.ids.insert(email, id);
    }
    if !newly_consenting.is_empty() {
        candidate::Entity::update_many()
            .col_expr(candidate::Column::ConsentMarketing, Expr::value(true))
            .col_expr(candidate::Column::ConsentAt, Expr::value(now))
            .filter(candidate::Column::Id.is_in(newly_consenting))
            .exec(txn)
            .await?;
    }
    Ok(stored)
}

/// Takes a place at `event` for one more person, in memory: confirmed while there is room,
/// otherwise the next place on the waiting list. Returns the status, the waiting-list arrival
/// number and the position.
fn take_place(event: &mut event::Model) -> (RegistrationStatus, Option<i64>, Option<i64>) {
    let room = event.capacity.is_none_or(|capacity| event.confirmed_count < capacity);
    if room {
        event.confirmed_count += 1;
        (RegistrationStatus::Confirmed, None, None)
    } else {
        event.waitlist_seq += 1;
        event.waitlisted_count += 1;
        (RegistrationStatus::Waitlisted, Some(event.waitlist_seq), Some(i64::from(event.waitlisted_count)))
    }
}

fn counters_update(event: &event::Model) -> sea_orm::UpdateMany<event::Entity> {
    event::Entity::update_many()
        .col_expr(event::Column::ConfirmedCount, Expr::value(event.confirmed_count))
        .col_expr(event::Column::WaitlistedCount, Expr::value(event.waitlisted_count))
        .col_expr(event::Column::WaitlistSeq, Expr::value(event.waitlist_seq))
        .filter(event::Column::Id.eq(event.id))
}

/// Writes an event's counters back after its registrations changed.
pub async fn store_counters(txn: &DatabaseTransaction, event: &event::Model) -> ServiceResult<()> {
    counters_update(event).exec(txn).await?;
    Ok(())
}

/// How long each step of a batch took, for the log when one is slow.
struct Steps {
    started: std::time::Instant,
    last: std::time::Instant,
    taken: Vec<(&'static str, std::time::Duration)>,
}

impl Steps {
    fn start() -> Self {
        let now = std::time::Instant::now();
        Self { started: now, last: now, taken: Vec::with_capacity(6) }
    }

    fn mark(&mut self, step: &'static str) {
        let now = std::time::Instant::now();
        self.taken.push((step, now - self.last));
        self.last = now;
    }

    fn total(&self) -> std::time::Duration {
        self.last - self.started
    }
}

impl std::fmt::Display for Steps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (step, took)) in self.taken.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{step} {:.1} ms", took.as_secs_f64() * 1000.0)?;
        }
        Ok(())
    }
}

fn key_reused() -> ServiceError {
    ServiceError::Invalid(ValidationErrors::single("Idempotency-Key", "was already used with a different request"))
}

/// The answer for a request that repeated the key of an earlier request in the same batch.
fn follow(
    follower: &RegisterRequest,
    first: &RegisterRequest,
    first_result: &Option<ServiceResult<Registered>>,
) -> ServiceResult<Registered> {
    let same = match (&follower.idempotency, &first.idempotency) {
        (Some(a), Some(b)) => a.request_hash == b.request_hash,
        _ => false,
    };
    match first_result {
        _ if !same => Err(key_reused()),
        Some(Ok(registered)) => Ok(registered.clone()),
        _ => Err(ServiceError::conflict("the first request with this Idempotency-Key failed; send it again")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_reports_its_steps_in_order() {
        let mut steps = Steps::start();
        steps.mark("begin");
        std::thread::sleep(std::time::Duration::from_millis(2));
        steps.mark("commit");
        let text = steps.to_string();
        assert!(text.starts_with("begin ") && text.contains(" ms, commit ") && text.ends_with(" ms"), "{text}");
        assert!(steps.total() >= std::time::Duration::from_millis(2));
        assert_eq!(steps.taken.iter().map(|(_, took)| *took).sum::<std::time::Duration>(), steps.total());
    }
}

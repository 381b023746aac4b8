//! Taking registrations: one writer per process that commits them in batches.
//!
//! A registration rush is thousands of requests for one event within seconds. Deciding each in
//! a transaction of its own (lock or count, insert, commit) makes every request wait for a commit,
//! and commits are what a database does slowest. So handlers hand their request to the writer,
//! which takes whatever has queued up (up to `MAX_BATCH`), decides every one of them in memory
//! against the counters on the event row, writes them with two statements (the candidates, then
//! everything else: `store::bulk`), commits once and only then answers each request
//! (`batch.rs`).
//!
//! Correctness does not rest on there being one writer:
//! - On PostgreSQL a batch locks the rows of the events it touches (`SELECT … FOR UPDATE`, in
//!   id order so two batches cannot deadlock) before it decides anything, so batches from
//!   several carefair processes sharing the database take turns on an event, and each reads the
//!   counters the last one committed.
//! - On SQLite all writes share one connection (see `store::Db`), so batches, cancellations and
//!   event changes never interleave.
//! - A partial unique index allows one live registration per candidate per event, whatever
//!   happens above it.
//!
//! On PostgreSQL the writer keeps two batches in flight: while one holds the event's lock and
//! writes, the next one begins and stores its candidates, which needs no lock on the event.
//! Only what follows the lock is serial, and the lock is taken in the order the batches were
//! (see `Turn`), so registrations keep their arrival order.

mod batch;
mod candidates;
mod steps;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, Set};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::ServiceResult;
use super::auth::new_token;
use super::registrations::manage_url;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{EmailAddress, Phone, Postcode, Text, Validation, ValidationErrors, new_id};
use crate::store::entity::candidate;
use crate::store::{Db, Json};

pub use batch::store_counters;

/// The most registrations decided in one transaction. Large enough that commits stop being the
/// bottleneck, small enough to stay well inside both databases' limits on bound parameters.
const MAX_BATCH: usize = 256;
/// Requests waiting for the writer; beyond this, handlers wait to hand theirs over.
const QUEUE: usize = 8192;
/// Batches in flight at once on PostgreSQL (see `Turn`). SQLite's one write connection takes
/// one transaction at a time, so there the writer keeps one.
const POSTGRES_BATCHES_IN_FLIGHT: usize = 2;

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

/// The most interests one person may give, and the longest of each.
pub const INTERESTS_MAX: usize = 20;
pub const INTEREST_MAX: usize = 100;
/// The longest "how did you hear about it".
pub const SOURCE_MAX: usize = 100;

/// What someone types to register, before it is checked: the same from the API, a page or an
/// RSVP.
#[derive(Debug, Clone, Default)]
pub struct PersonInput {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub postcode: Option<String>,
    pub interests: Vec<String>,
    pub consent_marketing: bool,
    pub source: Option<String>,
}

impl Person {
    /// Checks every field, naming each that breaks a rule; blank optional fields are left out.
    pub fn parse(input: PersonInput) -> Result<Self, ValidationErrors> {
        let mut v = Validation::new();
        let name = v.check("name", Text::person_name(&input.name));
        let email = v.check("email", EmailAddress::parse(&input.email));
        let phone = v.check_opt("phone", input.phone.filter(|p| !p.trim().is_empty()), |p| Phone::parse(&p));
        let postcode = v.check_opt("postcode", input.postcode.filter(|p| !p.trim().is_empty()), |p| Postcode::parse(&p));
        let source = v.check_opt("source", input.source.filter(|s| !s.trim().is_empty()), |s| Text::one_line(&s, 1, SOURCE_MAX));
        if input.interests.len() > INTERESTS_MAX {
            v.fail("interests", format!("must list at most {INTERESTS_MAX} interests"));
        }
        let mut interests = Vec::new();
        for (i, interest) in input.interests.iter().enumerate() {
            if let Some(text) = v.check(&format!("interests[{i}]"), Text::one_line(interest, 1, INTEREST_MAX)) {
                interests.push(text.into_string());
            }
        }
        let (Some(name), Some(email), Some(phone), Some(postcode), Some(source)) = (name, email, phone, postcode, source) else {
            return Err(v.into_errors());
        };
        v.finish()?;
        Ok(Person { name, email, phone, postcode, interests, consent_marketing: input.consent_marketing, source })
    }
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
    /// What was given for the event's questions, by question id: checked by the writer against
    /// the questions its batch reads (one read a batch, not one a registration).
    pub given: std::collections::BTreeMap<String, crate::service::questions::Given>,
    /// Whether they agree that the employers at the fair may see their details and record what
    /// came of meeting them.
    pub consent_share_with_employers: bool,
}

/// The answer to a registration; stored as JSON for idempotent replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registered {
    pub id: Uuid,
    pub event_id: Uuid,
    pub status: String,
    pub position: Option<i64>,
    pub manage_url: String,
    /// Stored replays made before tickets existed have none.
    #[serde(default)]
    pub ticket_code: String,
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
                interests: Set(Json(person.interests.clone())),
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

/// The handle through which requests reach the writer.
#[derive(Clone)]
pub struct Registrar {
    tx: mpsc::Sender<Job>,
    clock: Arc<dyn Clock>,
    public_url: Arc<str>,
    /// Registrations handed over and not yet answered.
    in_flight: Arc<AtomicUsize>,
}

/// Counts a registration as in flight until it is answered, however that ends.
/// A public write under way, counted while it lives: the mail worker holds off while any is.
pub struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Writer {
    db: Db,
    clock: Arc<dyn Clock>,
    public_url: String,
    mail_wake: Arc<tokio::sync::Notify>,
}

impl Registrar {
    /// Starts the writer on a thread of its own (`on_own_thread`: it is the one serial step of
    /// a rush, and awaits the database several times a batch); it ends when the last handle is
    /// dropped.
    pub fn spawn(db: Db, clock: Arc<dyn Clock>, settings: &Settings, mail_wake: Arc<tokio::sync::Notify>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = Arc::new(Writer { db, clock: clock.clone(), public_url: settings.public_url().to_owned(), mail_wake });
        super::on_own_thread("registrar", async move { writer.run(rx).await });
        Self { tx, clock, public_url: settings.public_url().into(), in_flight: Default::default() }
    }

    /// Whether registrations are waiting for the writer or being written: a rush is on.
    pub fn is_busy(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > 0
    }

    /// Counts another public write of this process (an interview booking, say) as part of the
    /// rush while the guard lives, so the mail worker leaves the CPU and the writer to it.
    pub fn rushing(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(&self.in_flight)
    }

    /// Registers one person, answering once the registration is committed.
    pub async fn register(&self, request: RegisterRequest) -> ServiceResult<Registered> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let _counted = InFlight(&self.in_flight);
        let prepared = Prepared::new(&self.public_url, &request.person, self.clock.now());
        let (reply, answer) = oneshot::channel();
        self.tx.send(Job { request, prepared, reply }).await.map_err(|_| anyhow::anyhow!("the registration writer has stopped"))?;
        answer.await.map_err(|_| anyhow::anyhow!("the registration writer dropped a request"))?
    }
}

/// A batch's place in the writer's pipeline.
///
/// A batch has two stages: first it begins its transaction and stores its candidates, then it
/// locks its events, decides, writes and commits. Only the second is serial, so on PostgreSQL
/// the next batch runs its first stage while the one before writes and commits. Two rules keep
/// that safe and in order:
/// - The next batch is taken from the queue once the one before has decided, just before its
///   writes, so their candidates' upserts never overlap: a later batch's upsert may wait for an
///   earlier one's commit (the same email in both), never the other way round, and the writer
///   cannot wait on itself in a way PostgreSQL would not see as a deadlock. (Taking it as soon
///   as the one before had stored its candidates, which is as safe, measured no faster.)
/// - A batch asks for its events' locks only once the batch before holds them; PostgreSQL then
///   grants them in that order, so registrations are decided in the order they were taken.
///
/// A batch that fails drops its signals, which lets the next one go on.
#[derive(Default)]
struct Turn {
    /// Fires once the batch before holds its events' locks.
    after_lock: Option<oneshot::Receiver<()>>,
    /// Fired by this batch once it has decided: the next batch may be taken.
    decided: Option<oneshot::Sender<()>>,
    /// Fired by this batch once it holds its events' locks.
    locked: Option<oneshot::Sender<()>>,
}

impl Turn {
    async fn wait_for_lock(&mut self) {
        if let Some(before) = self.after_lock.take() {
            // An error means the batch before ended without the lock: nothing to wait for.
            let _ = before.await;
        }
    }

    fn decided(&mut self) {
        if let Some(decided) = self.decided.take() {
            let _ = decided.send(());
        }
    }

    fn locked(&mut self) {
        if let Some(locked) = self.locked.take() {
            let _ = locked.send(());
        }
    }
}

impl Writer {
    fn batches_in_flight(&self) -> usize {
        match self.db.backend() {
            DbBackend::Postgres => POSTGRES_BATCHES_IN_FLIGHT,
            _ => 1,
        }
    }

    async fn run(self: Arc<Self>, mut rx: mpsc::Receiver<Job>) {
        let most = self.batches_in_flight();
        let mut running = tokio::task::JoinSet::new();
        let mut decided_before: Option<oneshot::Receiver<()>> = None;
        let mut locked_before: Option<oneshot::Receiver<()>> = None;
        loop {
            while running.len() >= most {
                running.join_next().await;
            }
            if let Some(decided) = decided_before.take() {
                let _ = decided.await;
            }
            let mut jobs = Vec::with_capacity(MAX_BATCH);
            if rx.recv_many(&mut jobs, MAX_BATCH).await == 0 {
                break;
            }
            let (decided, decided_rx) = oneshot::channel();
            let (locked, locked_rx) = oneshot::channel();
            decided_before = Some(decided_rx);
            let turn = Turn { after_lock: locked_before.replace(locked_rx), decided: Some(decided), locked: Some(locked) };
            let writer = self.clone();
            running.spawn(async move { writer.process(jobs, turn).await });
        }
        // Every request taken is answered before the writer stops.
        while running.join_next().await.is_some() {}
    }

    async fn process(&self, jobs: Vec<Job>, mut turn: Turn) {
        let all: Vec<&Job> = jobs.iter().collect();
        let decided = self.decide(&all, &mut turn).await;
        // Whatever happened, the next batch may go on now, not after any retries below.
        drop(turn);
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
                    let result = match self.decide(&[&job], &mut Turn::default()).await {
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
}

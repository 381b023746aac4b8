//! The use cases. Each public function is one transaction that changes the store (and, from the
//! mail change on, queues the mail it causes). The API, the web pages and the CLI all call these,
//! so a rule lives in one place.

pub mod accounts;
pub mod auth;
pub mod calendar;
pub mod campaigns;
pub mod candidates;
pub mod demo;
pub mod door;
pub mod employers;
pub mod engagements;
pub mod events;
pub mod exhibitors;
pub mod exports;
pub mod feedback;
pub mod housekeeping;
pub mod imports;
pub mod invitations;
pub mod limiter;
pub mod mail_worker;
pub mod outbox;
pub mod outcomes;
pub mod policy;
pub mod postcodes;
pub mod questions;
pub mod registrar;
pub mod registrations;
pub mod reminders;
pub mod reports;
pub mod schema;
pub mod school_links;
pub mod schools;
pub mod slots;
pub mod suggestions;
pub mod users;
pub mod venues;

use std::sync::Arc;

use sea_orm::DbErr;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::ValidationErrors;
use crate::store::Db;

/// What every use case needs: the database, the clock and the settings.
#[derive(Clone)]
pub struct Services {
    /// The database, for the use cases below; the faces and `startup` go through them.
    pub(crate) db: Db,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    pub login_limiter: Arc<limiter::LoginLimiter>,
    /// `limits.public_writes_per_minute`, per client address.
    pub public_writes: Arc<limiter::AddressLimiter>,
    pub registrar: registrar::Registrar,
    /// Commits interview bookings in batches (see `slots::writer`).
    pub(in crate::service) slot_writer: slots::SlotWriter,
    pub(in crate::service) feed_cache: Arc<calendar::FeedCache>,
    /// Told whenever a change in this process queues mail, so the worker need not wait for
    /// its next poll.
    pub mail_wake: Arc<Notify>,
    pub mail_stats: Arc<mail_worker::MailStats>,
}

impl Services {
    /// Where organisers' notices go (`mail.organisers_to`), when it is set.
    pub(crate) fn organisers_to(&self) -> Option<&str> {
        self.settings.mail.organisers_to.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// The services over a running registration writer (`startup` starts it: see
    /// `registrar::Registrar::spawn`), which tells `mail_wake` when it queues mail.
    pub fn new(db: Db, clock: Arc<dyn Clock>, settings: Arc<Settings>, registrar: registrar::Registrar, mail_wake: Arc<Notify>) -> Self {
        Self {
            slot_writer: slots::SlotWriter::spawn(db.clone(), mail_wake.clone()),
            public_writes: Arc::new(limiter::AddressLimiter::new(settings.limits.public_writes_per_minute)),
            db,
            clock,
            settings,
            login_limiter: Arc::new(limiter::LoginLimiter::default()),
            registrar,
            feed_cache: Arc::new(calendar::FeedCache::default()),
            mail_wake,
            mail_stats: Arc::default(),
        }
    }
}

/// Runs `work` on a thread named `name` with a runtime of its own: a writer there runs the moment
/// the database answers, rather than queueing behind the request tasks of a rush. The connection
/// pools are shared: SQLite's connections live on threads of their own, and a PostgreSQL
/// connection may be polled from any runtime while both run.
pub(crate) fn on_own_thread(name: &str, work: impl Future<Output = ()> + Send + 'static) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let started = runtime.map_err(anyhow::Error::from).and_then(|runtime| {
        std::thread::Builder::new().name(name.into()).spawn(move || runtime.block_on(work)).map_err(anyhow::Error::from)
    });
    if let Err(err) = started {
        // Without the thread every request handed to it answers 500 ("has stopped"); say why.
        tracing::error!(error = %err, thread = name, "could not start a writer");
    }
}

/// How a use case can end other than with its result. The expected outcomes (not found, conflict,
/// invalid input) are variants a caller maps to an answer; `Internal` is a real failure, logged
/// once at the edge and never shown to a client.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The email already holds a live place (or a waiting-list place) at the event.
    #[error("this email is already registered for this event")]
    AlreadyRegistered,
    /// The event takes no registrations now, and why.
    #[error("{0}")]
    Closed(registrations::Closed),
    /// A record with the same unique details exists; the text says which details.
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationErrors),
    #[error("not allowed")]
    Forbidden,
    #[error("not signed in")]
    Unauthorized,
    #[error("too many attempts; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        ServiceError::Internal(err.into())
    }
}

impl ServiceError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Invalid(ValidationErrors::single(field, message))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ServiceError::Conflict(message.into())
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// A page of a list, with the total the filters match.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// Where a list starts and how long it is; `limit` is already within 1..=200.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: u64,
    pub offset: u64,
}

/// Counts a public write (a registration, a signup, an RSVP answer, a password-reset request)
/// from `client`; 429 beyond `limits.public_writes_per_minute`.
pub(crate) fn admit_public_write(svc: &Services, client: Option<std::net::IpAddr>) -> ServiceResult<()> {
    svc.public_writes.admit(client, svc.clock.now()).map_err(|retry_after_secs| ServiceError::TooManyRequests { retry_after_secs })
}

pub(crate) use policy::{employer as scope_employer, school as scope_school};

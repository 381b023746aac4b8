//! Calendar files for events, registrations and feeds: loads what they show and hands plain
//! values to the pure `calendar` module.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::events::Event;
use super::registrations;
use super::{ServiceError, ServiceResult, Services};
use crate::calendar::{self, CalendarEvent, Context, Feed, Person};
use crate::config::public_host;
use crate::domain::{EventStatus, RegistrationStatus};
use crate::store::entity::{event, venue};

/// A calendar file ready to serve, with its entity tag.
#[derive(Debug, Clone)]
pub struct CalendarBody {
    pub body: Bytes,
    pub etag: String,
}

impl CalendarBody {
    /// The tag is taken over the file without its DTSTAMP, which changes on every build, so a
    /// client that holds an unchanged file is told so.
    fn new(text: String) -> Self {
        let mut hasher = Sha256::new();
        for line in text.split("\r\n").filter(|l| !l.starts_with("DTSTAMP:")) {
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
        }
        let etag = format!("\"{}\"", &hex::encode(hasher.finalize())[..32]);
        Self { body: Bytes::from(text), etag }
    }
}

/// How often subscribed calendars should look for changes.
const REFRESH_MINUTES: u32 = 60;

pub(crate) fn context(svc: &Services) -> Context {
    Context { host: public_host(svc.settings.public_url()).to_owned(), organizer: organizer(&svc.settings.mail.from), now: svc.clock.now() }
}

/// `Gift of Care <events@example.org>` as a name and an address.
fn organizer(from: &str) -> Person {
    match from.rsplit_once('<') {
        Some((name, rest)) => {
            Person { name: name.trim().trim_matches('"').to_owned(), email: rest.trim_end_matches('>').trim().to_owned() }
        }
        None => Person { name: String::new(), email: from.trim().to_owned() },
    }
}

fn location(event: &Event, venue: Option<&venue::Model>) -> Option<String> {
    match venue {
        Some(v) => Some(format!("{}, {}, {}", v.name, v.address.replace(['\r', '\n'], ", "), v.postcode)),
        None => event.online_url.clone(),
    }
}

pub(crate) fn calendar_event(svc: &Services, event: &Event, venue: Option<&venue::Model>) -> CalendarEvent {
    CalendarEvent {
        id: event.id,
        title: event.title.clone(),
        description: event.description.clone(),
        starts_at: event.starts_at,
        ends_at: event.ends_at,
        timezone: event.timezone.tz(),
        location: location(event, venue),
        url: format!("{}/events/{}", svc.settings.public_url(), event.id),
        sequence: event.sequence,
        cancelled: event.status == EventStatus::Cancelled,
        tentative: false,
        category: event.kind.label().to_owned(),
    }
}

/// The venues of `events`, by id.
async fn venues_of(svc: &Services, events: &[Event]) -> ServiceResult<HashMap<Uuid, venue::Model>> {
    let ids: Vec<Uuid> = events.iter().filter_map(|e| e.venue_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(venue::Entity::find().filter(venue::Column::Id.is_in(ids)).all(&svc.db.read).await?.into_iter().map(|v| (v.id, v)).collect())
}

pub(crate) async fn with_venues(svc: &Services, events: &[Event]) -> ServiceResult<Vec<CalendarEvent>> {
    let venues = venues_of(svc, events).await?;
    Ok(events.iter().map(|e| calendar_event(svc, e, e.venue_id.and_then(|id| venues.get(&id)))).collect())
}

/// Events the public may hold in a calendar: published ones, and cancelled ones so that
/// calendars which hold them learn they are off.
fn visible() -> Condition {
    Condition::all().add(
        Condition::any()
            .add(event::Column::Status.eq(EventStatus::Published.as_str()))
            .add(event::Column::Status.eq(EventStatus::Cancelled.as_str())),
    )
}

/// What the public's files and feeds hold: [`visible`] events other than school engagements,
/// which are private to the school and the employers taking part.
fn public() -> Condition {
    visible().add(super::events::engagements_visible_to(None))
}

/// One event as `METHOD:PUBLISH`. Drafts and school engagements are not found.
pub async fn event_file(svc: &Services, id: Uuid) -> ServiceResult<CalendarBody> {
    let found = event::Entity::find_by_id(id).filter(public()).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?.into();
    let events = with_venues(svc, std::slice::from_ref(&found)).await?;
    Ok(CalendarBody::new(calendar::publish(&events, &context(svc), None)))
}

/// The holder's event with them as attendee: `METHOD:REQUEST`, or `METHOD:CANCEL` once their
/// place or the event is cancelled.
pub async fn registration_file(svc: &Services, token: &str) -> ServiceResult<CalendarBody> {
    let held = registrations::held(svc, token).await?;
    let events = with_venues(svc, std::slice::from_ref(&held.event)).await?;
    let Some(event) = events.first() else { return Err(ServiceError::NotFound) };
    let attendee = Person { name: held.detail.candidate.name.clone(), email: held.detail.candidate.email.clone() };
    let ctx = context(svc);
    if event.cancelled {
        // Cancelling the event raised its sequence already.
        return Ok(CalendarBody::new(calendar::cancel(event, &attendee, &ctx)));
    }
    if held.detail.registration.status == RegistrationStatus::Cancelled {
        // Only this attendee's copy is withdrawn: a CANCEL must carry a sequence above the
        // REQUEST their calendar holds, or clients ignore it (RFC 5546 §2.1.4).
        let mut withdrawn = event.clone();
        withdrawn.sequence += 1;
        return Ok(CalendarBody::new(calendar::cancel(&withdrawn, &attendee, &ctx)));
    }
    if held.detail.registration.status == RegistrationStatus::Waitlisted {
        return Ok(CalendarBody::new(calendar::waitlisted(event, held.detail.position, &ctx)));
    }
    Ok(CalendarBody::new(calendar::request(event, &attendee, &ctx)))
}

/// What the public feed was built from: how many events it holds and when any of them or any
/// venue last changed. The same stamp means the same feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStamp {
    generation: u64,
    events: i64,
    events_changed: Option<DateTime<Utc>>,
    venues_changed: Option<DateTime<Utc>>,
}

/// The last public feed built, reused while its stamp holds: subscribed calendars poll the
/// feed far more often than events change, and reading the stamp takes well under a
/// millisecond.
///
/// Changes made through this process bump `generation`, so they show at once even within one
/// clock tick; changes made by another process sharing the database show through the stamp's
/// timestamps.
///
/// When the stamp has moved, the feed is not built from scratch: the events it holds are kept
/// with their entries already written, and only events changed since the last build (by
/// `updated_at`) are read and written again. Reading 2,000 rows through sqlx alone takes about
/// 40 ms here; one changed row takes well under one.
#[derive(Default)]
pub struct FeedCache {
    last: Mutex<Option<(FeedStamp, CalendarBody)>>,
    generation: AtomicU64,
    held: Mutex<Option<HeldFeed>>,
}

/// The events of the last public feed, each with its entry as written.
struct HeldFeed {
    /// The latest `updated_at` among the events read so far; changes at or after it are read
    /// again at the next build.
    since: DateTime<Utc>,
    venues_changed: Option<DateTime<Utc>>,
    events: HashMap<Uuid, HeldEvent>,
}

struct HeldEvent {
    shown: CalendarEvent,
    entry: String,
}

impl FeedCache {
    /// Called by every change to an event.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// Called by every change to a venue: the next build starts from scratch.
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn get(&self, stamp: &FeedStamp) -> Option<CalendarBody> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.as_ref().filter(|(cached, _)| cached == stamp).map(|(_, body)| body.clone())
    }

    fn put(&self, stamp: FeedStamp, body: CalendarBody) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((stamp, body));
    }
}

async fn feed_stamp(svc: &Services, now: DateTime<Utc>) -> ServiceResult<FeedStamp> {
    let (events, events_changed): (i64, Option<DateTime<Utc>>) = event::Entity::find()
        .select_only()
        .column_as(event::Column::Id.count(), "events")
        .column_as(event::Column::UpdatedAt.max(), "changed")
        .filter(public())
        .filter(event::Column::EndsAt.gt(now))
        .into_tuple()
        .one(&svc.db.read)
        .await?
        .unwrap_or((0, None));
    let venues_changed: Option<DateTime<Utc>> = venue::Entity::find()
        .select_only()
        .column_as(venue::Column::UpdatedAt.max(), "changed")
        .into_tuple()
        .one(&svc.db.read)
        .await?
        .flatten();
    Ok(FeedStamp { generation: svc.feed_cache.generation.load(Ordering::Relaxed), events, events_changed, venues_changed })
}

/// Every published (or cancelled) event that has not ended, as a subscribable feed.
pub async fn public_feed(svc: &Services) -> ServiceResult<CalendarBody> {
    let now = svc.clock.now();
    let stamp = feed_stamp(svc, now).await?;
    if let Some(body) = svc.feed_cache.get(&stamp) {
        return Ok(body);
    }
    let held = svc.feed_cache.held.lock().unwrap_or_else(|e| e.into_inner()).take();
    let held = match held.filter(|h| h.venues_changed == stamp.venues_changed) {
        Some(held) => refresh(svc, held, now).await?,
        None => load(svc, now, stamp.venues_changed).await?,
    };
    let mut shown: Vec<&HeldEvent> = held.events.values().filter(|e| e.shown.ends_at > now).collect();
    shown.sort_by_key(|e| (e.shown.starts_at, e.shown.id));
    let feed = Feed { name: "Gift of Care events".into(), refresh_minutes: REFRESH_MINUTES };
    let text = calendar::publish_entries(shown.iter().map(|e| (&e.shown, e.entry.as_str())), &context(svc), Some(&feed));
    let body = CalendarBody::new(text);
    *svc.feed_cache.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(held);
    svc.feed_cache.put(stamp, body.clone());
    Ok(body)
}

/// Every event the public feed shows, read and written afresh.
async fn load(svc: &Services, now: DateTime<Utc>, venues_changed: Option<DateTime<Utc>>) -> ServiceResult<HeldFeed> {
    let events = event::Entity::find().filter(public()).filter(event::Column::EndsAt.gt(now)).all(&svc.db.read).await?;
    let events = events.into_iter().map(Event::from).collect();
    let mut held = HeldFeed { since: DateTime::<Utc>::UNIX_EPOCH, venues_changed, events: HashMap::new() };
    take_in(svc, &mut held, events, now).await?;
    Ok(held)
}

/// The held feed with the events changed since it was built read and written again.
async fn refresh(svc: &Services, mut held: HeldFeed, now: DateTime<Utc>) -> ServiceResult<HeldFeed> {
    let changed = event::Entity::find().filter(event::Column::UpdatedAt.gte(held.since)).all(&svc.db.read).await?;
    let changed = changed.into_iter().map(Event::from).collect();
    take_in(svc, &mut held, changed, now).await?;
    held.events.retain(|_, e| e.shown.ends_at > now);
    Ok(held)
}

/// Writes the entries of `events` into `held`, and drops those the feed no longer shows.
async fn take_in(svc: &Services, held: &mut HeldFeed, events: Vec<Event>, now: DateTime<Utc>) -> ServiceResult<()> {
    let venues = venues_of(svc, &events).await?;
    let ctx = context(svc);
    for event in events {
        held.since = held.since.max(event.updated_at);
        let status = event.status;
        let public = super::events::may_see(None, &event) && matches!(status, EventStatus::Published | EventStatus::Cancelled);
        if !public || event.ends_at <= now {
            held.events.remove(&event.id);
            continue;
        }
        let shown = calendar_event(svc, &event, event.venue_id.and_then(|id| venues.get(&id)));
        let entry = calendar::publish_entry(&shown, &ctx);
        held.events.insert(event.id, HeldEvent { shown, entry });
    }
    Ok(())
}

/// One campaign's published (or cancelled) events, as a subscribable feed.
pub async fn campaign_feed(svc: &Services, slug: &str) -> ServiceResult<CalendarBody> {
    let campaign = super::campaigns::get_by_slug(svc, slug).await?;
    let events = event::Entity::find()
        .filter(public())
        .filter(event::Column::CampaignId.eq(campaign.id))
        .order_by_asc(event::Column::StartsAt)
        .all(&svc.db.read)
        .await?;
    let events: Vec<Event> = events.into_iter().map(Event::from).collect();
    let events = with_venues(svc, &events).await?;
    Ok(CalendarBody::new(calendar::publish(&events, &context(svc), Some(&Feed { name: campaign.name, refresh_minutes: REFRESH_MINUTES }))))
}

/// An employer's calendar: its confirmed stands at fairs and the school engagements it takes
/// part in, published (or cancelled, so calendars drop them). The token is the one
/// `employers::new_feed` showed; an unknown token is not found.
/// The calendar file of an interview the holder of `token` booked (`METHOD:REQUEST`).
pub async fn interview_file(svc: &Services, token: &str, slot_id: Uuid) -> ServiceResult<CalendarBody> {
    Ok(CalendarBody::new(super::slots::candidate_file(svc, token, slot_id).await?))
}

pub async fn employer_feed(svc: &Services, token: &str) -> ServiceResult<CalendarBody> {
    use crate::domain::ExhibitorStatus;
    use crate::store::entity::{employer, engagement_employer, exhibitor};

    let db = &svc.db.read;
    let employer = employer::Entity::find()
        .filter(employer::Column::FeedTokenHash.eq(super::auth::hash_token(token)))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let mut ids: Vec<Uuid> = exhibitor::Entity::find()
        .select_only()
        .column(exhibitor::Column::EventId)
        .filter(exhibitor::Column::EmployerId.eq(employer.id))
        .filter(exhibitor::Column::Status.eq(ExhibitorStatus::Confirmed.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    ids.extend(
        engagement_employer::Entity::find()
            .select_only()
            .column(engagement_employer::Column::EventId)
            .filter(engagement_employer::Column::EmployerId.eq(employer.id))
            .into_tuple::<Uuid>()
            .all(db)
            .await?,
    );
    let events =
        event::Entity::find().filter(visible()).filter(event::Column::Id.is_in(ids)).order_by_asc(event::Column::StartsAt).all(db).await?;
    let events: Vec<Event> = events.into_iter().map(Event::from).collect();
    let mut events = with_venues(svc, &events).await?;
    // Its booked interviews too, each under its booking's UID.
    events.extend(super::slots::employer_entries(svc, employer.id).await?);
    let feed = Feed { name: format!("{}: Gift of Care stands and school visits", employer.name), refresh_minutes: REFRESH_MINUTES };
    Ok(CalendarBody::new(calendar::publish(&events, &context(svc), Some(&feed))))
}

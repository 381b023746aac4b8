//! Events: fairs, campaign events, school engagements, training and information sessions, with
//! their lifecycle draft → published → cancelled (or completed).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use uuid::Uuid;

use super::engagements::{self, EngagementPlan, Target};
use super::outbox::{self, MessageKind};
use super::{Page, PageRequest, ServiceError, ServiceResult, Services};
use crate::domain::{Activity, Actor, EventKind, EventStatus, Meaningful, RegistrationStatus, Role, Schedule, Text, TimeZone, Url, new_id};
use crate::store::entity::{campaign, event, venue};

/// An event as the use cases hand it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub kind: EventKind,
    pub title: String,
    pub description: String,
    pub campaign_id: Option<Uuid>,
    pub venue_id: Option<Uuid>,
    pub online_url: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub timezone: TimeZone,
    pub capacity: Option<i32>,
    pub registration_opens_at: Option<DateTime<Utc>>,
    pub registration_closes_at: Option<DateTime<Utc>>,
    pub status: EventStatus,
    pub sequence: i32,
    pub school_id: Option<Uuid>,
    pub max_exhibitors: Option<i32>,
    /// Waiting-list offers last this many hours; `None` gives freed places at once.
    pub offer_hours: Option<i32>,
    pub cancel_reason: Option<String>,
    /// Places taken (confirmed, offered and attended).
    pub confirmed_count: i32,
    pub waitlisted_count: i32,
    /// A school engagement's own part; `None` for every other kind.
    pub engagement: Option<Engagement>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a school engagement plans and, once held, what it achieved.
#[derive(Debug, Clone, PartialEq)]
pub struct Engagement {
    /// The employers taking part; each has an active link with the school.
    pub employer_ids: Vec<Uuid>,
    pub activity: Activity,
    pub year_groups: Vec<i32>,
    pub expected_pupils: Option<i32>,
    pub supervised: Option<bool>,
    /// The school's risk-assessment reference: organisers only (see `shown_to`).
    pub risk_assessment_ref: Option<String>,
    pub outcome: Option<RecordedOutcome>,
}

/// An engagement's outcome, recorded after it was held.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedOutcome {
    pub pupils_reached: i32,
    pub meaningful: Meaningful,
    pub recorded_at: DateTime<Utc>,
    pub notes: Option<String>,
}

impl From<event::Model> for Event {
    fn from(m: event::Model) -> Self {
        let outcome =
            match (m.pupils_reached, m.purpose_briefed, m.learning_outcomes, m.two_way_interaction, m.reflection, m.outcome_recorded_at) {
                (
                    Some(pupils_reached),
                    Some(purpose_briefed),
                    Some(learning_outcomes),
                    Some(two_way_interaction),
                    Some(reflection),
                    Some(recorded_at),
                ) => Some(RecordedOutcome {
                    pupils_reached,
                    meaningful: Meaningful { purpose_briefed, learning_outcomes, two_way_interaction, reflection },
                    recorded_at,
                    notes: m.outcome_notes.clone(),
                }),
                _ => None,
            };
        let engagement = m.activity.map(|activity| Engagement {
            employer_ids: m.employer_ids.map(|ids| ids.0).unwrap_or_default(),
            activity,
            year_groups: m.year_groups.map(|years| years.0).unwrap_or_default(),
            expected_pupils: m.expected_pupils,
            supervised: m.supervised,
            risk_assessment_ref: m.risk_assessment_ref,
            outcome,
        });
        Self {
            id: m.id,
            kind: m.kind,
            title: m.title,
            description: m.description,
            campaign_id: m.campaign_id,
            venue_id: m.venue_id,
            online_url: m.online_url,
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            timezone: m.timezone,
            capacity: m.capacity,
            registration_opens_at: m.registration_opens_at,
            registration_closes_at: m.registration_closes_at,
            status: m.status,
            sequence: m.sequence,
            school_id: m.school_id,
            max_exhibitors: m.max_exhibitors,
            offer_hours: m.offer_hours,
            cancel_reason: m.cancel_reason,
            confirmed_count: m.confirmed_count,
            waitlisted_count: m.waitlisted_count,
            engagement,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl Event {
    /// The employers taking part in a school engagement; none for other kinds.
    pub fn employer_ids(&self) -> &[Uuid] {
        self.engagement.as_ref().map_or(&[], |e| e.employer_ids.as_slice())
    }
}

pub struct NewEvent {
    pub kind: EventKind,
    pub title: Text,
    pub description: Text,
    pub campaign_id: Option<Uuid>,
    pub venue_id: Option<Uuid>,
    pub online_url: Option<Url>,
    pub schedule: Schedule,
    pub timezone: TimeZone,
    pub capacity: Option<i32>,
    pub school_id: Option<Uuid>,
    pub max_exhibitors: Option<i32>,
    /// Waiting-list offers: hours a freed place is held for the person it is offered to.
    pub offer_hours: Option<i32>,
    pub engagement: EngagementPlan,
}

/// The longest title an event may have.
pub const TITLE_MAX: usize = 200;
/// The longest reason for a cancellation.
pub const REASON_MAX: usize = 1_000;
/// The most stands a fair may have.
pub const MAX_EXHIBITORS_MAX: i64 = 1_000;

/// The rules of each event field, for every face that takes one.
pub mod rules {
    use super::{MAX_EXHIBITORS_MAX, REASON_MAX, TITLE_MAX};
    use crate::domain::{CAPACITY_MAX, DESCRIPTION_MAX, EventKind, Text, TimeZone, Url, int_in};

    pub fn kind(s: &str) -> Result<EventKind, String> {
        EventKind::parse(s)
    }
    pub fn title(s: &str) -> Result<Text, String> {
        Text::parse(s, 1, TITLE_MAX)
    }
    pub fn description(s: &str) -> Result<Text, String> {
        Text::parse(s, 0, DESCRIPTION_MAX)
    }
    pub fn online_url(s: &str) -> Result<Url, String> {
        Url::parse(s)
    }
    pub fn timezone(s: &str) -> Result<TimeZone, String> {
        TimeZone::parse(s)
    }
    pub fn capacity(n: i64) -> Result<i32, String> {
        int_in(1, CAPACITY_MAX)(n)
    }
    pub fn max_exhibitors(n: i64) -> Result<i32, String> {
        int_in(1, MAX_EXHIBITORS_MAX)(n)
    }
    /// How long a waiting-list offer lasts: 1 hour to a week.
    pub fn offer_hours(n: i64) -> Result<i32, String> {
        int_in(1, 168)(n)
    }
    /// Why an event is cancelled: optional, up to [`REASON_MAX`] characters.
    pub fn reason(s: &str) -> Result<Text, String> {
        Text::parse(s, 0, REASON_MAX)
    }
}

/// A new event as a face received it, before its rules are checked.
pub struct EventInput {
    pub kind: String,
    pub title: String,
    pub description: String,
    pub campaign_id: Option<Uuid>,
    pub venue_id: Option<Uuid>,
    pub online_url: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub timezone: Option<String>,
    pub capacity: Option<i64>,
    pub registration_opens_at: Option<DateTime<Utc>>,
    pub registration_closes_at: Option<DateTime<Utc>>,
    pub school_id: Option<Uuid>,
    pub max_exhibitors: Option<i64>,
    pub offer_hours: Option<i64>,
}

impl NewEvent {
    /// Checks every field of `input`; `v` may already hold the problems of fields read before
    /// (the engagement's, or times a form could not read), and every problem is answered at once.
    pub fn parse(
        input: EventInput,
        engagement: EngagementPlan,
        mut v: crate::domain::Validation,
    ) -> Result<Self, crate::domain::ValidationErrors> {
        let kind = v.check("kind", rules::kind(&input.kind));
        let title = v.check("title", rules::title(&input.title));
        let description = v.check("description", rules::description(&input.description));
        let online_url = v.check_opt("online_url", input.online_url, |s| rules::online_url(&s));
        let timezone = v.check_opt("timezone", input.timezone, |s| rules::timezone(&s));
        let capacity = v.check_opt("capacity", input.capacity, rules::capacity);
        let max_exhibitors = v.check_opt("max_exhibitors", input.max_exhibitors, rules::max_exhibitors);
        let offer_hours = v.check_opt("offer_hours", input.offer_hours, rules::offer_hours);
        let schedule = match Schedule::new(input.starts_at, input.ends_at, input.registration_opens_at, input.registration_closes_at) {
            Ok(schedule) => Some(schedule),
            Err((field, message)) => {
                v.fail(field, message);
                None
            }
        };
        let (
            Some(kind),
            Some(title),
            Some(description),
            Some(online_url),
            Some(timezone),
            Some(capacity),
            Some(max_exhibitors),
            Some(offer_hours),
            Some(schedule),
        ) = (kind, title, description, online_url, timezone, capacity, max_exhibitors, offer_hours, schedule)
        else {
            return Err(v.into_errors());
        };
        v.finish()?;
        Ok(NewEvent {
            kind,
            title,
            description,
            campaign_id: input.campaign_id,
            venue_id: input.venue_id,
            online_url,
            schedule,
            timezone: timezone.unwrap_or(TimeZone::LONDON),
            capacity,
            school_id: input.school_id,
            max_exhibitors,
            offer_hours,
            engagement,
        })
    }
}

impl From<NewEvent> for EventChanges {
    /// Every field set as `new` has it: a form that shows the whole event and sends it back.
    fn from(new: NewEvent) -> Self {
        EventChanges {
            kind: Some(new.kind),
            title: Some(new.title),
            description: Some(new.description),
            campaign_id: Some(new.campaign_id),
            venue_id: Some(new.venue_id),
            online_url: Some(new.online_url),
            starts_at: Some(new.schedule.starts_at),
            ends_at: Some(new.schedule.ends_at),
            registration_opens_at: Some(new.schedule.registration_opens_at),
            registration_closes_at: Some(new.schedule.registration_closes_at),
            timezone: Some(new.timezone),
            capacity: Some(new.capacity),
            school_id: Some(new.school_id),
            max_exhibitors: Some(new.max_exhibitors),
            offer_hours: Some(new.offer_hours),
            engagement: new.engagement,
        }
    }
}

/// The fields a PATCH may change: the outer `None` leaves a field as it is, an inner `None`
/// clears an optional one. The schedule's instants are checked together after merging.
#[derive(Default)]
pub struct EventChanges {
    pub kind: Option<EventKind>,
    pub title: Option<Text>,
    pub description: Option<Text>,
    pub campaign_id: Option<Option<Uuid>>,
    pub venue_id: Option<Option<Uuid>>,
    pub online_url: Option<Option<Url>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub registration_opens_at: Option<Option<DateTime<Utc>>>,
    pub registration_closes_at: Option<Option<DateTime<Utc>>>,
    pub timezone: Option<TimeZone>,
    pub capacity: Option<Option<i32>>,
    pub school_id: Option<Option<Uuid>>,
    pub max_exhibitors: Option<Option<i32>>,
    /// Waiting-list offers: hours an offer lasts (1 to 168), or `None` to give places at once.
    pub offer_hours: Option<Option<i32>>,
    pub engagement: EngagementPlan,
}

/// What `GET /events` narrows by. The public sees published events only, whatever it asks.
#[derive(Default)]
pub struct EventFilter {
    pub kind: Option<EventKind>,
    pub campaign_id: Option<Uuid>,
    pub status: Option<EventStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub q: Option<String>,
    /// School engagements with this school only.
    pub school_id: Option<Uuid>,
}

/// The rules that tie an event's fields together, checked on create and after every change.
struct Shape<'a> {
    kind: EventKind,
    school_id: Option<Uuid>,
    max_exhibitors: Option<i32>,
    capacity: Option<i32>,
    venue: Option<&'a venue::Model>,
}

fn check_shape(shape: &Shape<'_>) -> ServiceResult<()> {
    if shape.kind == EventKind::SchoolEngagement && shape.school_id.is_none() {
        return Err(ServiceError::invalid("school_id", "is required for a school_engagement"));
    }
    if shape.kind != EventKind::SchoolEngagement && shape.school_id.is_some() {
        return Err(ServiceError::invalid("school_id", "is only for a school_engagement"));
    }
    if shape.kind != EventKind::RecruitmentFair && shape.max_exhibitors.is_some() {
        return Err(ServiceError::invalid("max_exhibitors", "is only for a recruitment_fair"));
    }
    if let (Some(capacity), Some(venue_capacity)) = (shape.capacity, shape.venue.and_then(|v| v.capacity))
        && capacity > venue_capacity
    {
        return Err(ServiceError::invalid("capacity", format!("must not exceed the venue's capacity of {venue_capacity}")));
    }
    Ok(())
}

async fn find_venue(txn: &DatabaseTransaction, id: Option<Uuid>) -> ServiceResult<Option<venue::Model>> {
    let Some(id) = id else { return Ok(None) };
    match venue::Entity::find_by_id(id).one(txn).await? {
        Some(v) => Ok(Some(v)),
        None => Err(ServiceError::invalid("venue_id", "no venue has this id")),
    }
}

async fn check_campaign(txn: &DatabaseTransaction, id: Option<Uuid>) -> ServiceResult<()> {
    if let Some(id) = id
        && campaign::Entity::find_by_id(id).one(txn).await?.is_none()
    {
        return Err(ServiceError::invalid("campaign_id", "no campaign has this id"));
    }
    Ok(())
}

/// A new draft with everything of event `id` but its bookings: the same kind, place, times and
/// limits, titled "… (copy)", for an organiser to change the date of. A school engagement is
/// planned afresh instead (its employers and outcome belong to one visit).
#[tracing::instrument(skip_all, fields(event_id = %id))]
pub async fn duplicate(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<Event> {
    super::policy::organiser(actor)?;
    let original = get(svc, Some(actor), id).await?;
    if original.kind == EventKind::SchoolEngagement {
        return Err(ServiceError::conflict("a school engagement cannot be copied: plan a new one with the school"));
    }
    let mut title: String = original.title.chars().take(TITLE_MAX - " (copy)".len()).collect();
    title.push_str(" (copy)");
    let input = EventInput {
        kind: original.kind.as_str().to_owned(),
        title,
        description: original.description,
        campaign_id: original.campaign_id,
        venue_id: original.venue_id,
        online_url: original.online_url,
        starts_at: original.starts_at,
        ends_at: original.ends_at,
        timezone: Some(original.timezone.name().to_owned()),
        capacity: original.capacity.map(i64::from),
        registration_opens_at: original.registration_opens_at,
        registration_closes_at: original.registration_closes_at,
        school_id: None,
        max_exhibitors: original.max_exhibitors.map(i64::from),
        offer_hours: original.offer_hours.map(i64::from),
    };
    let new = NewEvent::parse(input, EngagementPlan::default(), crate::domain::Validation::new())?;
    create(svc, actor, new).await
}

/// Creates an event as a draft with sequence 0.
#[tracing::instrument(skip_all, fields(kind = new.kind.as_str()))]
pub async fn create(svc: &Services, actor: &Actor, new: NewEvent) -> ServiceResult<Event> {
    super::policy::organiser(actor)?;
    let txn = svc.db.write.begin().await?;
    check_campaign(&txn, new.campaign_id).await?;
    let venue = find_venue(&txn, new.venue_id).await?;
    check_shape(&Shape {
        kind: new.kind,
        school_id: new.school_id,
        max_exhibitors: new.max_exhibitors,
        capacity: new.capacity,
        venue: venue.as_ref(),
    })?;
    let now = svc.clock.now();
    let id = new_id();
    let model = event::ActiveModel {
        id: Set(id),
        kind: Set(new.kind),
        title: Set(new.title.into_string()),
        description: Set(new.description.into_string()),
        campaign_id: Set(new.campaign_id),
        venue_id: Set(new.venue_id),
        online_url: Set(new.online_url.map(|u| u.as_str().to_owned())),
        starts_at: Set(new.schedule.starts_at),
        ends_at: Set(new.schedule.ends_at),
        timezone: Set(new.timezone),
        capacity: Set(new.capacity),
        registration_opens_at: Set(new.schedule.registration_opens_at),
        registration_closes_at: Set(new.schedule.registration_closes_at),
        status: Set(EventStatus::Draft),
        sequence: Set(0),
        school_id: Set(new.school_id),
        max_exhibitors: Set(new.max_exhibitors),
        cancel_reason: Set(None),
        confirmed_count: Set(0),
        waitlisted_count: Set(0),
        waitlist_seq: Set(0),
        reminder_queued_at: Set(None),
        feedback_queued_at: Set(None),
        offer_hours: Set(new.offer_hours),
        employer_ids: Set(None),
        activity: Set(None),
        year_groups: Set(None),
        expected_pupils: Set(None),
        pupils_reached: Set(None),
        purpose_briefed: Set(None),
        learning_outcomes: Set(None),
        two_way_interaction: Set(None),
        reflection: Set(None),
        supervised: Set(None),
        risk_assessment_ref: Set(None),
        outcome_recorded_at: Set(None),
        outcome_notes: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    // The event row first: the engagement's employer rows refer to it.
    let event = model.insert(&txn).await?;
    let mut model: event::ActiveModel = event.clone().into();
    let target =
        Target { event_id: id, kind: new.kind, school_id: new.school_id, school_changed: true, employer_ids: Vec::new(), creating: true };
    engagements::apply(&txn, &mut model, target, new.engagement).await?;
    let event = if model.is_changed() { model.update(&txn).await? } else { event };
    commit_event_change(svc, txn).await?;
    Ok(event.into())
}

/// Whether `viewer` (`None`: the public) may see `event`. Organisers see everything. Everyone
/// else sees events once published (and when cancelled or completed, so a link to a cancelled
/// fair says so), except school engagements, which only the school and the employers taking
/// part see: they are for the school's own pupils.
/// Commits a transaction that changed an event, and tells the public feed so: the one place an
/// event's change reaches the feed cache (changes by another process sharing the database are
/// found by the feed's stamp instead).
pub(super) async fn commit_event_change(svc: &Services, txn: sea_orm::DatabaseTransaction) -> ServiceResult<()> {
    txn.commit().await?;
    svc.feed_cache.invalidate();
    Ok(())
}

pub fn may_see(viewer: Option<&Actor>, event: &Event) -> bool {
    match viewer {
        Some(actor) if actor.is_organiser() => true,
        _ if event.status == EventStatus::Draft => false,
        _ if event.kind != EventKind::SchoolEngagement => true,
        Some(actor) => match actor.role {
            Role::School => actor.school_id.is_some() && actor.school_id == event.school_id,
            Role::Employer => actor.employer_id.is_some_and(|id| event.employer_ids().contains(&id)),
            Role::Admin | Role::Organiser => true,
        },
        None => false,
    }
}

/// The school engagements `viewer` may see, as a condition on events (the rest of
/// [`may_see`] is the list's status filter).
pub(crate) fn engagements_visible_to(viewer: Option<&Actor>) -> Condition {
    let not_engagement = event::Column::Kind.ne(EventKind::SchoolEngagement.as_str());
    match viewer {
        Some(actor) if actor.is_organiser() => Condition::all(),
        Some(Actor { role: Role::School, school_id: Some(school_id), .. }) => {
            Condition::any().add(not_engagement).add(event::Column::SchoolId.eq(*school_id))
        }
        Some(Actor { role: Role::Employer, employer_id: Some(employer_id), .. }) => {
            // The employers taking part are a JSON array of UUIDs: a UUID's text cannot occur
            // inside another's.
            Condition::any().add(not_engagement).add(event::Column::EmployerIds.contains(employer_id.to_string()))
        }
        _ => Condition::all().add(not_engagement),
    }
}

/// One event, when `viewer` may see it (see [`may_see`]); otherwise not found.
pub async fn get(svc: &Services, viewer: Option<&Actor>, id: Uuid) -> ServiceResult<Event> {
    let event: Event = event::Entity::find_by_id(id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?.into();
    if !may_see(viewer, &event) {
        return Err(ServiceError::NotFound);
    }
    Ok(shown_to(viewer, event))
}

/// What `viewer` may read of an event it may see: the school's risk-assessment reference is for
/// organisers (who plan the engagement) only, and the outcome's notes for organisers and the
/// school.
fn shown_to(viewer: Option<&Actor>, mut event: Event) -> Event {
    if let Some(engagement) = event.engagement.as_mut() {
        if !viewer.is_some_and(Actor::is_organiser) {
            engagement.risk_assessment_ref = None;
        }
        // The school's notes on how it went are for the school and the organisers.
        if !viewer.is_some_and(|a| a.is_organiser() || a.role == Role::School)
            && let Some(outcome) = engagement.outcome.as_mut()
        {
            outcome.notes = None;
        }
    }
    event
}

/// The events `viewer` may see that match `filter`; all but organisers see published ones only.
pub async fn list(svc: &Services, viewer: Option<&Actor>, filter: EventFilter, page: PageRequest) -> ServiceResult<Page<Event>> {
    let mut cond = Condition::all().add(engagements_visible_to(viewer));
    if !viewer.is_some_and(Actor::is_organiser) {
        cond = cond.add(event::Column::Status.eq(EventStatus::Published.as_str()));
    }
    if let Some(status) = filter.status {
        cond = cond.add(event::Column::Status.eq(status.as_str()));
    }
    if let Some(kind) = filter.kind {
        cond = cond.add(event::Column::Kind.eq(kind.as_str()));
    }
    if let Some(campaign_id) = filter.campaign_id {
        cond = cond.add(event::Column::CampaignId.eq(campaign_id));
    }
    if let Some(school_id) = filter.school_id {
        cond = cond.add(event::Column::SchoolId.eq(school_id));
    }
    // An event is in the range when any part of it is: it ends after `from` and starts before `to`.
    if let Some(from) = filter.from {
        cond = cond.add(event::Column::EndsAt.gt(from));
    }
    if let Some(to) = filter.to {
        cond = cond.add(event::Column::StartsAt.lt(to));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = crate::store::like_containing(&q.to_lowercase());
        cond = cond.add(
            Condition::any()
                .add(Expr::expr(Func::lower(Expr::col(event::Column::Title))).like(LikeExpr::new(pattern.clone()).escape('\\')))
                .add(Expr::expr(Func::lower(Expr::col(event::Column::Description))).like(LikeExpr::new(pattern).escape('\\'))),
        );
    }
    let query = event::Entity::find().filter(cond);
    let total = query.clone().count(&svc.db.read).await?;
    let items = query
        .order_by_asc(event::Column::StartsAt)
        .order_by_asc(event::Column::Id)
        .limit(page.limit)
        .offset(page.offset)
        .all(&svc.db.read)
        .await?;
    let items = items.into_iter().map(|e| shown_to(viewer, e.into())).collect();
    Ok(Page { items, total, limit: page.limit, offset: page.offset })
}

/// Loads an event for a change, locking its row on PostgreSQL so concurrent changes to one event
/// (and their sequence numbers) happen one after the other. SQLite needs no lock: all writes
/// share one connection.
async fn load_for_update(txn: &DatabaseTransaction, id: Uuid) -> ServiceResult<event::Model> {
    event::Entity::find_by_id(id).lock_exclusive().one(txn).await?.ok_or(ServiceError::NotFound)
}

/// Applies a PATCH. A published event whose time, place or title changes gets a raised sequence,
/// so calendars that hold it take the change.
#[tracing::instrument(skip_all, fields(event_id = %id))]
pub async fn update(svc: &Services, actor: &Actor, id: Uuid, changes: EventChanges) -> ServiceResult<Event> {
    super::policy::organiser(actor)?;
    let txn = svc.db.write.begin().await?;
    let current = load_for_update(&txn, id).await?;
    let status = current.status;
    if matches!(status, EventStatus::Cancelled | EventStatus::Completed) {
        return Err(ServiceError::conflict(format!("a {} event cannot be changed", status.as_str())));
    }
    let current_kind = current.kind;
    if let Some(kind) = changes.kind
        && kind != current_kind
        && status != EventStatus::Draft
    {
        return Err(ServiceError::conflict("the kind of a published event cannot be changed"));
    }

    let starts_at = changes.starts_at.unwrap_or(current.starts_at);
    let ends_at = changes.ends_at.unwrap_or(current.ends_at);
    let opens = changes.registration_opens_at.unwrap_or(current.registration_opens_at);
    let closes = changes.registration_closes_at.unwrap_or(current.registration_closes_at);
    let schedule = Schedule::new(starts_at, ends_at, opens, closes).map_err(|(field, message)| ServiceError::invalid(field, message))?;

    let campaign_id = changes.campaign_id.unwrap_or(current.campaign_id);
    if changes.campaign_id.is_some() {
        check_campaign(&txn, campaign_id).await?;
    }
    let venue_id = changes.venue_id.unwrap_or(current.venue_id);
    let venue = find_venue(&txn, venue_id).await?;
    let kind = changes.kind.unwrap_or(current_kind);
    let school_id = changes.school_id.unwrap_or(current.school_id);
    let max_exhibitors = changes.max_exhibitors.unwrap_or(current.max_exhibitors);
    let capacity = changes.capacity.unwrap_or(current.capacity);
    check_shape(&Shape { kind, school_id, max_exhibitors, capacity, venue: venue.as_ref() })?;
    if let Some(capacity) = capacity
        && capacity < current.confirmed_count
    {
        return Err(ServiceError::invalid("capacity", format!("{} places are already confirmed", current.confirmed_count)));
    }
    let capacity_grew = match (current.capacity, capacity) {
        (Some(before), Some(after)) => after > before,
        (Some(_), None) => true,
        _ => false,
    };

    let title = changes.title.map_or(current.title.clone(), Text::into_string);
    let online_url = changes.online_url.map_or(current.online_url.clone(), |u| u.map(|u| u.as_str().to_owned()));
    let timezone = changes.timezone.unwrap_or(current.timezone);
    let calendar_changed = title != current.title
        || schedule.starts_at != current.starts_at
        || schedule.ends_at != current.ends_at
        || timezone != current.timezone
        || venue_id != current.venue_id
        || online_url != current.online_url;
    let sequence_before = current.sequence;
    let sequence = if calendar_changed && status == EventStatus::Published { current.sequence + 1 } else { current.sequence };
    let target = Target {
        event_id: id,
        kind,
        school_id,
        school_changed: school_id != current.school_id,
        employer_ids: current.employer_ids.as_ref().map(|ids| ids.0.clone()).unwrap_or_default(),
        creating: kind == EventKind::SchoolEngagement && current_kind != EventKind::SchoolEngagement,
    };

    let mut model: event::ActiveModel = current.into();
    engagements::apply(&txn, &mut model, target, changes.engagement).await?;
    model.kind = Set(kind);
    model.title = Set(title);
    if let Some(description) = changes.description {
        model.description = Set(description.into_string());
    }
    model.campaign_id = Set(campaign_id);
    model.venue_id = Set(venue_id);
    model.online_url = Set(online_url);
    model.starts_at = Set(schedule.starts_at);
    model.ends_at = Set(schedule.ends_at);
    model.registration_opens_at = Set(schedule.registration_opens_at);
    model.registration_closes_at = Set(schedule.registration_closes_at);
    model.timezone = Set(timezone);
    model.capacity = Set(capacity);
    model.school_id = Set(school_id);
    model.max_exhibitors = Set(max_exhibitors);
    if let Some(offer_hours) = changes.offer_hours {
        model.offer_hours = Set(offer_hours);
    }
    model.sequence = Set(sequence);
    let now = svc.clock.now();
    model.updated_at = Set(now);
    let mut updated = model.update(&txn).await?;
    // Everyone with a place gets the change for their calendar. Told before promotion, so the
    // newly promoted get one message (their promotion, which carries the new details).
    if updated.sequence > sequence_before {
        let confirmed = [RegistrationStatus::Confirmed];
        outbox::queue_to_registrants(&txn, svc.settings.public_url(), now, &updated, &confirmed, MessageKind::EventUpdated).await?;
    }
    // More room: the waiting list moves up, in this same transaction.
    if capacity_grew && status == EventStatus::Published && updated.waitlisted_count > 0 {
        super::registrations::promote(svc, &txn, &mut updated, now).await?;
        super::registrar::store_counters(&txn, &updated).await?;
    }
    commit_event_change(svc, txn).await?;
    svc.mail_wake.notify_one();
    Ok(updated.into())
}

/// Makes a draft public.
#[tracing::instrument(skip_all, fields(event_id = %id))]
pub async fn publish(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<Event> {
    super::policy::organiser(actor)?;
    let txn = svc.db.write.begin().await?;
    let current = load_for_update(&txn, id).await?;
    let status = current.status;
    if status != EventStatus::Draft {
        return Err(ServiceError::conflict(format!("only a draft can be published; this event is {}", status.as_str())));
    }
    if current.ends_at <= svc.clock.now() {
        return Err(ServiceError::conflict("the event is over: change its dates before publishing it"));
    }
    let mut model: event::ActiveModel = current.into();
    model.status = Set(EventStatus::Published);
    model.updated_at = Set(svc.clock.now());
    let updated = model.update(&txn).await?;
    commit_event_change(svc, txn).await?;
    Ok(updated.into())
}

/// Cancels a published event and raises its sequence, so calendars drop it.
#[tracing::instrument(skip_all, fields(event_id = %id))]
pub async fn cancel(svc: &Services, actor: &Actor, id: Uuid, reason: Option<Text>) -> ServiceResult<Event> {
    super::policy::organiser(actor)?;
    let txn = svc.db.write.begin().await?;
    let current = load_for_update(&txn, id).await?;
    let status = current.status;
    match status {
        EventStatus::Published => {}
        EventStatus::Draft => return Err(ServiceError::conflict("a draft is not cancelled but deleted")),
        EventStatus::Cancelled | EventStatus::Completed => {
            return Err(ServiceError::conflict(format!("the event is already {}", status.as_str())));
        }
    }
    let sequence = current.sequence + 1;
    let mut model: event::ActiveModel = current.into();
    model.status = Set(EventStatus::Cancelled);
    model.sequence = Set(sequence);
    model.cancel_reason = Set(reason.map(Text::into_string));
    let now = svc.clock.now();
    model.updated_at = Set(now);
    let updated = model.update(&txn).await?;
    let holders = [RegistrationStatus::Confirmed, RegistrationStatus::Offered, RegistrationStatus::Waitlisted];
    outbox::queue_to_registrants(&txn, svc.settings.public_url(), now, &updated, &holders, MessageKind::EventCancelled).await?;
    // Its interviews go with it, and both sides are told.
    let at_fair = super::slots::at_fair(&txn, id).await?;
    super::slots::release_where(svc, &txn, at_fair).await?;
    commit_event_change(svc, txn).await?;
    svc.mail_wake.notify_one();
    Ok(updated.into())
}

/// Deletes a draft; anything once published stays on record.
#[tracing::instrument(skip_all, fields(event_id = %id))]
pub async fn delete(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    super::policy::organiser(actor)?;
    let txn = svc.db.write.begin().await?;
    let current = load_for_update(&txn, id).await?;
    let status = current.status;
    if status != EventStatus::Draft {
        return Err(ServiceError::conflict(format!("only drafts can be deleted; this event is {}", status.as_str())));
    }
    event::Entity::delete_by_id(id).exec(&txn).await?;
    commit_event_change(svc, txn).await?;
    Ok(())
}

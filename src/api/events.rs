//! `/events`: organisers schedule, publish and cancel; the public reads what is published.

use chrono::{DateTime, FixedOffset, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::campaigns::DeletedAnswer;
use super::common::{ApiTags, list_of, page, patch_optional, patch_required};
use super::engagements::{EngagementInput, EngagementView};
use super::json::JsonBody;
use super::problem::can::*;
use super::problem::{ApiError, Refused};
use super::security::{BearerAuth, OptionalAuth};
use crate::domain::{EventKind, EventStatus, Validation, ValidationErrors};
use crate::service::Services;
use crate::service::events::{self, Event, EventChanges, EventFilter, EventInput, NewEvent, TITLE_MAX, rules};

pub struct EventsApi {
    pub svc: Services,
}

/// An event.
#[derive(Object)]
pub struct EventView {
    pub id: Uuid,
    /// `recruitment_fair`, `campaign_event`, `school_engagement`, `training` or `information_session`.
    pub kind: String,
    pub title: String,
    pub description: String,
    pub campaign_id: Option<Uuid>,
    pub venue_id: Option<Uuid>,
    pub online_url: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The IANA time zone the event is shown in.
    pub timezone: String,
    pub capacity: Option<i32>,
    pub registration_opens_at: Option<DateTime<Utc>>,
    pub registration_closes_at: Option<DateTime<Utc>>,
    /// `draft`, `published`, `cancelled` or `completed`.
    pub status: String,
    /// Raised by every change calendars must take (time, place, title, cancellation).
    pub sequence: i32,
    pub school_id: Option<Uuid>,
    pub max_exhibitors: Option<i32>,
    /// Waiting-list offers last this many hours; absent, freed places are given at once.
    pub offer_hours: Option<i32>,
    pub cancel_reason: Option<String>,
    #[oai(flatten)]
    pub engagement: EngagementView,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Event> for EventView {
    fn from(e: Event) -> Self {
        Self {
            engagement: EngagementView::from(&e),
            id: e.id,
            kind: e.kind.as_str().to_owned(),
            title: e.title,
            description: e.description,
            campaign_id: e.campaign_id,
            venue_id: e.venue_id,
            online_url: e.online_url,
            starts_at: e.starts_at,
            ends_at: e.ends_at,
            timezone: e.timezone.name().to_owned(),
            capacity: e.capacity,
            registration_opens_at: e.registration_opens_at,
            registration_closes_at: e.registration_closes_at,
            status: e.status.as_str().to_owned(),
            sequence: e.sequence,
            school_id: e.school_id,
            max_exhibitors: e.max_exhibitors,
            offer_hours: e.offer_hours,
            cancel_reason: e.cancel_reason,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

list_of!(EventList, EventView);

/// A new event; it starts as a draft.
#[derive(Object, serde::Deserialize)]
pub struct EventCreate {
    /// `recruitment_fair`, `campaign_event`, `school_engagement`, `training` or `information_session`.
    pub kind: String,
    pub title: String,
    #[serde(default)]
    #[oai(default)]
    pub description: String,
    pub campaign_id: Option<Uuid>,
    pub venue_id: Option<Uuid>,
    pub online_url: Option<String>,
    /// RFC 3339 with an offset.
    pub starts_at: DateTime<FixedOffset>,
    /// After `starts_at`.
    pub ends_at: DateTime<FixedOffset>,
    /// IANA time zone; `Europe/London` when left out.
    pub timezone: Option<String>,
    pub capacity: Option<i64>,
    pub registration_opens_at: Option<DateTime<FixedOffset>>,
    pub registration_closes_at: Option<DateTime<FixedOffset>>,
    /// Required for a `school_engagement`, and only for one.
    pub school_id: Option<Uuid>,
    /// Only for a `recruitment_fair`.
    pub max_exhibitors: Option<i64>,
    /// Waiting-list offers (1 to 168 hours): a freed place is offered to the first person
    /// waiting for this long before it passes on; left out, freed places are given at once.
    pub offer_hours: Option<i64>,
    #[oai(flatten)]
    #[serde(flatten)]
    pub engagement: EngagementInput,
}

/// Changes to an event; fields left out stay as they are, null clears an optional one.
#[derive(Object, serde::Deserialize)]
pub struct EventPatch {
    #[serde(default)]
    pub kind: MaybeUndefined<String>,
    #[serde(default)]
    pub title: MaybeUndefined<String>,
    #[serde(default)]
    pub description: MaybeUndefined<String>,
    #[serde(default)]
    pub campaign_id: MaybeUndefined<Uuid>,
    #[serde(default)]
    pub venue_id: MaybeUndefined<Uuid>,
    #[serde(default)]
    pub online_url: MaybeUndefined<String>,
    #[serde(default)]
    pub starts_at: MaybeUndefined<DateTime<FixedOffset>>,
    #[serde(default)]
    pub ends_at: MaybeUndefined<DateTime<FixedOffset>>,
    #[serde(default)]
    pub timezone: MaybeUndefined<String>,
    #[serde(default)]
    pub capacity: MaybeUndefined<i64>,
    #[serde(default)]
    pub registration_opens_at: MaybeUndefined<DateTime<FixedOffset>>,
    #[serde(default)]
    pub registration_closes_at: MaybeUndefined<DateTime<FixedOffset>>,
    #[serde(default)]
    pub school_id: MaybeUndefined<Uuid>,
    #[serde(default)]
    pub max_exhibitors: MaybeUndefined<i64>,
    /// Waiting-list offers: a freed place is offered to the first person waiting for this many
    /// hours (1 to 168) before it passes on; `null` gives places at once. Within this many
    /// hours of the start, places are given at once anyway.
    #[serde(default)]
    pub offer_hours: MaybeUndefined<i64>,
    #[oai(flatten)]
    #[serde(flatten)]
    pub engagement: EngagementInput,
}

/// Why an event is cancelled; told to everyone who holds a place.
#[derive(Object, serde::Deserialize)]
pub struct CancelRequest {
    #[serde(default)]
    pub reason: Option<String>,
}

fn utc(t: DateTime<FixedOffset>) -> Result<DateTime<Utc>, String> {
    Ok(t.with_timezone(&Utc))
}

/// An instant in a query string. A `+` of an offset that was not percent-encoded arrives as a
/// space (form encoding), so a space there is read as the `+` it was.
fn instant_param(s: &str) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(&s.trim().replace(' ', "+"))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| String::from("must be an RFC 3339 date and time with an offset, like 2027-01-05T10:00:00Z"))?;
    crate::domain::check_year(chrono::Datelike::year(&t))?;
    Ok(t)
}

impl TryFrom<EventCreate> for NewEvent {
    type Error = ValidationErrors;

    fn try_from(input: EventCreate) -> Result<Self, Self::Error> {
        let mut v = Validation::new();
        let engagement = input.engagement.parse(&mut v);
        let fields = EventInput {
            kind: input.kind,
            title: input.title,
            description: input.description,
            campaign_id: input.campaign_id,
            venue_id: input.venue_id,
            online_url: input.online_url,
            starts_at: input.starts_at.with_timezone(&Utc),
            ends_at: input.ends_at.with_timezone(&Utc),
            timezone: input.timezone,
            capacity: input.capacity,
            registration_opens_at: input.registration_opens_at.map(|t| t.with_timezone(&Utc)),
            registration_closes_at: input.registration_closes_at.map(|t| t.with_timezone(&Utc)),
            school_id: input.school_id,
            max_exhibitors: input.max_exhibitors,
            offer_hours: input.offer_hours,
        };
        NewEvent::parse(fields, engagement, v)
    }
}

impl TryFrom<EventPatch> for EventChanges {
    type Error = ValidationErrors;

    fn try_from(input: EventPatch) -> Result<Self, Self::Error> {
        let mut v = Validation::new();
        let engagement = input.engagement.parse(&mut v);
        let changes = EventChanges {
            engagement,
            kind: patch_required(&mut v, "kind", input.kind, |s| rules::kind(&s)),
            title: patch_required(&mut v, "title", input.title, |s| rules::title(&s)),
            description: patch_required(&mut v, "description", input.description, |s| rules::description(&s)),
            campaign_id: patch_optional(&mut v, "campaign_id", input.campaign_id, Ok),
            venue_id: patch_optional(&mut v, "venue_id", input.venue_id, Ok),
            online_url: patch_optional(&mut v, "online_url", input.online_url, |s| rules::online_url(&s)),
            starts_at: patch_required(&mut v, "starts_at", input.starts_at, utc),
            ends_at: patch_required(&mut v, "ends_at", input.ends_at, utc),
            registration_opens_at: patch_optional(&mut v, "registration_opens_at", input.registration_opens_at, utc),
            registration_closes_at: patch_optional(&mut v, "registration_closes_at", input.registration_closes_at, utc),
            timezone: patch_required(&mut v, "timezone", input.timezone, |s| rules::timezone(&s)),
            capacity: patch_optional(&mut v, "capacity", input.capacity, rules::capacity),
            school_id: patch_optional(&mut v, "school_id", input.school_id, Ok),
            max_exhibitors: patch_optional(&mut v, "max_exhibitors", input.max_exhibitors, rules::max_exhibitors),
            offer_hours: patch_optional(&mut v, "offer_hours", input.offer_hours, rules::offer_hours),
        };
        v.finish()?;
        Ok(changes)
    }
}

#[derive(ApiResponse)]
pub enum EventAnswer {
    /// The event.
    #[oai(status = 200)]
    Ok(Json<EventView>),
}

#[derive(ApiResponse)]
pub enum EventCreated {
    /// The event, created as a draft.
    #[oai(status = 201)]
    Created(Json<EventView>),
}

#[derive(ApiResponse)]
pub enum EventListAnswer {
    /// One page of events, soonest first.
    #[oai(status = 200)]
    Ok(Json<EventList>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Events")]
impl EventsApi {
    /// Create an event as a draft (organisers).
    #[oai(path = "/events", method = "post", operation_id = "create_event")]
    async fn create(
        &self,
        auth: BearerAuth,
        body: JsonBody<EventCreate>,
    ) -> Result<EventCreated, Refused<{ SIGNED_IN | INPUT | CONFLICT }>> {
        let event = events::create(&self.svc, &auth.0.actor, body.0.try_into()?).await?;
        Ok(EventCreated::Created(Json(event.into())))
    }

    /// List events, soonest first. The public sees published events only; organisers see all
    /// and may filter by `status`. `from`/`to` keep events that overlap that range; `q` searches
    /// titles and descriptions.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/events", method = "get", operation_id = "list_events")]
    async fn list(
        &self,
        auth: OptionalAuth,
        kind: Query<Option<String>>,
        campaign: Query<Option<Uuid>>,
        status: Query<Option<String>>,
        /// RFC 3339 with an offset; a `+` left unencoded in the URL (read as a space) is accepted.
        from: Query<Option<String>>,
        /// RFC 3339 with an offset, like `from`.
        to: Query<Option<String>>,
        q: Query<Option<String>>,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> Result<EventListAnswer, Refused<{ INPUT }>> {
        let mut v = Validation::new();
        let kind = v.check_opt("kind", kind.0, |s| EventKind::parse(&s));
        let status = v.check_opt("status", status.0, |s| EventStatus::parse(&s));
        let from = v.check_opt("from", from.0, |s| instant_param(&s)).flatten();
        let to = v.check_opt("to", to.0, |s| instant_param(&s)).flatten();
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            v.fail("to", "must not be before from");
        }
        if q.0.as_ref().is_some_and(|q| q.chars().count() > TITLE_MAX) {
            v.fail("q", format!("must be at most {TITLE_MAX} characters"));
        }
        let page = page(limit.0, offset.0)?;
        let (Some(kind), Some(status)) = (kind, status) else {
            return Err(v.into_errors().into());
        };
        v.finish()?;
        let filter = EventFilter { kind, campaign_id: campaign.0, status, from, to, q: q.0, school_id: None };
        let list = events::list(&self.svc, auth.actor(), filter, page).await?;
        Ok(EventListAnswer::Ok(Json(list.into())))
    }

    /// One event. Drafts are visible to organisers only.
    #[oai(path = "/events/:id", method = "get", operation_id = "get_event")]
    async fn get(&self, auth: OptionalAuth, id: Path<Uuid>) -> Result<EventAnswer, Refused<{ BAD_REQUEST | NOT_FOUND }>> {
        let event = events::get(&self.svc, auth.actor(), id.0).await?;
        Ok(EventAnswer::Ok(Json(event.into())))
    }

    /// Change an event (organisers). Changing the time, place or title of a published event
    /// raises its sequence.
    #[oai(path = "/events/:id", method = "patch", operation_id = "update_event")]
    async fn update(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<EventPatch>,
    ) -> Result<EventAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let event = events::update(&self.svc, &auth.0.actor, id.0, body.0.try_into()?).await?;
        Ok(EventAnswer::Ok(Json(event.into())))
    }

    /// Delete a draft (organisers); anything else is a 409.
    #[oai(path = "/events/:id", method = "delete", operation_id = "delete_event")]
    async fn delete(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<DeletedAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        events::delete(&self.svc, &auth.0.actor, id.0).await?;
        Ok(DeletedAnswer::Deleted)
    }

    /// Publish a draft (organisers).
    #[oai(path = "/events/:id/publish", method = "post", operation_id = "publish_event")]
    async fn publish(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<EventAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        Ok(EventAnswer::Ok(Json(events::publish(&self.svc, &auth.0.actor, id.0).await?.into())))
    }

    /// Cancel a published event (organisers); its sequence is raised.
    #[oai(path = "/events/:id/cancel", method = "post", operation_id = "cancel_event")]
    async fn cancel(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<CancelRequest>,
    ) -> Result<EventAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let reason = match body.0.reason {
            Some(r) => Some(rules::reason(&r).map_err(|m| ApiError::invalid_field("reason", &m))?),
            None => None,
        };
        Ok(EventAnswer::Ok(Json(events::cancel(&self.svc, &auth.0.actor, id.0, reason).await?.into())))
    }
}

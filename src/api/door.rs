//! The door of an event: check-ins by ticket code, undo, walk-ins (organisers, or a door link
//! of that event), and the door links themselves (organisers).

use chrono::{DateTime, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::common::ApiTags;
use super::json::JsonBody;
use super::problem::Refused;
use super::problem::can::*;
use super::security::{BearerAuth, DoorAuth};
use crate::service::Services;
use crate::service::door::{self, CheckedIn, DoorLink, NewDoorLink, Ticket, WalkInInput};

pub struct DoorApi {
    pub svc: Services,
}

/// A registration as the door sees it: who, and whether they are in. No email or phone: a
/// door link cannot read the list of people.
#[derive(Object)]
pub struct DoorRegistration {
    pub id: Uuid,
    pub name: String,
    /// `attended` once checked in; `confirmed` after an undo.
    pub status: String,
    pub ticket_code: String,
    pub checked_in_at: Option<DateTime<Utc>>,
    /// The door that checked them in: a door link's label or an organiser's name.
    pub checked_in_by: Option<String>,
}

/// The answer at the door, with the event's figures after it.
#[derive(Object)]
pub struct CheckInView {
    pub registration: DoorRegistration,
    pub checked_in_at: Option<DateTime<Utc>>,
    /// Checked in before this request: `checked_in_at` and `registration.checked_in_by` say
    /// when and where.
    pub already: bool,
    /// Checked in so far.
    pub arrived: u64,
    /// Holding a place (checked in or not).
    pub expected: u64,
}

impl From<CheckedIn> for CheckInView {
    fn from(c: CheckedIn) -> Self {
        let r = c.registration;
        Self {
            checked_in_at: r.checked_in_at,
            already: c.already,
            arrived: c.counts.arrived,
            expected: c.counts.expected,
            registration: DoorRegistration {
                id: r.id,
                name: c.name,
                status: r.status.as_str().to_owned(),
                ticket_code: r.ticket_code.to_string(),
                checked_in_at: r.checked_in_at,
                checked_in_by: r.checked_in_by,
            },
        }
    }
}

/// A ticket's code, as scanned or typed: case, spaces and hyphens do not matter.
#[derive(Object, serde::Deserialize)]
pub struct CheckInRequest {
    pub code: String,
}

/// Someone at the door without a place.
#[derive(Object, serde::Deserialize)]
pub struct WalkInRequest {
    pub name: String,
    /// For the confirmation mail; a walk-in need not give one.
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    #[oai(default)]
    pub consent_marketing: bool,
}

/// Which door a link is for.
#[derive(Object, serde::Deserialize)]
pub struct DoorLinkRequest {
    /// Up to 60 characters, like `Front door`.
    pub label: String,
}

/// A door link. Its `url` and `token` are shown once, when it is made.
#[derive(Object)]
pub struct DoorLinkView {
    pub id: Uuid,
    pub event_id: Uuid,
    pub label: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// `{public_url}/door/{token}`: only in the answer that made it.
    pub url: Option<String>,
    /// Also accepted as `Authorization: Bearer` by this event's check-in, undo and walk-ins.
    pub token: Option<String>,
}

impl From<DoorLink> for DoorLinkView {
    fn from(l: DoorLink) -> Self {
        Self { id: l.id, event_id: l.event_id, label: l.label, expires_at: l.expires_at, created_at: l.created_at, url: None, token: None }
    }
}

impl From<NewDoorLink> for DoorLinkView {
    fn from(n: NewDoorLink) -> Self {
        Self { url: Some(n.url), token: Some(n.token), ..n.link.into() }
    }
}

#[derive(ApiResponse)]
pub enum CheckInAnswer {
    /// Checked in (or already).
    #[oai(status = 200)]
    Ok(Json<CheckInView>),
}

#[derive(ApiResponse)]
pub enum WalkInAnswer {
    /// Registered and checked in.
    #[oai(status = 201)]
    Created(Json<CheckInView>),
}

#[derive(ApiResponse)]
pub enum DoorLinkCreated {
    /// The link, with its secret: shown this once.
    #[oai(status = 201)]
    Created(Json<DoorLinkView>),
}

#[derive(ApiResponse)]
pub enum DoorLinkList {
    /// The event's door links, newest first, without their secrets.
    #[oai(status = 200)]
    Ok(Json<Vec<DoorLinkView>>),
}

#[derive(ApiResponse)]
pub enum Deleted {
    /// Gone.
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Registrations")]
impl DoorApi {
    /// Check a ticket in by its code (organisers, or a door link of this event). Unknown code
    /// 404; waitlisted or cancelled 409 naming the status; outside the check-in window 409.
    #[oai(path = "/events/:id/check-ins", method = "post", operation_id = "check_in_ticket")]
    async fn check_in(
        &self,
        auth: DoorAuth,
        id: Path<Uuid>,
        body: JsonBody<CheckInRequest>,
    ) -> Result<CheckInAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let done = door::check_in(&self.svc, &auth.0, id.0, Ticket::Code(body.0.code)).await?;
        Ok(CheckInAnswer::Ok(Json(done.into())))
    }

    /// Undo a check-in made by mistake (organisers, or a door link of this event).
    #[oai(path = "/events/:id/check-ins/:rid", method = "delete", operation_id = "undo_check_in")]
    async fn undo(
        &self,
        auth: DoorAuth,
        id: Path<Uuid>,
        rid: Path<Uuid>,
    ) -> Result<CheckInAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        Ok(CheckInAnswer::Ok(Json(door::undo(&self.svc, &auth.0, id.0, rid.0).await?.into())))
    }

    /// Register someone at the door into a free place and check them in at once (organisers,
    /// or a door link of this event); 409 when the event is full.
    #[oai(path = "/events/:id/walk-ins", method = "post", operation_id = "walk_in")]
    async fn walk_in(
        &self,
        auth: DoorAuth,
        id: Path<Uuid>,
        body: JsonBody<WalkInRequest>,
    ) -> Result<WalkInAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let b = body.0;
        let input = WalkInInput { name: b.name, email: b.email, phone: b.phone, consent_marketing: b.consent_marketing };
        Ok(WalkInAnswer::Created(Json(door::walk_in(&self.svc, &auth.0, id.0, input).await?.into())))
    }

    /// Make a door link for volunteers without accounts (organisers). It works for this
    /// event's check-in, undo and walk-ins until the check-in window closes or it is deleted.
    #[oai(path = "/events/:id/door-links", method = "post", operation_id = "create_door_link")]
    async fn create_link(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<DoorLinkRequest>,
    ) -> Result<DoorLinkCreated, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        Ok(DoorLinkCreated::Created(Json(door::create_link(&self.svc, &auth.0.actor, id.0, &body.0.label).await?.into())))
    }

    /// The event's door links (organisers), without their secrets.
    #[oai(path = "/events/:id/door-links", method = "get", operation_id = "list_door_links")]
    async fn links(&self, auth: BearerAuth, id: Path<Uuid>) -> Result<DoorLinkList, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND }>> {
        let links = door::links(&self.svc, &auth.0.actor, id.0).await?;
        Ok(DoorLinkList::Ok(Json(links.into_iter().map(DoorLinkView::from).collect())))
    }

    /// End a door link at once (organisers).
    #[oai(path = "/events/:id/door-links/:lid", method = "delete", operation_id = "delete_door_link")]
    async fn delete_link(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        lid: Path<Uuid>,
    ) -> Result<Deleted, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND }>> {
        door::delete_link(&self.svc, &auth.0.actor, id.0, lid.0).await?;
        Ok(Deleted::NoContent)
    }
}

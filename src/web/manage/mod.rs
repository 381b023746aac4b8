//! The back office (`/manage`, SPEC §5a): organisers and admins run events, registrations,
//! stands and employers from a browser. Every page asks [`session::require`] for its viewer
//! (the policy decides who may enter) and calls the same use cases as the API; no page decides
//! anything itself.

pub mod campaigns;
pub mod employers;
pub mod engagements;
pub mod events;
pub mod feedback;
pub mod invitations;
pub mod outcomes;
pub mod questions;
pub mod registrations;
pub mod reports;
pub mod schools;
pub mod users;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};
use serde_json::{Value, json};

use super::pages::{failed, when};
use super::session::Viewer;
use crate::domain::{EmployerStatus, EventStatus, MessageStatus};
use crate::service::employers::EmployerFilter;
use crate::service::events::{Event, EventFilter};
use crate::service::{PageRequest, Services, employers as employer_records, events as event_records, exhibitors, outbox};

/// The viewer of a back-office page, or the answer for someone who may not see it.
macro_rules! viewer {
    ($req:expr, $svc:expr) => {
        match crate::web::session::require($req, $svc, crate::service::policy::Area::Manage).await {
            Ok(viewer) => viewer,
            Err(response) => return response,
        }
    };
}
pub(crate) use viewer;

/// Refuses a form whose CSRF token does not match (403, nothing changed).
macro_rules! check_csrf {
    ($req:expr, $svc:expr, $token:expr) => {
        if !crate::web::csrf::verify($req, $token, $svc.settings.public_url()) {
            return crate::web::pages::expired_form();
        }
    };
}
pub(crate) use check_csrf;

/// The event `id` names, as the viewer may see it; a malformed or unknown id is the 404 page.
/// The signed-in organiser and the event of a page under `/manage/events/{id}/…`.
pub(super) async fn viewer_and_event(req: &poem::Request, svc: &Services, id: &str) -> Result<(Viewer, Event), Response> {
    let viewer = crate::web::session::require(req, svc, crate::service::policy::Area::Manage).await?;
    let event = event_of(svc, &viewer, id).await?;
    Ok((viewer, event))
}

pub(super) async fn event_of(svc: &Services, viewer: &Viewer, id: &str) -> Result<Event, Response> {
    let Ok(id) = uuid::Uuid::parse_str(id) else { return Err(super::pages::not_found()) };
    event_records::get(svc, Some(&viewer.actor), id).await.map_err(|err| failed(&err))
}

/// What a list row shows of an event: its times and how full it is.
pub(super) fn event_row(event: &Event) -> Value {
    let left = event.capacity.map(|c| (c - event.confirmed_count).max(0));
    json!({
        "id": event.id, "title": event.title, "kind": event.kind.label(), "when": when(event),
        "status": event.status.as_str(), "status_label": status_label(event.status), "status_colour": status_colour(event.status),
        "taken": event.confirmed_count, "left": left, "capacity": event.capacity, "waiting": event.waitlisted_count,
    })
}

pub(super) fn status_label(status: EventStatus) -> &'static str {
    match status {
        EventStatus::Draft => "Draft",
        EventStatus::Published => "Published",
        EventStatus::Cancelled => "Cancelled",
        EventStatus::Completed => "Completed",
    }
}

fn status_colour(status: EventStatus) -> &'static str {
    match status {
        EventStatus::Draft => "grey",
        EventStatus::Published => "green",
        EventStatus::Cancelled => "red",
        EventStatus::Completed => "blue",
    }
}

/// `GET /manage`: what needs doing today.
#[handler]
pub async fn dashboard(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = viewer!(req, &svc);
    match dashboard_context(&svc, &viewer).await {
        Ok(context) => viewer.render(StatusCode::OK, "manage/dashboard.html", context, "dashboard"),
        Err(err) => failed(&err),
    }
}

async fn dashboard_context(svc: &Services, viewer: &Viewer) -> crate::service::ServiceResult<Value> {
    let actor = &viewer.actor;
    let filter = EventFilter { from: Some(svc.clock.now()), ..EventFilter::default() };
    let upcoming = event_records::list(svc, Some(actor), filter, PageRequest { limit: 10, offset: 0 }).await?;
    let stands = exhibitors::waiting(svc, actor).await?;
    let pending = EmployerFilter { status: Some(EmployerStatus::Pending), provider_type: None, q: None };
    let employers = employer_records::list(svc, actor, pending, PageRequest { limit: 10, offset: 0 }).await?;
    // Failed mail is the admins' to retry; organisers are not shown the outbox.
    let failed_mail = match outbox::list(svc, actor, Some(MessageStatus::Failed), PageRequest { limit: 1, offset: 0 }).await {
        Ok(page) => Some(page.total),
        Err(crate::service::ServiceError::Forbidden) => None,
        Err(err) => return Err(err),
    };
    Ok(json!({
        "name": viewer.user.name,
        "events": upcoming.items.iter().map(event_row).collect::<Vec<_>>(),
        "events_total": upcoming.total,
        "stands": stands.iter().map(|w| json!({
            "event_id": w.event_id, "event_title": w.event_title, "employer": w.stand.employer.name,
            "staff": w.stand.exhibitor.staff_count,
        })).collect::<Vec<_>>(),
        "employers": employers.items.iter().map(|e| json!({"id": e.id, "name": e.name, "postcode": e.postcode})).collect::<Vec<_>>(),
        "employers_total": employers.total,
        "failed_mail": failed_mail,
    }))
}

//! `/calendar/…`: calendar files and feeds, with ETags so subscribed clients can ask cheaply
//! whether anything changed.

use poem::http::{StatusCode, header};
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use uuid::Uuid;

use crate::problem;
use crate::service::calendar::{self, CalendarBody};
use crate::service::{ServiceError, Services};

/// `{name}.ics` → `name`.
fn strip_ics(file: &str) -> Option<&str> {
    file.strip_suffix(".ics").filter(|s| !s.is_empty())
}

fn not_found() -> Response {
    problem::answer(StatusCode::NOT_FOUND, "no such calendar")
}

/// A calendar answer: `text/calendar`, a file name, and an ETag honoured in `If-None-Match`.
fn answer(req: &Request, result: Result<CalendarBody, ServiceError>, filename: &str) -> Response {
    respond(req, result, filename, "no-cache")
}

/// As [`answer`], for a file reached by a secret token (a person's place, an employer's feed):
/// no cache or proxy keeps it.
fn private_answer(req: &Request, result: Result<CalendarBody, ServiceError>, filename: &str) -> Response {
    respond(req, result, filename, "private, no-store")
}

fn respond(req: &Request, result: Result<CalendarBody, ServiceError>, filename: &str, cache: &'static str) -> Response {
    let file = match result {
        Ok(file) => file,
        Err(ServiceError::NotFound) => return not_found(),
        Err(err) => {
            tracing::error!(error = %err, "building a calendar");
            return problem::answer(StatusCode::INTERNAL_SERVER_ERROR, "something went wrong on our side");
        }
    };
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == file.etag || tag.trim() == "*"));
    let builder = Response::builder().header(header::ETAG, file.etag).header(header::CACHE_CONTROL, cache);
    if matches {
        return builder.status(StatusCode::NOT_MODIFIED).finish();
    }
    builder
        .content_type("text/calendar; charset=utf-8")
        .header(header::CONTENT_DISPOSITION, format!("inline; filename=\"{filename}\""))
        .body(file.body)
}

/// `GET /calendar/events/{id}.ics`
#[handler]
pub async fn event(req: &Request, Path(file): Path<String>, svc: Data<&Services>) -> Response {
    let Some(id) = strip_ics(&file).and_then(|s| s.parse::<Uuid>().ok()) else { return not_found() };
    answer(req, calendar::event_file(&svc, id).await, &format!("event-{id}.ics"))
}

/// `GET /calendar/registrations/{token}.ics`
#[handler]
pub async fn registration(req: &Request, Path(file): Path<String>, svc: Data<&Services>) -> Response {
    let Some(token) = strip_ics(&file) else { return not_found() };
    private_answer(req, calendar::registration_file(&svc, token).await, "invite.ics")
}

/// `GET /calendar/registrations/{token}/slots/{slot_id}.ics`: one booked interview.
#[handler]
pub async fn interview(req: &Request, Path((token, file)): Path<(String, String)>, svc: Data<&Services>) -> Response {
    let Some(slot_id) = strip_ics(&file).and_then(|id| Uuid::parse_str(id).ok()) else { return not_found() };
    private_answer(req, calendar::interview_file(&svc, &token, slot_id).await, "interview.ics")
}

/// `GET /calendar/public.ics`
#[handler]
pub async fn public(req: &Request, svc: Data<&Services>) -> Response {
    answer(req, calendar::public_feed(&svc).await, "gift-of-care.ics")
}

/// `GET /calendar/campaigns/{slug}.ics`
#[handler]
pub async fn campaign(req: &Request, Path(file): Path<String>, svc: Data<&Services>) -> Response {
    let Some(slug) = strip_ics(&file) else { return not_found() };
    answer(req, calendar::campaign_feed(&svc, slug).await, &format!("{slug}.ics"))
}

/// `GET /calendar/employers/{feed_token}.ics`
#[handler]
pub async fn employer(req: &Request, Path(file): Path<String>, svc: Data<&Services>) -> Response {
    let Some(token) = strip_ics(&file) else { return not_found() };
    private_answer(req, calendar::employer_feed(&svc, token).await, "gift-of-care-employer.ics")
}

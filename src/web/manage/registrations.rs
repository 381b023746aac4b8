//! `/manage/events/{id}/registrations`: who booked, searched by name or email and filtered by
//! status; check in and undo, cancel; the CSV; a printable attendance list.

use chrono::{DateTime, Utc};
use poem::http::{StatusCode, header};
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{check_csrf, event_of, event_row, viewer};
use crate::domain::RegistrationStatus;
use crate::service::door::{self, Doorkeeper, Ticket};
use crate::service::events::Event;
use crate::service::registrations::{self, RegistrationDetail};
use crate::service::{PageRequest, ServiceError, Services, exports};
use crate::web::pages::{failed, not_found};
use crate::web::session::{Viewer, query_value, see_other};

const PER_PAGE: u64 = 50;

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    page: Option<u64>,
    done: Option<String>,
}

fn statuses() -> Vec<Value> {
    RegistrationStatus::ALL.iter().map(|s| json!({"value": s.as_str(), "label": label(*s)})).collect()
}

fn label(status: RegistrationStatus) -> &'static str {
    match status {
        RegistrationStatus::Confirmed => "Booked",
        RegistrationStatus::Waitlisted => "Waiting list",
        RegistrationStatus::Offered => "Offered a place",
        RegistrationStatus::Cancelled => "Cancelled",
        RegistrationStatus::Attended => "Checked in",
        RegistrationStatus::NoShow => "Did not come",
    }
}

fn local(event: &Event, at: DateTime<Utc>) -> String {
    at.with_timezone(&event.timezone.tz()).format("%-d %b %Y, %H:%M").to_string()
}

fn row(event: &Event, d: &RegistrationDetail) -> Value {
    let status = d.registration.status;
    json!({
        "id": d.registration.id, "name": d.candidate.name, "email": door::shown_email(&d.candidate.email), "phone": d.candidate.phone,
        "status": status.as_str(), "status_label": label(status), "position": d.position,
        "checked_in_at": d.registration.checked_in_at.map(|t| local(event, t)),
        "may_check_in": matches!(status, RegistrationStatus::Confirmed | RegistrationStatus::NoShow),
        "may_undo": status == RegistrationStatus::Attended,
        "may_cancel": matches!(status, RegistrationStatus::Confirmed | RegistrationStatus::Waitlisted | RegistrationStatus::Offered),
        "answers": d.answers.iter().map(|a| json!({"question": a.label, "value": a.value})).collect::<Vec<_>>(),
    })
}

/// `GET /manage/events/{id}/registrations`
#[handler]
pub async fn list(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Query(q): Query<ListQuery>) -> Response {
    let viewer = viewer!(req, &svc);
    let event = match event_of(&svc, &viewer, &id).await {
        Ok(event) => event,
        Err(response) => return response,
    };
    list_page(&svc, &viewer, &event, q, StatusCode::OK, None).await
}

async fn list_page(
    svc: &Services,
    viewer: &Viewer,
    event: &Event,
    q: ListQuery,
    status_code: StatusCode,
    problem: Option<String>,
) -> Response {
    let status = q.status.as_deref().filter(|s| !s.is_empty()).and_then(|s| RegistrationStatus::parse(s).ok());
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| s.chars().take(200).collect::<String>());
    let page_no = q.page.unwrap_or(1).clamp(1, 100_000);
    let page = PageRequest { limit: PER_PAGE, offset: (page_no - 1) * PER_PAGE };
    let found = match registrations::list(svc, &viewer.actor, event.id, status, search.as_deref(), Some(page)).await {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let pages = found.total.div_ceil(PER_PAGE).max(1);
    let here = |n: u64| {
        format!(
            "/manage/events/{}/registrations?q={}&status={}&page={n}",
            event.id,
            query_value(search.as_deref().unwrap_or("")),
            status.map_or("", |s| s.as_str())
        )
    };
    let flash = match q.done.as_deref() {
        Some("checked_in") => Some("Checked in."),
        Some("undone") => Some("The check-in is undone."),
        Some("cancelled") => Some("The place is cancelled."),
        _ => None,
    };
    let context = json!({
        "event": event_row(event),
        "rows": found.items.iter().map(|d| row(event, d)).collect::<Vec<_>>(), "total": found.total,
        "values": {"q": search, "status": status.map(|s| s.as_str())}, "statuses": statuses(),
        "page": page_no, "pages": pages, "back": here(page_no),
        "previous": (page_no > 1).then(|| here(page_no - 1)), "next": (page_no < pages).then(|| here(page_no + 1)),
        "flash": flash, "problem": problem,
    });
    viewer.render(status_code, "manage/registrations.html", context, "events")
}

#[derive(Deserialize)]
pub struct RowForm {
    #[serde(default)]
    csrf: String,
    /// The list's address to go back to, with its search and filter.
    #[serde(default)]
    back: String,
}

#[derive(Clone, Copy)]
enum Change {
    CheckIn,
    Undo,
    Cancel,
}

async fn change(req: &Request, svc: &Services, id: &str, rid: &str, form: &RowForm, what: Change) -> Response {
    let viewer = viewer!(req, svc);
    check_csrf!(req, svc, &form.csrf);
    let event = match event_of(svc, &viewer, id).await {
        Ok(event) => event,
        Err(response) => return response,
    };
    let Ok(rid) = Uuid::parse_str(rid) else { return not_found() };
    let keeper = Doorkeeper::staff(&viewer.actor, &viewer.user.name);
    let outcome = match what {
        Change::CheckIn => door::check_in(svc, &keeper, event.id, Ticket::Id(rid)).await.map(|_| "checked_in"),
        Change::Undo => door::undo(svc, &keeper, event.id, rid).await.map(|_| "undone"),
        Change::Cancel => registrations::cancel(svc, &viewer.actor, event.id, rid).await.map(|_| "cancelled"),
    };
    // Back to the same search and page; only ever to this event's list.
    let list_url = format!("/manage/events/{}/registrations", event.id);
    let back = if form.back.starts_with(&format!("{list_url}?")) && !form.back.contains(['\r', '\n']) {
        form.back.clone()
    } else {
        format!("{list_url}?")
    };
    match outcome {
        Ok(done) => see_other(&format!("{back}&done={done}"), None),
        Err(err @ (ServiceError::Conflict(_) | ServiceError::Closed(_))) => {
            let q = ListQuery { q: None, status: None, page: None, done: None };
            let mut text = err.to_string();
            if let Some(first) = text.get(..1) {
                text = first.to_uppercase() + &text[1..];
            }
            list_page(svc, &viewer, &event, q, StatusCode::CONFLICT, Some(text)).await
        }
        Err(err) => failed(&err),
    }
}

/// `POST /manage/events/{id}/registrations/{rid}/check-in`
#[handler]
pub async fn check_in(req: &Request, svc: Data<&Services>, Path((id, rid)): Path<(String, String)>, Form(form): Form<RowForm>) -> Response {
    change(req, &svc, &id, &rid, &form, Change::CheckIn).await
}

/// `POST /manage/events/{id}/registrations/{rid}/undo`
#[handler]
pub async fn undo(req: &Request, svc: Data<&Services>, Path((id, rid)): Path<(String, String)>, Form(form): Form<RowForm>) -> Response {
    change(req, &svc, &id, &rid, &form, Change::Undo).await
}

/// `POST /manage/events/{id}/registrations/{rid}/cancel`
#[handler]
pub async fn cancel(req: &Request, svc: Data<&Services>, Path((id, rid)): Path<(String, String)>, Form(form): Form<RowForm>) -> Response {
    change(req, &svc, &id, &rid, &form, Change::Cancel).await
}

/// `GET /manage/events/{id}/registrations.csv`: everyone, with check-in times and consent,
/// streamed a page at a time.
#[handler]
pub async fn csv(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let viewer = viewer!(req, &svc);
    let event = match event_of(&svc, &viewer, &id).await {
        Ok(event) => event,
        Err(response) => return response,
    };
    match exports::registrations_csv(&svc, &viewer.actor, event.id).await {
        Ok(rows) => Response::builder()
            .content_type("text/csv; charset=utf-8")
            .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"registrations-{}.csv\"", event.id))
            .header(header::CACHE_CONTROL, "no-store")
            .body(poem::Body::from_bytes_stream(rows)),
        Err(err) => failed(&err),
    }
}

/// `GET /manage/events/{id}/attendance`: a list to print and tick at the door, by name.
#[handler]
pub async fn attendance(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let viewer = viewer!(req, &svc);
    let event = match event_of(&svc, &viewer, &id).await {
        Ok(event) => event,
        Err(response) => return response,
    };
    let found = match registrations::list(&svc, &viewer.actor, event.id, None, None, None).await {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let mut coming: Vec<&RegistrationDetail> = found
        .items
        .iter()
        .filter(|d| matches!(d.registration.status, RegistrationStatus::Confirmed | RegistrationStatus::Attended))
        .collect();
    coming.sort_by_cached_key(|d| d.candidate.name.to_lowercase());
    let context = json!({
        "event": event_row(&event), "attendance": true,
        "rows": coming.iter().map(|d| row(&event, d)).collect::<Vec<_>>(), "total": coming.len(),
    });
    viewer.render(StatusCode::OK, "manage/registrations.html", context, "events")
}

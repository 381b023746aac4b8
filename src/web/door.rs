//! The door page: organisers at `/manage/events/{id}/check-in`, volunteers with a door link at
//! `/door/{token}`; below either, `/undo/{rid}` and `/walk-in` (and, for organisers only,
//! `/person/{rid}` for someone found by name). Scan a ticket with the phone's camera (a script,
//! where the browser lets it), type its code, or (organisers) find someone by name; the answer
//! is one big line; undo; walk-ins. Also the organisers' door links and every stand's
//! interviews at a fair. Every form works without a script, and every decision is
//! `service::door`'s or `service::slots`'.

use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::csrf;
use super::manage::check_csrf;
use super::manage::events::{capitalise, summary};
use super::pages::{errors_by_field, failed, not_found, page, secure, when};
use super::session::Viewer;
use crate::domain::RegistrationStatus;
use crate::service::door::{self, CheckedIn, Counts, Doorkeeper, Ticket, WalkInInput};
use crate::service::events::Event;
use crate::service::{PageRequest, ServiceError, Services, registrations};

/// Where the camera may be used: this page only (every other page sends `camera=()`).
const CAMERA_ALLOWED: &str = "camera=(self), microphone=(), geolocation=()";

/// The walk-in form's fields, in the order the error summary lists them.
const WALK_IN_FIELDS: &[(&str, &str)] = &[("name", "Name"), ("email", "Email address"), ("phone", "Phone number")];

/// Whose door this is, and where its forms go.
enum At<'a> {
    Staff(&'a Viewer),
    Link { token: &'a str },
}

impl At<'_> {
    fn base(&self, event: &Event) -> String {
        match self {
            At::Staff(_) => format!("/manage/events/{}/check-in", event.id),
            At::Link { token } => format!("/door/{token}"),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct DoorQuery {
    q: Option<String>,
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

#[derive(Deserialize)]
pub struct WalkInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    consent_marketing: Option<String>,
}

/// What the page says after an action: the big answer, and what was typed to keep.
#[derive(Default)]
struct Said {
    answer: Option<Value>,
    walk_in_values: Value,
    walk_in_errors: Value,
    walk_in_summary: Vec<Value>,
    code: String,
}

fn time_at(event: &Event, at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map(|t| t.with_timezone(&event.timezone.tz()).format("%H:%M").to_string()).unwrap_or_default()
}

/// The answer to a check-in, as one plain line in a coloured panel.
fn answer_of(event: &Event, done: &CheckedIn, undone: bool) -> Value {
    let r = &done.registration;
    let (tone, title) = if undone {
        ("neutral", format!("Check-in undone: {}", done.name))
    } else if done.already {
        let by = r.checked_in_by.as_deref().map(|d| format!(" by {d}")).unwrap_or_default();
        ("warn", format!("Already checked in at {}{by}", time_at(event, r.checked_in_at)))
    } else {
        ("good", "Checked in".to_owned())
    };
    json!({
        "tone": tone, "title": title, "name": done.name, "id": r.id,
        "may_undo": r.status == RegistrationStatus::Attended,
    })
}

/// A refusal at the door, as one plain line.
fn refusal_of(err: &ServiceError) -> Option<Value> {
    let title = match err {
        ServiceError::NotFound => "Not a ticket for this event".to_owned(),
        ServiceError::Conflict(text) if text.contains("waiting list") => "On the waiting list, not booked".to_owned(),
        ServiceError::Conflict(text) if text.contains("cancelled") => "This booking was cancelled".to_owned(),
        ServiceError::Conflict(text) => capitalise(text),
        ServiceError::AlreadyRegistered => "This email already has a place: find them by name or scan their ticket".to_owned(),
        ServiceError::Invalid(errors) => errors.0.first().map(|e| format!("The code {}", e.message)).unwrap_or_default(),
        _ => return None,
    };
    Some(json!({"tone": "bad", "title": title}))
}

async fn render(svc: &Services, req: &Request, at: &At<'_>, event: &Event, keeper: &Doorkeeper, q: Option<String>, said: Said) -> Response {
    let counts = door::counts(svc, keeper, event.id).await.unwrap_or_default();
    let base = at.base(event);
    let mut context = json!({
        "event": {"id": event.id, "title": event.title, "when": when(event)},
        "base": base,
        "counts": counts_json(counts),
        "answer": said.answer,
        "code": said.code,
        "walk_in": {"values": said.walk_in_values, "errors": said.walk_in_errors, "summary": said.walk_in_summary},
        "searchable": matches!(at, At::Staff(_)),
        "q": q,
    });
    let status = if said.answer.as_ref().is_some_and(|a| a["tone"] == "bad") || !said.walk_in_summary.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = match at {
        At::Staff(viewer) => {
            if let (Some(q), Some(actor)) = (context["q"].as_str().map(str::trim).filter(|q| !q.is_empty()), keeper.actor()) {
                let q: String = q.chars().take(200).collect();
                let found = registrations::list(svc, actor, event.id, None, Some(&q), Some(PageRequest { limit: 10, offset: 0 })).await;
                context["found"] =
                    match found {
                        Ok(list) => json!(list.items.iter().map(|d| json!({
                        "id": d.registration.id, "name": d.candidate.name, "email": door::shown_email(&d.candidate.email),
                        "status": d.registration.status.as_str(),
                        "checked_in_at": time_at(event, d.registration.checked_in_at),
                        "may_check_in": matches!(d.registration.status, RegistrationStatus::Confirmed | RegistrationStatus::NoShow),
                    })).collect::<Vec<_>>()),
                        Err(err) => return failed(&err),
                    };
            }
            viewer.render(status, "door.html", context, "events")
        }
        At::Link { .. } => {
            let token = csrf::token(req, secure(svc));
            context["csrf"] = json!(token.token);
            context["nav_title"] = json!("Door check-in");
            context["nav_home"] = json!(base);
            page(status, "door.html", context, token.set_cookie)
        }
    };
    if let Ok(value) = poem::http::HeaderValue::from_str(CAMERA_ALLOWED) {
        response.headers_mut().insert("Permissions-Policy", value);
    }
    response
}

fn counts_json(c: Counts) -> Value {
    json!({"arrived": c.arrived, "expected": c.expected, "to_come": c.expected.saturating_sub(c.arrived)})
}

/// What a check-in, an undo or a walk-in says on the page.
fn said_after(event: &Event, outcome: Result<CheckedIn, ServiceError>, undone: bool, code: &str) -> Result<Said, Response> {
    match outcome {
        Ok(done) => Ok(Said { answer: Some(answer_of(event, &done, undone)), ..Said::default() }),
        Err(err) => match refusal_of(&err) {
            Some(answer) => Ok(Said { answer: Some(answer), code: code.to_owned(), ..Said::default() }),
            None => Err(failed(&err)),
        },
    }
}

fn walk_in_input(form: &WalkInForm) -> WalkInInput {
    WalkInInput {
        name: form.name.clone(),
        email: Some(form.email.clone()),
        phone: Some(form.phone.clone()),
        consent_marketing: form.consent_marketing.is_some(),
    }
}

fn said_after_walk_in(event: &Event, form: &WalkInForm, outcome: Result<CheckedIn, ServiceError>) -> Result<Said, Response> {
    match outcome {
        Err(ServiceError::Invalid(errors)) => {
            let by_field = errors_by_field(&errors);
            Ok(Said {
                walk_in_summary: summary(&by_field, WALK_IN_FIELDS),
                walk_in_errors: json!(by_field),
                walk_in_values: json!({"name": form.name, "email": form.email, "phone": form.phone, "consent_marketing": form.consent_marketing.is_some()}),
                ..Said::default()
            })
        }
        Err(err) => {
            let mut said = said_after(event, Err(err), false, "")?;
            said.walk_in_values = json!({"name": form.name, "email": form.email, "phone": form.phone});
            Ok(said)
        }
        Ok(done) => {
            let mut answer = answer_of(event, &done, false);
            answer["title"] = json!("Walk-in registered and checked in");
            Ok(Said { answer: Some(answer), ..Said::default() })
        }
    }
}

/// What a door's form asks for.
enum Action<'a> {
    Code(&'a str),
    Person(&'a str),
    Undo(&'a str),
    WalkIn(&'a WalkInForm),
}

/// Does what a door's form asks, through `service::door`, and shows the door with the answer.
async fn act(svc: &Services, req: &Request, at: &At<'_>, event: &Event, keeper: &Doorkeeper, action: Action<'_>) -> Response {
    let id = |rid: &str| Uuid::parse_str(rid).ok();
    let said = match action {
        Action::Code(code) => said_after(event, door::check_in(svc, keeper, event.id, Ticket::Code(code.to_owned())).await, false, code),
        Action::Person(rid) => match id(rid) {
            Some(rid) => said_after(event, door::check_in(svc, keeper, event.id, Ticket::Id(rid)).await, false, ""),
            None => return not_found(),
        },
        Action::Undo(rid) => match id(rid) {
            Some(rid) => said_after(event, door::undo(svc, keeper, event.id, rid).await, true, ""),
            None => return not_found(),
        },
        Action::WalkIn(form) => said_after_walk_in(event, form, door::walk_in(svc, keeper, event.id, walk_in_input(form)).await),
    };
    match said {
        Ok(said) => render(svc, req, at, event, keeper, None, said).await,
        Err(response) => response,
    }
}

// The organisers' door.

async fn staff_door(req: &Request, svc: &Services, id: &str) -> Result<(Viewer, Event, Doorkeeper), Response> {
    let viewer = match crate::web::session::require(req, svc, crate::service::policy::Area::Manage).await {
        Ok(viewer) => viewer,
        Err(response) => return Err(response),
    };
    let event = super::manage::event_of(svc, &viewer, id).await?;
    let keeper = Doorkeeper::staff(&viewer.actor, &viewer.user.name);
    Ok((viewer, event, keeper))
}

/// An organiser's door form: signed in, the form's token, then the action.
async fn staff_act(req: &Request, svc: &Services, id: &str, csrf: &str, action: Action<'_>) -> Response {
    let (viewer, event, keeper) = match staff_door(req, svc, id).await {
        Ok(door) => door,
        Err(response) => return response,
    };
    check_csrf!(req, svc, csrf);
    act(svc, req, &At::Staff(&viewer), &event, &keeper, action).await
}

/// `GET /manage/events/{id}/check-in`
#[handler]
pub async fn staff_page(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Query(q): Query<DoorQuery>) -> Response {
    let (viewer, event, keeper) = match staff_door(req, &svc, &id).await {
        Ok(door) => door,
        Err(response) => return response,
    };
    render(&svc, req, &At::Staff(&viewer), &event, &keeper, q.q, Said::default()).await
}

/// `POST /manage/events/{id}/check-in`: a scanned or typed code.
#[handler]
pub async fn staff_code(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<CodeForm>) -> Response {
    staff_act(req, &svc, &id, &form.csrf, Action::Code(&form.code)).await
}

/// `POST /manage/events/{id}/check-in/person/{rid}`: someone found by name.
#[handler]
pub async fn staff_person(
    req: &Request,
    svc: Data<&Services>,
    Path((id, rid)): Path<(String, String)>,
    Form(form): Form<CodeForm>,
) -> Response {
    staff_act(req, &svc, &id, &form.csrf, Action::Person(&rid)).await
}

/// `POST /manage/events/{id}/check-in/undo/{rid}`
#[handler]
pub async fn staff_undo(
    req: &Request,
    svc: Data<&Services>,
    Path((id, rid)): Path<(String, String)>,
    Form(form): Form<CodeForm>,
) -> Response {
    staff_act(req, &svc, &id, &form.csrf, Action::Undo(&rid)).await
}

/// `POST /manage/events/{id}/check-in/walk-in`
#[handler]
pub async fn staff_walk_in(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<WalkInForm>) -> Response {
    staff_act(req, &svc, &id, &form.csrf, Action::WalkIn(&form)).await
}

// A volunteer's door, by link.

async fn link_door(svc: &Services, token: &str) -> Result<(Event, Doorkeeper), Response> {
    let link = match door::link_of_token(svc, token).await {
        Ok(link) => link,
        Err(ServiceError::Unauthorized) => {
            return Err(super::pages::message(
                StatusCode::NOT_FOUND,
                "This door link does not work",
                "It may have been deleted, or the event's check-in has closed. Ask the organiser for a new link.",
            ));
        }
        Err(err) => return Err(failed(&err)),
    };
    let keeper = Doorkeeper::Link(link.clone());
    let event = door::event_of(svc, &keeper, link.event_id).await.map_err(|err| failed(&err))?;
    Ok((event, keeper))
}

/// A door link's form: a live link, the form's token, then the action.
async fn link_act(req: &Request, svc: &Services, token: &str, csrf: &str, action: Action<'_>) -> Response {
    let (event, keeper) = match link_door(svc, token).await {
        Ok(door) => door,
        Err(response) => return response,
    };
    check_csrf!(req, svc, csrf);
    act(svc, req, &At::Link { token }, &event, &keeper, action).await
}

/// `GET /door/{token}`
#[handler]
pub async fn link_page(req: &Request, svc: Data<&Services>, Path(token): Path<String>) -> Response {
    match link_door(&svc, &token).await {
        Ok((event, keeper)) => render(&svc, req, &At::Link { token: &token }, &event, &keeper, None, Said::default()).await,
        Err(response) => response,
    }
}

/// `POST /door/{token}`: a scanned or typed code.
#[handler]
pub async fn link_code(req: &Request, svc: Data<&Services>, Path(token): Path<String>, Form(form): Form<CodeForm>) -> Response {
    link_act(req, &svc, &token, &form.csrf, Action::Code(&form.code)).await
}

/// `POST /door/{token}/undo/{rid}`
#[handler]
pub async fn link_undo(
    req: &Request,
    svc: Data<&Services>,
    Path((token, rid)): Path<(String, String)>,
    Form(form): Form<CodeForm>,
) -> Response {
    link_act(req, &svc, &token, &form.csrf, Action::Undo(&rid)).await
}

/// `POST /door/{token}/walk-in`
#[handler]
pub async fn link_walk_in(req: &Request, svc: Data<&Services>, Path(token): Path<String>, Form(form): Form<WalkInForm>) -> Response {
    link_act(req, &svc, &token, &form.csrf, Action::WalkIn(&form)).await
}

/// The door's figures as JSON, for the page's script to follow the other doors.
fn counts_answer(counts: Result<Counts, ServiceError>) -> Response {
    match counts {
        Ok(c) => Response::builder()
            .content_type("application/json")
            .header(poem::http::header::CACHE_CONTROL, "no-store")
            .body(counts_json(c).to_string()),
        Err(err) => failed(&err),
    }
}

/// `GET /manage/events/{id}/check-in/counts`
#[handler]
pub async fn staff_counts(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    match staff_door(req, &svc, &id).await {
        Ok((_, event, keeper)) => counts_answer(door::counts(&svc, &keeper, event.id).await),
        Err(response) => response,
    }
}

/// `GET /door/{token}/counts`
#[handler]
pub async fn link_counts(svc: Data<&Services>, Path(token): Path<String>) -> Response {
    match link_door(&svc, &token).await {
        Ok((event, keeper)) => counts_answer(door::counts(&svc, &keeper, event.id).await),
        Err(response) => response,
    }
}

// The organisers' door links.

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
}

async fn links_page(svc: &Services, viewer: &Viewer, event: &Event, status: StatusCode, extra: Value) -> Response {
    let links = match door::links(svc, &viewer.actor, event.id).await {
        Ok(links) => links,
        Err(err) => return failed(&err),
    };
    let now = svc.clock.now();
    let rows: Vec<Value> = links
        .iter()
        .map(|l| json!({"id": l.id, "label": l.label, "expired": l.expires_at <= now, "expires_at": crate::web::pages::day_and_time(event, l.expires_at)}))
        .collect();
    let mut context = json!({
        "event": {"id": event.id, "title": event.title, "when": when(event)},
        "links": rows, "values": {}, "errors": {}, "summary": [],
    });
    if let (Some(target), Value::Object(extra)) = (context.as_object_mut(), extra) {
        target.extend(extra);
    }
    viewer.render(status, "manage/door_links.html", context, "events")
}

/// `GET /manage/events/{id}/door-links`
#[handler]
pub async fn links_list(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let (viewer, event, _) = match staff_door(req, &svc, &id).await {
        Ok(door) => door,
        Err(response) => return response,
    };
    links_page(&svc, &viewer, &event, StatusCode::OK, json!({})).await
}

/// `POST /manage/events/{id}/door-links`: makes one and shows its link, this once.
#[handler]
pub async fn links_create(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<LinkForm>) -> Response {
    let (viewer, event, _) = match staff_door(req, &svc, &id).await {
        Ok(door) => door,
        Err(response) => return response,
    };
    check_csrf!(req, &svc, &form.csrf);
    match door::create_link(&svc, &viewer.actor, event.id, &form.label).await {
        Ok(made) => {
            let made = json!({"made": {"label": made.link.label, "url": made.url}});
            links_page(&svc, &viewer, &event, StatusCode::CREATED, made).await
        }
        Err(ServiceError::Invalid(errors)) => {
            let by_field = errors_by_field(&errors);
            let extra =
                json!({"summary": summary(&by_field, &[("label", "Which door")]), "errors": by_field, "values": {"label": form.label}});
            links_page(&svc, &viewer, &event, StatusCode::UNPROCESSABLE_ENTITY, extra).await
        }
        Err(ServiceError::Conflict(problem)) => {
            let extra = json!({"problem": capitalise(&problem), "values": {"label": form.label}});
            links_page(&svc, &viewer, &event, StatusCode::CONFLICT, extra).await
        }
        Err(err) => failed(&err),
    }
}

/// `POST /manage/events/{id}/door-links/{lid}/delete`
#[handler]
pub async fn links_delete(
    req: &Request,
    svc: Data<&Services>,
    Path((id, lid)): Path<(String, String)>,
    Form(form): Form<LinkForm>,
) -> Response {
    let (viewer, event, _) = match staff_door(req, &svc, &id).await {
        Ok(door) => door,
        Err(response) => return response,
    };
    check_csrf!(req, &svc, &form.csrf);
    let Ok(lid) = Uuid::parse_str(&lid) else { return not_found() };
    match door::delete_link(&svc, &viewer.actor, event.id, lid).await {
        Ok(()) => super::session::see_other(&format!("/manage/events/{}/door-links", event.id), None),
        Err(err) => failed(&err),
    }
}

/// The back office's interviews page: every stand's bookings, and a form per confirmed stand.
async fn interviews_page(
    svc: &Services,
    viewer: &Viewer,
    event: &Event,
    status: StatusCode,
    sent: Option<&crate::web::portal::interviews::Sent<'_>>,
    problem: Option<String>,
) -> Response {
    use crate::web::portal::interviews::{stand_row, summary_of_rows};
    let slots = crate::service::slots::of_fair(svc, event.id).await.unwrap_or_default();
    let booked = match crate::service::slots::fair_schedule(svc, &viewer.actor, event.id).await {
        Ok(booked) => booked,
        Err(err) => return failed(&err),
    };
    let stands = match crate::service::exhibitors::list(svc, Some(&viewer.actor), event.id).await {
        Ok(stands) => stands,
        Err(err) => return failed(&err),
    };
    let tz = event.timezone.tz();
    let mut with_slots: Vec<Uuid> = slots.iter().map(|s| s.exhibitor_id).collect();
    with_slots.sort_unstable();
    with_slots.dedup();
    let rows: Vec<Value> = booked
        .iter()
        .map(|b| {
            json!({
                "when": crate::domain::describe_span(b.slot.starts_at, b.slot.ends_at, tz), "employer": b.slot.employer_name,
                "stand": b.slot.stand_label, "name": b.candidate_name, "email": b.candidate_email,
            })
        })
        .collect();
    let forms: Vec<Value> = stands
        .iter()
        .filter(|d| d.exhibitor.status == crate::domain::ExhibitorStatus::Confirmed)
        .map(|d| {
            let action = format!("/manage/events/{}/interviews/{}", event.id, d.exhibitor.id);
            let mut row = stand_row(event, d.exhibitor.id, d.exhibitor.stand_label.as_deref(), &slots, sent, action);
            row["employer"] = json!(d.employer.name);
            row
        })
        .collect();
    let context = json!({
        "event": {"id": event.id, "title": event.title, "when": when(event)},
        "slots": slots.len(), "stands_with_slots": with_slots.len(), "booked": rows,
        "stands": forms, "summary": summary_of_rows(&forms), "problem": problem,
    });
    viewer.render(status, "manage/interviews.html", context, "events")
}

/// `GET /manage/events/{id}/interviews`: every stand's booked interviews, and their slots.
#[handler]
pub async fn interviews(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let (viewer, event, _) = match staff_door(req, &svc, &id).await {
        Ok(door) => door,
        Err(response) => return response,
    };
    interviews_page(&svc, &viewer, &event, StatusCode::OK, None, None).await
}

/// `POST /manage/events/{id}/interviews/{xid}`: an organiser cuts a stand's time into slots.
#[handler]
pub async fn cut_slots(
    req: &Request,
    svc: Data<&Services>,
    Path((id, xid)): Path<(String, String)>,
    Form(form): Form<crate::web::portal::interviews::CutForm>,
) -> Response {
    let (viewer, event, _) = match staff_door(req, &svc, &id).await {
        Ok(door) => door,
        Err(response) => return response,
    };
    check_csrf!(req, &svc, &form.csrf);
    let Ok(xid) = Uuid::parse_str(&xid) else { return not_found() };
    let outcome = match crate::web::portal::interviews::cut_input(&event, &form) {
        Ok(input) => crate::service::slots::cut(&svc, &viewer.actor, event.id, xid, input).await.map(|_| ()),
        Err(err) => Err(err),
    };
    match outcome {
        Ok(()) => super::session::see_other(&format!("/manage/events/{}/interviews", event.id), None),
        Err(ServiceError::Invalid(errors)) => {
            let sent = crate::web::portal::interviews::Sent { exhibitor_id: xid, form: &form, errors: errors_by_field(&errors) };
            interviews_page(&svc, &viewer, &event, StatusCode::UNPROCESSABLE_ENTITY, Some(&sent), None).await
        }
        Err(ServiceError::Conflict(text)) => {
            interviews_page(&svc, &viewer, &event, StatusCode::CONFLICT, None, Some(capitalise(&text))).await
        }
        Err(err) => failed(&err),
    }
}

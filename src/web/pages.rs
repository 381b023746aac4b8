//! The HTML pages (SPEC §5a): upcoming events, one event with its registration form, the
//! manage page behind a registration's link, a campaign, and the employer signup form. Each
//! handler reads the form, makes the same service call the API makes, and renders the outcome.

use std::collections::{BTreeMap, HashMap};

use poem::http::{StatusCode, header};
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::csrf;
use super::templates::{STATIC_FILES, render};
use crate::domain::{Answer, EventKind, EventStatus, ProviderType, ValidationErrors, describe_span};
use crate::service::employers::{EmployerInput, SignupInput};
use crate::service::events::{Event, EventFilter};
use crate::service::questions::{self, Given};
use crate::service::registrar::{Person, PersonInput, RegisterRequest};
use crate::service::registrations::{Closed, HeldRegistration, check_open};
use crate::service::{PageRequest, ServiceError, Services, campaigns, employers, events, exhibitors, invitations, registrations, venues};

const PER_PAGE: u64 = 20;

/// Scripts and styles are our own files (GOV.UK Frontend's and ours); forms post to us only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(super) fn page(status: StatusCode, template: &str, context: Value, set_cookie: Option<String>) -> Response {
    let body = match render(template, &context) {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(error = %err, "rendering a page");
            return Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).body("Something went wrong on our side.");
        }
    };
    let mut builder = Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header("Content-Security-Policy", CSP)
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "no-referrer")
        // Only the door page asks for the camera (see `door`); no page asks for more.
        .header("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        .header(header::CACHE_CONTROL, "no-store");
    if let Some(cookie) = set_cookie {
        builder = builder.header(header::SET_COOKIE, cookie);
    }
    builder.body(body)
}

pub(super) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, "message.html", json!({"title": title, "text": text}), None)
}

/// A form over the size a form can be.
pub fn too_large(limit: usize) -> Response {
    message(
        StatusCode::PAYLOAD_TOO_LARGE,
        "That was too much to send",
        &format!("A form can send at most {} KB, and nothing was saved. Go back and shorten what you typed.", limit / 1024),
    )
}

pub fn not_found() -> Response {
    message(StatusCode::NOT_FOUND, "Page not found", "We could not find that page. It may have been removed, or the link may be mistyped.")
}

/// The client's address, as the guard found it.
pub(super) fn client(req: &Request) -> Option<std::net::IpAddr> {
    req.data::<crate::middleware::ClientAddress>().and_then(|c| c.0)
}

pub(super) fn failed(err: &ServiceError) -> Response {
    match err {
        // A page someone may not see is, to them, a page that does not exist.
        ServiceError::NotFound | ServiceError::Forbidden => not_found(),
        ServiceError::TooManyRequests { retry_after_secs } => {
            let mut resp = message(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many tries",
                &format!(
                    "Too many forms were sent from your connection. Nothing was saved. Please try again in {} minute(s).",
                    retry_after_secs.div_ceil(60)
                ),
            );
            if let Ok(value) = poem::http::HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, value);
            }
            resp
        }
        err => {
            tracing::error!(error = %err, "a page failed");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side. Please try again in a few minutes.",
            )
        }
    }
}

pub(super) fn expired_form() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Please try again",
        "This form had expired or did not come from this site, so nothing was sent. Go back, reload the page and send it again.",
    )
}

pub(super) fn secure(svc: &Services) -> bool {
    svc.settings.public_url().starts_with("https://")
}

/// Field errors by field name, as the templates show them next to each field.
pub(crate) fn errors_by_field(errors: &ValidationErrors) -> HashMap<String, String> {
    let mut by_field = HashMap::new();
    for e in &errors.0 {
        by_field.entry(e.field.clone()).or_insert_with(|| e.message.clone());
    }
    by_field
}

/// The public forms' fields (booking, signup, RSVP), in the order the forms ask them.
const PUBLIC_FIELDS: &[(&str, &str)] = &[
    ("name", "Name"),
    ("email", "Email address"),
    ("phone", "Phone number"),
    ("postcode", "Postcode"),
    ("provider_type", "Kind of care"),
    ("cqc_location_id", "CQC location id"),
    ("address", "Address"),
    ("website", "Website"),
    ("contact_name", "Contact name"),
    ("contact_email", "Contact email"),
    ("user.name", "Your name"),
    ("user.email", "Sign-in email"),
    ("user.password", "Password"),
];

/// The problems as the summary at the top of a public form lists them, in the form's order.
fn summary_of(errors: &HashMap<String, String>) -> Vec<Value> {
    super::manage::events::summary(errors, PUBLIC_FIELDS)
}

/// Why `event` refused a booking, as its page says it: times in the event's own zone.
fn refusal(event: &Event, refused: &ServiceError) -> String {
    let local = |at: chrono::DateTime<chrono::Utc>| at.with_timezone(&event.timezone.tz()).format("%A %-d %B %Y at %H:%M").to_string();
    match refused {
        ServiceError::Closed(Closed::NotPublished) => "bookings are not open yet".to_owned(),
        ServiceError::Closed(Closed::Cancelled) => "this event is cancelled".to_owned(),
        ServiceError::Closed(Closed::Over) => "this event is over".to_owned(),
        ServiceError::Closed(Closed::OpensAt(at)) => format!("bookings open on {}", local(*at)),
        ServiceError::Closed(Closed::ClosedAt(at)) => format!("bookings closed on {}", local(*at)),
        other => other.to_string(),
    }
}

/// The event, for saying why it refused something; `None` if it cannot be read now.
async fn event_of(svc: &Services, id: Uuid) -> Option<Event> {
    events::get(svc, None, id).await.ok()
}

/// An instant in `event`'s own zone, as the back office lists them: "4 January 2027, 10:02".
pub(crate) fn day_and_time(event: &Event, at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&event.timezone.tz()).format("%-d %B %Y, %H:%M").to_string()
}

pub(crate) fn when(event: &Event) -> String {
    let tz = event.timezone.tz();
    describe_span(event.starts_at, event.ends_at, tz)
}

/// What a list shows of an event.
fn summary(event: &Event) -> Value {
    json!({
        "id": event.id, "title": event.title, "kind": event.kind.label(), "when": when(event),
        "cancelled": event.status == EventStatus::Cancelled,
    })
}

#[derive(Deserialize)]
pub struct IndexQuery {
    kind: Option<String>,
    campaign: Option<String>,
    page: Option<u64>,
}

/// `GET /`: upcoming published events, filtered by kind and campaign, 20 a page.
#[handler]
pub async fn index(svc: Data<&Services>, Query(q): Query<IndexQuery>) -> Response {
    let kind = q.kind.as_deref().filter(|k| !k.is_empty()).and_then(|k| EventKind::parse(k).ok());
    let campaign_list = match campaigns::list(&svc, PageRequest { limit: 200, offset: 0 }).await {
        Ok(list) => list.items,
        Err(err) => return failed(&err),
    };
    let campaign = q.campaign.as_deref().and_then(|slug| campaign_list.iter().find(|c| c.slug == slug));
    let page_no = q.page.unwrap_or(1).clamp(1, 10_000);
    let filter = EventFilter { kind, campaign_id: campaign.map(|c| c.id), from: Some(svc.clock.now()), ..EventFilter::default() };
    let found = match events::list(&svc, None, filter, PageRequest { limit: PER_PAGE, offset: (page_no - 1) * PER_PAGE }).await {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let pages = found.total.div_ceil(PER_PAGE).max(1);
    let kinds: Vec<Value> = EventKind::ALL
        .iter()
        .filter(|k| **k != EventKind::SchoolEngagement)
        .map(|k| json!({"value": k.as_str(), "label": k.label(), "selected": Some(*k) == kind}))
        .collect();
    let campaigns: Vec<Value> =
        campaign_list.iter().map(|c| json!({"slug": c.slug, "name": c.name, "selected": campaign.is_some_and(|s| s.id == c.id)})).collect();
    let link = |n: u64| {
        let mut parts = vec![format!("page={n}")];
        if let Some(k) = kind {
            parts.push(format!("kind={}", k.as_str()));
        }
        if let Some(c) = campaign {
            parts.push(format!("campaign={}", c.slug));
        }
        format!("/?{}", parts.join("&"))
    };
    let context = json!({
        "events": found.items.iter().map(summary).collect::<Vec<_>>(),
        "total": found.total, "kinds": kinds, "campaigns": campaigns,
        "page": page_no, "pages": pages,
        "previous": (page_no > 1).then(|| link(page_no - 1)),
        "next": (page_no < pages).then(|| link(page_no + 1)),
    });
    page(StatusCode::OK, "index.html", context, None)
}

/// Everything the event page shows about an event.
async fn event_context(svc: &Services, event: &Event) -> Result<Value, ServiceError> {
    let venue = match event.venue_id {
        Some(id) => Some(venues::get(svc, id).await?),
        None => None,
    };
    let map_url = venue.as_ref().map(|v| match (v.latitude, v.longitude) {
        (Some(lat), Some(lon)) => format!("https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"),
        _ => format!("https://www.openstreetmap.org/search?query={}", v.postcode.replace(' ', "+")),
    });
    let stands = if event.kind == EventKind::RecruitmentFair { exhibitors::list(svc, None, event.id).await? } else { Vec::new() };
    let stands: Vec<Value> = stands
        .into_iter()
        .map(|s| json!({"name": s.employer.name, "stand": s.exhibitor.stand_label, "roles": exhibitors::roles_of(&s.exhibitor), "website": s.employer.website}))
        .collect();
    let now = svc.clock.now();
    let open = check_open(event, now);
    // Places and a calendar entry are for events still to come; a cancelled or past event says so.
    let live = event.status == EventStatus::Published && event.ends_at > now;
    let places_left = event.capacity.filter(|_| live).map(|c| (c - event.confirmed_count).max(0));
    Ok(json!({
        "id": event.id, "title": event.title, "kind": event.kind.label(),
        "paragraphs": event.description.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>(),
        "when": when(event), "timezone": event.timezone.name(),
        "venue": venue.as_ref().map(|v| json!({"name": v.name, "address": v.address, "postcode": v.postcode, "accessibility": v.accessibility})),
        "map_url": map_url, "online_url": event.online_url,
        "cancelled": event.status == EventStatus::Cancelled, "cancel_reason": event.cancel_reason,
        "places_left": places_left, "full": places_left == Some(0),
        "ics_url": live.then(|| format!("/calendar/events/{}.ics", event.id)),
        "over": event.ends_at <= now,
        "exhibitors": stands,
        "fair": event.kind == EventKind::RecruitmentFair,
        "open": open.is_ok(),
        "closed_reason": open.err().map(|e| refusal(event, &e)),
    }))
}

async fn event_page(svc: &Services, req: &Request, id: Uuid, status: StatusCode, form: Value) -> Response {
    let event = match events::get(svc, None, id).await {
        Ok(event) => event,
        Err(err) => return failed(&err),
    };
    let mut context = match event_context(svc, &event).await {
        Ok(context) => context,
        Err(err) => return failed(&err),
    };
    let asked = match questions::list(svc, None, id, false).await {
        Ok(asked) => asked,
        Err(err) => return failed(&err),
    };
    let csrf = csrf::token(req, secure(svc));
    context["csrf"] = json!(csrf.token);
    context["summary"] = json!(form_summary(&form, &asked));
    context["questions"] = question_fields(&asked);
    context["form"] = form;
    page(status, "event.html", context, csrf.set_cookie)
}

/// The event's questions as the form's fields show them.
fn question_fields(asked: &[questions::Question]) -> Value {
    json!(
        asked
            .iter()
            .map(|q| json!({
                "id": q.id, "label": q.label, "kind": q.kind.as_str(), "required": q.required, "purpose": q.purpose,
                "choices": q.options.iter().map(|o| json!({"value": o, "label": o})).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    )
}

/// The error summary of a form sent back (`form.errors`), a question's problem under the
/// question's own words.
fn form_summary(form: &Value, asked: &[questions::Question]) -> Vec<Value> {
    let Some(errors) = form.get("errors").and_then(|e| serde_json::from_value::<HashMap<String, String>>(e.clone()).ok()) else {
        return Vec::new();
    };
    let mut summary = summary_of(&errors);
    for item in &mut summary {
        let field = item["field"].as_str().unwrap_or_default();
        if let Some(q) = asked.iter().find(|q| field.strip_prefix(ANSWER_FIELD) == Some(q.id.to_string().as_str())) {
            let message = item["message"].as_str().unwrap_or_default().to_owned();
            item["label"] = json!("");
            item["message"] = json!(format!("{} ({message})", q.label));
        }
    }
    summary
}

/// The answers among a form's fields (`answers_{question id}`), each also kept in `values` to
/// show again.
fn given_in(fields: &BTreeMap<String, String>, values: &mut Value) -> BTreeMap<String, Given> {
    let mut given = BTreeMap::new();
    for (name, value) in fields {
        if let Some(id) = name.strip_prefix(ANSWER_FIELD) {
            values[name.as_str()] = json!(value);
            given.insert(id.to_owned(), Given::Text(value.clone()));
        }
    }
    given
}

/// The problems of a refused form by field; the service names an answer `answers.{id}`, the
/// form's field is `answers_{id}`.
fn form_errors(errors: &crate::domain::ValidationErrors) -> HashMap<String, String> {
    errors_by_field(errors)
        .into_iter()
        .map(|(field, message)| match field.strip_prefix("answers.") {
            Some(id) => (format!("{ANSWER_FIELD}{id}"), message),
            None => (field, message),
        })
        .collect()
}

/// `GET /events/{id}`: the event, who will be there, and the registration form.
#[handler]
pub async fn show_event(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<Uuid>() else { return not_found() };
    event_page(&svc, req, id, StatusCode::OK, json!({"values": {}, "errors": {}})).await
}

#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    postcode: String,
    consent_marketing: Option<String>,
    consent_share_with_employers: Option<String>,
    /// The answers to the event's questions, each named `answers_{question id}`.
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

/// The form's name for a question's answer (a dot would not survive the field macro).
const ANSWER_FIELD: &str = "answers_";

fn optional(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `POST /events/{id}/register`: the form's outcome, or the form again with what was typed.
#[handler]
pub async fn register(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<RegisterForm>) -> Response {
    let Ok(id) = id.parse::<Uuid>() else { return not_found() };
    if !csrf::verify(req, &form.csrf, svc.settings.public_url()) {
        return expired_form();
    }
    let mut values = json!({
        "name": form.name, "email": form.email, "phone": form.phone, "postcode": form.postcode,
        "consent_marketing": form.consent_marketing.is_some(), "consent_share_with_employers": form.consent_share_with_employers.is_some(),
    });
    let given = given_in(&form.rest, &mut values);
    let input = PersonInput {
        name: form.name.clone(),
        email: form.email.clone(),
        phone: optional(&form.phone),
        postcode: optional(&form.postcode),
        interests: Vec::new(),
        consent_marketing: form.consent_marketing.is_some(),
        source: Some("web".into()),
    };
    let person = match Person::parse(input) {
        Ok(person) => person,
        Err(errors) => {
            let form = json!({"values": values, "errors": errors_by_field(&errors)});
            return event_page(&svc, req, id, StatusCode::UNPROCESSABLE_ENTITY, form).await;
        }
    };
    let request = RegisterRequest {
        event_id: id,
        person,
        idempotency: None,
        given,
        consent_share_with_employers: form.consent_share_with_employers.is_some(),
    };
    match registrations::register(&svc, client(req), request).await {
        Ok(registered) => {
            let event = match events::get(&svc, None, id).await {
                Ok(event) => event,
                Err(err) => return failed(&err),
            };
            let manage_path = registered.manage_url.rsplit_once("/r/").map(|(_, token)| format!("/r/{token}")).unwrap_or_default();
            let context = json!({
                "event": summary(&event), "status": registered.status, "position": registered.position,
                "manage_url": manage_path, "ics_url": format!("/calendar/events/{id}.ics"),
            });
            page(StatusCode::CREATED, "registered.html", context, None)
        }
        Err(refused @ (ServiceError::AlreadyRegistered | ServiceError::Closed(_) | ServiceError::Conflict(_))) => {
            let problem = match refused {
                ServiceError::AlreadyRegistered => "This email address already has a place (or a place on the waiting list) for this event. The email we sent has a link to manage it.".to_owned(),
                other => format!("Sorry, {}.", event_of(&svc, id).await.map_or_else(|| other.to_string(), |e| refusal(&e, &other))),
            };
            event_page(&svc, req, id, StatusCode::CONFLICT, json!({"values": values, "errors": {}, "problem": problem})).await
        }
        Err(ServiceError::Invalid(errors)) => {
            let errors = form_errors(&errors);
            event_page(&svc, req, id, StatusCode::UNPROCESSABLE_ENTITY, json!({"values": values, "errors": errors})).await
        }
        Err(err) => failed(&err),
    }
}

fn held_context(held: &HeldRegistration, token: &str) -> Value {
    let status = held.detail.registration.status;
    json!({
        "event": summary(&held.event), "status": status.as_str(), "position": held.detail.position,
        "name": held.detail.candidate.name,
        "cancelled": status == crate::domain::RegistrationStatus::Cancelled,
        // Only a confirmed place goes to someone else, and only when someone is waiting.
        "others_waiting": status == crate::domain::RegistrationStatus::Confirmed && held.event.waitlisted_count > 0,
        "ics_url": format!("/calendar/registrations/{token}.ics"),
        "cancel_url": format!("/r/{token}/cancel"),
        "manage_url": format!("/r/{token}"),
        "token": token,
        "offer": (status == crate::domain::RegistrationStatus::Offered).then(|| json!({
            "expires": held.detail.registration.offer_expires_at
                .map(|at| at.with_timezone(&held.event.timezone.tz()).format("%H:%M on %A %-d %B %Y").to_string()),
            "claim_url": format!("/r/{token}/claim"),
        })),
        "ticket": status.holds_place().then(|| json!({
            "code": held.detail.registration.ticket_code.grouped(),
            "image": format!("/r/{token}/ticket.png"),
            "print_url": format!("/r/{token}/ticket"),
        })),
    })
}

/// `GET /r/{token}/ticket`: the ticket alone, to print or show on a phone.
#[handler]
pub async fn ticket(svc: Data<&Services>, Path(token): Path<String>) -> Response {
    match registrations::held(&svc, &token).await {
        Ok(held) if held.detail.registration.status.holds_place() => page(StatusCode::OK, "ticket.html", held_context(&held, &token), None),
        Ok(_) => not_found(),
        Err(err) => failed(&err),
    }
}

/// `GET /r/{token}/ticket.png`: the ticket's QR code.
#[handler]
pub async fn ticket_image(svc: Data<&Services>, Path(token): Path<String>) -> Response {
    match registrations::held(&svc, &token).await {
        Ok(held) if held.detail.registration.status.holds_place() => match held.detail.registration.ticket_code.qr_png(8) {
            Ok(png) => Response::builder()
                .content_type("image/png")
                .header(header::CACHE_CONTROL, "no-store")
                .header("X-Content-Type-Options", "nosniff")
                .body(png),
            Err(err) => {
                tracing::error!(error = %err, "drawing a ticket's QR code");
                failed(&ServiceError::Internal(anyhow::anyhow!(err)))
            }
        },
        Ok(_) => not_found(),
        Err(err) => failed(&err),
    }
}

#[derive(Deserialize)]
pub struct ManageQuery {
    done: Option<String>,
}

/// `GET /r/{token}`: the holder's place, its ticket, and its interviews at a fair.
#[handler]
pub async fn manage(req: &Request, svc: Data<&Services>, Path(token): Path<String>, Query(q): Query<ManageQuery>) -> Response {
    let held = match registrations::held(&svc, &token).await {
        Ok(held) => held,
        Err(err) => return failed(&err),
    };
    let mut context = held_context(&held, &token);
    match super::interviews::context(&svc, &held).await {
        Ok(interviews) => context["interviews"] = interviews,
        Err(err) => return failed(&err),
    }
    context["flash"] = json!(match q.done.as_deref() {
        Some("interview_booked") => Some("Your interview is booked. We have emailed you an invitation for your calendar."),
        Some("interview_freed") => Some("Your interview is freed for someone else."),
        _ => None,
    });
    let csrf = csrf::token(req, secure(&svc));
    context["csrf"] = json!(csrf.token);
    page(StatusCode::OK, "manage.html", context, csrf.set_cookie)
}

/// `GET /r/{token}/cancel`: asks to confirm before cancelling.
#[handler]
pub async fn confirm_cancel(req: &Request, svc: Data<&Services>, Path(token): Path<String>) -> Response {
    match registrations::held(&svc, &token).await {
        Ok(held) => {
            let csrf = csrf::token(req, secure(&svc));
            let mut context = held_context(&held, &token);
            context["csrf"] = json!(csrf.token);
            page(StatusCode::OK, "cancel.html", context, csrf.set_cookie)
        }
        Err(err) => failed(&err),
    }
}

/// A form that carries nothing but its CSRF token (a button).
#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub(crate) csrf: String,
}

/// `POST /r/{token}/claim`: claims an offered place, and shows it as it now is (or why not).
#[handler]
pub async fn claim(req: &Request, svc: Data<&Services>, Path(token): Path<String>, Form(form): Form<CsrfOnly>) -> Response {
    if !csrf::verify(req, &form.csrf, svc.settings.public_url()) {
        return expired_form();
    }
    let (status, extra) = match registrations::claim(&svc, &token).await {
        Ok(_) => (StatusCode::OK, json!({"just_claimed": true})),
        Err(ServiceError::Conflict(problem)) => (StatusCode::CONFLICT, json!({"problem": super::manage::events::capitalise(&problem)})),
        Err(err) => return failed(&err),
    };
    match registrations::held(&svc, &token).await {
        Ok(held) => {
            let mut context = held_context(&held, &token);
            if let (Some(target), Value::Object(extra)) = (context.as_object_mut(), extra) {
                target.extend(extra);
            }
            let csrf = csrf::token(req, secure(&svc));
            context["csrf"] = json!(csrf.token);
            page(status, "manage.html", context, csrf.set_cookie)
        }
        Err(err) => failed(&err),
    }
}

/// `POST /r/{token}/cancel`: cancels, and shows the place as it now is.
#[handler]
pub async fn cancel(req: &Request, svc: Data<&Services>, Path(token): Path<String>, Form(form): Form<CsrfOnly>) -> Response {
    if !csrf::verify(req, &form.csrf, svc.settings.public_url()) {
        return expired_form();
    }
    match registrations::cancel_by_token(&svc, &token).await {
        Ok(held) => {
            let mut context = held_context(&held, &token);
            context["just_cancelled"] = json!(true);
            page(StatusCode::OK, "manage.html", context, None)
        }
        Err(err) => failed(&err),
    }
}

/// `GET /campaigns/{slug}`: the campaign, its upcoming events and its feed.
#[handler]
pub async fn show_campaign(svc: Data<&Services>, Path(slug): Path<String>) -> Response {
    let campaign = match campaigns::get_by_slug(&svc, &slug).await {
        Ok(campaign) => campaign,
        Err(err) => return failed(&err),
    };
    let filter = EventFilter { campaign_id: Some(campaign.id), from: Some(svc.clock.now()), ..EventFilter::default() };
    let found = match events::list(&svc, None, filter, PageRequest { limit: 200, offset: 0 }).await {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let feed = format!("{}/calendar/campaigns/{}.ics", svc.settings.public_url(), campaign.slug);
    let webcal = feed.replacen("https://", "webcal://", 1).replacen("http://", "webcal://", 1);
    let context = json!({
        "name": campaign.name, "description": campaign.description,
        "starts_on": campaign.starts_on.format("%-d %B %Y").to_string(), "ends_on": campaign.ends_on.format("%-d %B %Y").to_string(),
        "events": found.items.iter().map(summary).collect::<Vec<_>>(),
        "feed_url": feed, "webcal_url": webcal,
    });
    page(StatusCode::OK, "campaign.html", context, None)
}

pub(crate) fn provider_types(selected: &str) -> Vec<Value> {
    ProviderType::ALL
        .iter()
        .map(|p| json!({"value": p.as_str(), "label": p.as_str().replace('_', " "), "selected": p.as_str() == selected}))
        .collect()
}

/// `GET /employers/signup`
#[handler]
pub async fn signup_form(req: &Request, svc: Data<&Services>) -> Response {
    let csrf = csrf::token(req, secure(&svc));
    let context = json!({"csrf": csrf.token, "values": {}, "errors": {}, "provider_types": provider_types("")});
    page(StatusCode::OK, "signup.html", context, csrf.set_cookie)
}

#[derive(Deserialize, serde::Serialize)]
pub struct SignupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    provider_type: String,
    #[serde(default)]
    cqc_location_id: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    website: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_email: String,
    #[serde(default)]
    user_name: String,
    #[serde(default)]
    user_email: String,
    #[serde(default, rename = "user_password", alias = "password")]
    password: String,
}

/// `POST /employers/signup`: a pending employer and its first user, or the form again with each
/// problem next to its field and everything typed kept (but the password).
#[handler]
pub async fn signup(req: &Request, svc: Data<&Services>, Form(form): Form<SignupForm>) -> Response {
    if !csrf::verify(req, &form.csrf, svc.settings.public_url()) {
        return expired_form();
    }
    let input = SignupInput {
        employer: EmployerInput {
            name: form.name.clone(),
            provider_type: form.provider_type.clone(),
            cqc_location_id: optional(&form.cqc_location_id),
            address: form.address.clone(),
            postcode: form.postcode.clone(),
            latitude: None,
            longitude: None,
            website: optional(&form.website),
            contact_name: form.contact_name.clone(),
            contact_email: form.contact_email.clone(),
        },
        user_email: form.user_email.clone(),
        user_name: form.user_name.clone(),
        password: form.password.clone(),
    };
    let again = |status: StatusCode, errors: HashMap<String, String>, problem: Option<String>| {
        let csrf = csrf::token(req, secure(&svc));
        let mut values = serde_json::to_value(&form).unwrap_or_default();
        values["user_password"] = json!("");
        let summary = summary_of(&errors);
        let context = json!({"csrf": csrf.token, "values": values, "errors": errors, "summary": summary, "problem": problem, "provider_types": provider_types(&form.provider_type)});
        page(status, "signup.html", context, csrf.set_cookie)
    };
    let (employer, user) = match employers::parse_signup(input) {
        Ok(parsed) => parsed,
        Err(errors) => return again(StatusCode::UNPROCESSABLE_ENTITY, errors_by_field(&errors), None),
    };
    match employers::sign_up(&svc, employer, user, client(req)).await {
        Ok(created) => page(StatusCode::CREATED, "signed_up.html", json!({"name": created.name}), None),
        Err(ServiceError::AlreadyExists(_)) => again(
            StatusCode::CONFLICT,
            HashMap::new(),
            Some("An employer with this CQC location id, or a user with this sign-in email, is already registered.".into()),
        ),
        Err(ServiceError::Invalid(errors)) => again(StatusCode::UNPROCESSABLE_ENTITY, errors_by_field(&errors), None),
        Err(err) => failed(&err),
    }
}

/// `GET /static/{file}`: the design system's compiled files and ours, built into the binary.
#[handler]
pub fn static_file(Path(file): Path<String>) -> Response {
    match STATIC_FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => {
            Response::builder().content_type(*content_type).header(header::CACHE_CONTROL, "public, max-age=3600").body(*body)
        }
        None => not_found(),
    }
}

#[derive(Deserialize)]
pub struct RsvpQuery {
    answer: Option<String>,
}

/// `GET /rsvp/{token}`: the invitation's event and the question. Reading it answers nothing, so
/// a mail scanner that follows the invitation's links changes nothing.
#[handler]
pub async fn rsvp_page(req: &Request, svc: Data<&Services>, Path(token): Path<String>, Query(q): Query<RsvpQuery>) -> Response {
    rsvp_form(req, &svc, &token, StatusCode::OK, json!({"chosen": q.answer, "values": {}, "errors": {}})).await
}

#[derive(Deserialize)]
pub struct RsvpForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    answer: String,
    consent_share_with_employers: Option<String>,
    /// The answers to the event's questions, each named `answers_{question id}`.
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

/// `POST /rsvp/{token}`: answers the invitation, as `POST /api/v1/rsvp/{token}` does.
#[handler]
pub async fn rsvp_answer(req: &Request, svc: Data<&Services>, Path(token): Path<String>, Form(form): Form<RsvpForm>) -> Response {
    if !csrf::verify(req, &form.csrf, svc.settings.public_url()) {
        return expired_form();
    }
    let mut values = json!({"consent_share_with_employers": form.consent_share_with_employers.is_some()});
    let given = given_in(&form.rest, &mut values);
    let refused = |problem: String| json!({"chosen": form.answer, "values": values, "errors": {}, "problem": problem});
    let Ok(answer) = invitations::Answer::parse(&form.answer) else {
        return rsvp_form(req, &svc, &token, StatusCode::UNPROCESSABLE_ENTITY, refused("Choose yes or no.".into())).await;
    };
    let reply = invitations::Reply { answer, given, consent_share_with_employers: form.consent_share_with_employers.is_some() };
    let outcome = match invitations::rsvp(&svc, &token, reply, client(req)).await {
        Ok(outcome) => outcome,
        Err(refusal_of @ (ServiceError::Closed(_) | ServiceError::Conflict(_))) => {
            let reason = match invitations::invitation(&svc, &token).await {
                Ok(invitation) => refusal(&invitation.event, &refusal_of),
                Err(_) => refusal_of.to_string(),
            };
            return rsvp_form(req, &svc, &token, StatusCode::CONFLICT, refused(reason)).await;
        }
        Err(ServiceError::AlreadyRegistered) => {
            let reason = "this email address already has a place (or a place on the waiting list) for this event";
            return rsvp_form(req, &svc, &token, StatusCode::CONFLICT, refused(reason.into())).await;
        }
        Err(ServiceError::Invalid(errors)) => {
            let sent_back = json!({"chosen": form.answer, "values": values, "errors": form_errors(&errors)});
            return rsvp_form(req, &svc, &token, StatusCode::UNPROCESSABLE_ENTITY, sent_back).await;
        }
        Err(err) => return failed(&err),
    };
    let event = match events::get(&svc, None, outcome.event_id).await {
        Ok(event) => event,
        Err(err) => return failed(&err),
    };
    let registration = outcome.registration.as_ref();
    let context = json!({
        "done": true, "event": summary(&event), "answer": outcome.answer.recorded(),
        "status": registration.map(|r| r.status.clone()), "position": registration.and_then(|r| r.position),
        "manage_url": registration.map(|r| r.manage_url.clone()),
    });
    page(StatusCode::OK, "rsvp.html", context, None)
}

/// The invitation's page: the event, the question and, for a yes, the event's questions; with
/// `form` sent back, what was chosen and typed with why it was refused (`problem`, or `errors`
/// beside the fields).
async fn rsvp_form(req: &Request, svc: &Services, token: &str, status: StatusCode, form: Value) -> Response {
    let invitation = match invitations::invitation(svc, token).await {
        Ok(invitation) => invitation,
        Err(err) => return failed(&err),
    };
    let asked = match questions::list(svc, None, invitation.event.id, false).await {
        Ok(asked) => asked,
        Err(err) => return failed(&err),
    };
    let csrf = csrf::token(req, secure(svc));
    let closed = (status == StatusCode::OK)
        .then(|| check_open(&invitation.event, svc.clock.now()).err())
        .flatten()
        .map(|refused| format!("This event is not taking bookings: {}.", refusal(&invitation.event, &refused)));
    let context = json!({
        "event": summary(&invitation.event), "name": invitation.name, "token": token, "csrf": csrf.token,
        "answered": invitation.answer.map(Answer::recorded), "open": closed.is_none(), "closed": closed,
        "fair": invitation.event.kind == crate::domain::EventKind::RecruitmentFair,
        "questions": question_fields(&asked), "summary": form_summary(&form, &asked), "form": form,
    });
    page(status, "rsvp.html", context, csrf.set_cookie)
}

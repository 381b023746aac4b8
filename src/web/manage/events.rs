//! `/manage/events`: the list with search and filters; create, edit, publish, cancel with a
//! reason, duplicate and delete a draft; an event's page with its stands to confirm or decline.

use chrono::{DateTime, Duration, Utc};
use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{check_csrf, engagements, event_of, event_row, status_label, viewer};
use crate::domain::{EventKind, EventStatus, ExhibitorStatus, Validation, ValidationErrors, local_instant};
use crate::service::engagements::EngagementPlan;
use crate::service::events::{self, Event, EventChanges, EventFilter, EventInput, NewEvent, rules};
use crate::service::{PageRequest, ServiceError, Services, campaigns, exhibitors, venues};
use crate::web::pages::{errors_by_field, failed, not_found};
use crate::web::session::{Viewer, query_value, see_other};

const PER_PAGE: u64 = 25;

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    kind: Option<String>,
    page: Option<u64>,
}

fn kinds() -> Vec<Value> {
    EventKind::ALL.iter().filter(|k| **k != EventKind::SchoolEngagement).map(|k| json!({"value": k.as_str(), "label": k.label()})).collect()
}

fn statuses() -> Vec<Value> {
    [EventStatus::Draft, EventStatus::Published, EventStatus::Cancelled, EventStatus::Completed]
        .iter()
        .map(|s| json!({"value": s.as_str(), "label": status_label(*s)}))
        .collect()
}

/// `GET /manage/events`
#[handler]
pub async fn list(req: &Request, svc: Data<&Services>, Query(q): Query<ListQuery>) -> Response {
    let viewer = viewer!(req, &svc);
    let mut v = Validation::new();
    let status = v.check_opt("status", q.status.clone().filter(|s| !s.is_empty()), |s| EventStatus::parse(&s)).flatten();
    let kind = v.check_opt("kind", q.kind.clone().filter(|s| !s.is_empty()), |s| EventKind::parse(&s)).flatten();
    let search = q.q.clone().map(|s| s.trim().chars().take(events::TITLE_MAX).collect::<String>()).filter(|s| !s.is_empty());
    let page_no = q.page.unwrap_or(1).clamp(1, 10_000);
    let filter = EventFilter { kind, status, q: search.clone(), ..EventFilter::default() };
    let found =
        match events::list(&svc, Some(&viewer.actor), filter, PageRequest { limit: PER_PAGE, offset: (page_no - 1) * PER_PAGE }).await {
            Ok(found) => found,
            Err(err) => return failed(&err),
        };
    let pages = found.total.div_ceil(PER_PAGE).max(1);
    let link = |n: u64| {
        format!(
            "/manage/events?q={}&status={}&kind={}&page={n}",
            query_value(search.as_deref().unwrap_or("")),
            status.map_or("", |s| s.as_str()),
            kind.map_or("", |k| k.as_str())
        )
    };
    let context = json!({
        "events": found.items.iter().map(event_row).collect::<Vec<_>>(), "total": found.total,
        "values": {"q": search, "status": status.map(|s| s.as_str()), "kind": kind.map(|k| k.as_str())},
        "statuses": statuses(), "kinds": kinds(),
        "page": page_no, "pages": pages,
        "previous": (page_no > 1).then(|| link(page_no - 1)), "next": (page_no < pages).then(|| link(page_no + 1)),
        "flash": flash(crate::web::portal::flash_of(req).as_deref()),
    });
    viewer.render(StatusCode::OK, "manage/events.html", context, "events")
}

fn flash(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => "The event is saved as a draft.",
        "saved" => "Your changes are saved.",
        "published" => "The event is published.",
        "cancelled" => "The event is cancelled. Everyone with a place is being told.",
        "deleted" => "The draft is deleted.",
        "duplicated" => "This is a copy, saved as a draft. Change its date before you publish it.",
        "confirmed" => "The stand is confirmed. The employer is being told.",
        "declined" => "The stand request is declined.",
        "planned" => "The engagement is saved as a draft. Publish it to tell the employers taking part.",
        "recorded" => "What the engagement achieved is recorded.",
        _ => return None,
    })
}

/// The event form as typed: every field a string, so a page sent back shows what was typed.
#[derive(Deserialize, Serialize, Default)]
pub struct EventForm {
    #[serde(default)]
    #[serde(skip_serializing)]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) campaign_id: String,
    #[serde(default)]
    pub(super) venue_id: String,
    #[serde(default)]
    pub(super) online_url: String,
    #[serde(default)]
    pub(super) timezone: String,
    #[serde(default)]
    pub(super) starts_at_day: String,
    #[serde(default)]
    pub(super) starts_at_month: String,
    #[serde(default)]
    pub(super) starts_at_year: String,
    #[serde(default)]
    pub(super) starts_at_time: String,
    #[serde(default)]
    pub(super) ends_at_day: String,
    #[serde(default)]
    pub(super) ends_at_month: String,
    #[serde(default)]
    pub(super) ends_at_year: String,
    #[serde(default)]
    pub(super) ends_at_time: String,
    #[serde(default)]
    pub(super) registration_opens_at_day: String,
    #[serde(default)]
    pub(super) registration_opens_at_month: String,
    #[serde(default)]
    pub(super) registration_opens_at_year: String,
    #[serde(default)]
    pub(super) registration_opens_at_time: String,
    #[serde(default)]
    pub(super) registration_closes_at_day: String,
    #[serde(default)]
    pub(super) registration_closes_at_month: String,
    #[serde(default)]
    pub(super) registration_closes_at_year: String,
    #[serde(default)]
    pub(super) registration_closes_at_time: String,
    #[serde(default)]
    pub(super) capacity: String,
    #[serde(default)]
    pub(super) max_exhibitors: String,
    #[serde(default)]
    pub(super) offer_hours: String,
}

fn blank(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

impl EventForm {
    pub(super) fn of(event: &Event) -> Self {
        let tz = event.timezone.tz();
        let part = |t: Option<DateTime<Utc>>, format: &str| t.map(|t| t.with_timezone(&tz).format(format).to_string()).unwrap_or_default();
        let (day, month, year, time) = ("%-d", "%-m", "%Y", "%H:%M");
        EventForm {
            csrf: String::new(),
            kind: event.kind.as_str().to_owned(),
            title: event.title.clone(),
            description: event.description.clone(),
            campaign_id: event.campaign_id.map(|id| id.to_string()).unwrap_or_default(),
            venue_id: event.venue_id.map(|id| id.to_string()).unwrap_or_default(),
            online_url: event.online_url.clone().unwrap_or_default(),
            timezone: event.timezone.name().to_owned(),
            starts_at_day: part(Some(event.starts_at), day),
            starts_at_month: part(Some(event.starts_at), month),
            starts_at_year: part(Some(event.starts_at), year),
            starts_at_time: part(Some(event.starts_at), time),
            ends_at_day: part(Some(event.ends_at), day),
            ends_at_month: part(Some(event.ends_at), month),
            ends_at_year: part(Some(event.ends_at), year),
            ends_at_time: part(Some(event.ends_at), time),
            registration_opens_at_day: part(event.registration_opens_at, day),
            registration_opens_at_month: part(event.registration_opens_at, month),
            registration_opens_at_year: part(event.registration_opens_at, year),
            registration_opens_at_time: part(event.registration_opens_at, time),
            registration_closes_at_day: part(event.registration_closes_at, day),
            registration_closes_at_month: part(event.registration_closes_at, month),
            registration_closes_at_year: part(event.registration_closes_at, year),
            registration_closes_at_time: part(event.registration_closes_at, time),
            capacity: event.capacity.map(|c| c.to_string()).unwrap_or_default(),
            max_exhibitors: event.max_exhibitors.map(|c| c.to_string()).unwrap_or_default(),
            offer_hours: event.offer_hours.map(|h| h.to_string()).unwrap_or_default(),
        }
    }

    /// The event the form describes, checked by the same rules as the API's. Times are read in
    /// the event's zone; an optional time left blank is no time.
    fn parse(&self) -> Result<NewEvent, ValidationErrors> {
        self.parse_with(None, EngagementPlan::default(), Validation::new())
    }

    /// As [`Self::parse`], for a school engagement's form: its school and plan, and the problems
    /// `v` already holds of the fields read before.
    pub(super) fn parse_with(
        &self,
        school_id: Option<Uuid>,
        plan: EngagementPlan,
        mut v: Validation,
    ) -> Result<NewEvent, ValidationErrors> {
        let zone = blank(&self.timezone).unwrap_or("Europe/London");
        let tz = rules::timezone(zone).map(|z| z.tz()).unwrap_or(chrono_tz::Europe::London);
        let mut instant = |field: &str, [day, month, year, time]: [&str; 4], required: bool| {
            let parts = [day, month, year, time].map(blank);
            if parts.iter().all(Option::is_none) && !required {
                return None;
            }
            let [Some(day), Some(month), Some(year), Some(time)] = parts else {
                v.fail(field, "needs a day, a month, a year and a time");
                return None;
            };
            // A time typed as 1000 is 10:00.
            let time = if time.len() == 4 && time.bytes().all(|b| b.is_ascii_digit()) {
                format!("{}:{}", &time[..2], &time[2..])
            } else {
                time.to_owned()
            };
            v.check(field, local_instant(&format!("{year}-{month}-{day}"), &time, tz))
        };
        let starts_at =
            instant("starts_at", [&self.starts_at_day, &self.starts_at_month, &self.starts_at_year, &self.starts_at_time], true);
        let ends_at = instant("ends_at", [&self.ends_at_day, &self.ends_at_month, &self.ends_at_year, &self.ends_at_time], true);
        let opens = instant(
            "registration_opens_at",
            [
                &self.registration_opens_at_day,
                &self.registration_opens_at_month,
                &self.registration_opens_at_year,
                &self.registration_opens_at_time,
            ],
            false,
        );
        let closes = instant(
            "registration_closes_at",
            [
                &self.registration_closes_at_day,
                &self.registration_closes_at_month,
                &self.registration_closes_at_year,
                &self.registration_closes_at_time,
            ],
            false,
        );
        let id = |v: &mut Validation, field: &str, s: &str| {
            blank(s).and_then(|s| v.check(field, Uuid::parse_str(s).map_err(|_| String::from("is not one of the choices"))))
        };
        let campaign_id = id(&mut v, "campaign_id", &self.campaign_id);
        let venue_id = id(&mut v, "venue_id", &self.venue_id);
        let number = |v: &mut Validation, field: &str, s: &str| {
            blank(s).and_then(|s| v.check(field, s.parse::<i64>().map_err(|_| String::from("must be a whole number"))))
        };
        let capacity = number(&mut v, "capacity", &self.capacity);
        let max_exhibitors = number(&mut v, "max_exhibitors", &self.max_exhibitors);
        let offer_hours = number(&mut v, "offer_hours", &self.offer_hours);
        // Times that could not be read are already reported in `v`, so the answer is an error
        // either way; the placeholders only let the other fields be checked in the same pass.
        let placeholder = Utc::now();
        let input = EventInput {
            kind: self.kind.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            campaign_id,
            venue_id,
            online_url: blank(&self.online_url).map(str::to_owned),
            starts_at: starts_at.unwrap_or(placeholder),
            ends_at: ends_at.unwrap_or(placeholder + Duration::hours(1)),
            timezone: Some(zone.to_owned()),
            capacity,
            registration_opens_at: opens,
            registration_closes_at: closes,
            school_id,
            max_exhibitors,
            offer_hours,
        };
        NewEvent::parse(input, plan, v)
    }
}

const LABELS: &[(&str, &str)] = &[
    ("kind", "Kind of event"),
    ("title", "Title"),
    ("description", "Description"),
    ("campaign_id", "Campaign"),
    ("venue_id", "Venue"),
    ("online_url", "Online address"),
    ("timezone", "Time zone"),
    ("starts_at", "Starts"),
    ("ends_at", "Ends"),
    ("registration_opens_at", "Booking opens"),
    ("registration_closes_at", "Booking closes"),
    ("capacity", "Places"),
    ("max_exhibitors", "Most stands"),
    ("offer_hours", "Hours to claim a freed place"),
    ("reason", "Reason"),
    ("stand_label", "Stand label"),
];

/// The error summary's items, in the order the form shows the fields.
pub(crate) fn summary(errors: &std::collections::HashMap<String, String>, labels: &[(&str, &str)]) -> Vec<Value> {
    let mut items: Vec<(usize, Value)> = errors
        .iter()
        .map(|(field, message)| {
            let position = labels.iter().position(|(f, _)| f == field).unwrap_or(usize::MAX);
            let label = labels.get(position).map_or("", |(_, l)| *l);
            (position, json!({"field": field, "label": label, "message": message}))
        })
        .collect();
    items.sort_by_key(|(position, _)| *position);
    items.into_iter().map(|(_, item)| item).collect()
}

async fn form_page(
    svc: &Services,
    viewer: &Viewer,
    status: StatusCode,
    event: Option<&Event>,
    form: &EventForm,
    errors: Option<&ValidationErrors>,
) -> Response {
    let all = PageRequest { limit: 200, offset: 0 };
    let (campaigns, venues) = match (campaigns::list(svc, all).await, venues::list(svc, all).await) {
        (Ok(c), Ok(v)) => (c.items, v.items),
        (Err(err), _) | (_, Err(err)) => return failed(&err),
    };
    let errors = errors.map(errors_by_field).unwrap_or_default();
    let context = json!({
        "event": event.map(|e| json!({"id": e.id, "title": e.title, "status": e.status.as_str()})),
        "values": form, "errors": errors, "summary": summary(&errors, LABELS),
        "kinds": kinds(),
        "campaigns": campaigns.iter().map(|c| json!({"value": c.id, "label": c.name})).collect::<Vec<_>>(),
        "venues": venues.iter().map(|v| json!({"value": v.id, "label": format!("{}, {}", v.name, v.postcode)})).collect::<Vec<_>>(),
    });
    viewer.render(status, "manage/event_form.html", context, "events")
}

/// `GET /manage/events/new`
#[handler]
pub async fn new_form(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = viewer!(req, &svc);
    let form = EventForm { kind: EventKind::RecruitmentFair.as_str().to_owned(), timezone: "Europe/London".into(), ..EventForm::default() };
    form_page(&svc, &viewer, StatusCode::OK, None, &form, None).await
}

/// `POST /manage/events/new`
#[handler]
pub async fn create(req: &Request, svc: Data<&Services>, Form(form): Form<EventForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let outcome = match form.parse() {
        Ok(new) => events::create(&svc, &viewer.actor, new).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    match outcome {
        Ok(event) => see_other(&format!("/manage/events/{}?done=created", event.id), None),
        Err(ServiceError::Invalid(errors)) => form_page(&svc, &viewer, StatusCode::UNPROCESSABLE_ENTITY, None, &form, Some(&errors)).await,
        Err(err) => failed(&err),
    }
}

/// `GET /manage/events/{id}`
#[handler]
pub async fn show(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let viewer = viewer!(req, &svc);
    let event = match event_of(&svc, &viewer, &id).await {
        Ok(event) => event,
        Err(response) => return response,
    };
    show_page(&svc, &viewer, &event, StatusCode::OK, flash(crate::web::portal::flash_of(req).as_deref()), None).await
}

async fn show_page(
    svc: &Services,
    viewer: &Viewer,
    event: &Event,
    status: StatusCode,
    flash: Option<&str>,
    problem: Option<&str>,
) -> Response {
    let engagement = engagements::engagement_context(svc, viewer, event, None, None).await;
    show_page_with(svc, viewer, event, status, flash, problem, engagement).await
}

/// The engagement's page again with the outcome form as typed and its problems (422).
pub(super) async fn show_with_outcome(
    svc: &Services,
    viewer: &Viewer,
    event: &Event,
    form: &engagements::OutcomeForm,
    errors: &ValidationErrors,
) -> Response {
    let engagement = engagements::engagement_context(svc, viewer, event, Some(form), Some(errors)).await;
    show_page_with(svc, viewer, event, StatusCode::UNPROCESSABLE_ENTITY, None, None, engagement).await
}

async fn show_page_with(
    svc: &Services,
    viewer: &Viewer,
    event: &Event,
    status: StatusCode,
    flash: Option<&str>,
    problem: Option<&str>,
    engagement: Option<Value>,
) -> Response {
    let stands = if event.kind == EventKind::RecruitmentFair {
        match exhibitors::list(svc, Some(&viewer.actor), event.id).await {
            Ok(stands) => stands,
            Err(err) => return failed(&err),
        }
    } else {
        Vec::new()
    };
    let venue = match event.venue_id {
        Some(id) => venues::get(svc, id).await.ok().map(|v| format!("{}, {}", v.name, v.postcode)),
        None => None,
    };
    let context = json!({
        "event": event_row(event), "description": event.description, "venue": venue, "online_url": event.online_url,
        "cancel_reason": event.cancel_reason, "sequence": event.sequence, "offer_hours": event.offer_hours,
        "draft": event.status == EventStatus::Draft, "published": event.status == EventStatus::Published,
        "public_url": format!("/events/{}", event.id),
        "stands": stands.iter().map(|s| json!({
            "id": s.exhibitor.id, "employer": s.employer.name, "status": s.exhibitor.status.as_str(),
            "requested": s.exhibitor.status == ExhibitorStatus::Requested, "label": s.exhibitor.stand_label,
            "staff": s.exhibitor.staff_count, "roles": s.exhibitor.roles_offered,
        })).collect::<Vec<_>>(),
        "fair": event.kind == EventKind::RecruitmentFair, "max_exhibitors": event.max_exhibitors,
        "engagement": engagement,
        "flash": flash, "problem": problem,
    });
    viewer.render(status, "manage/event.html", context, "events")
}

/// `GET /manage/events/{id}/edit`
#[handler]
pub async fn edit_form(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let viewer = viewer!(req, &svc);
    let event = match event_of(&svc, &viewer, &id).await {
        Ok(event) => event,
        Err(response) => return response,
    };
    if event.kind == EventKind::SchoolEngagement {
        return see_other(&format!("/manage/engagements/{}/edit", event.id), None);
    }
    form_page(&svc, &viewer, StatusCode::OK, Some(&event), &EventForm::of(&event), None).await
}

/// `POST /manage/events/{id}/edit`: the whole event as the form shows it.
#[handler]
pub async fn update(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<EventForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let event = match event_of(&svc, &viewer, &id).await {
        Ok(event) => event,
        Err(response) => return response,
    };
    if event.kind == EventKind::SchoolEngagement {
        // Its plan has its own form; this one would drop the school and the employers.
        return see_other(&format!("/manage/engagements/{}/edit", event.id), None);
    }
    let outcome = match form.parse() {
        Ok(new) => events::update(&svc, &viewer.actor, event.id, EventChanges::from(new)).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    match outcome {
        Ok(event) => see_other(&format!("/manage/events/{}?done=saved", event.id), None),
        Err(ServiceError::Invalid(errors)) => {
            form_page(&svc, &viewer, StatusCode::UNPROCESSABLE_ENTITY, Some(&event), &form, Some(&errors)).await
        }
        Err(err @ (ServiceError::Conflict(_) | ServiceError::Closed(_))) => {
            show_page(&svc, &viewer, &event, StatusCode::CONFLICT, None, Some(&err.to_string())).await
        }
        Err(err) => failed(&err),
    }
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    stand_label: String,
}

/// The answer to a change made from the event's page: back to it, or to it with why not.
pub(super) async fn after(svc: &Services, viewer: &Viewer, id: Uuid, outcome: Result<&str, ServiceError>) -> Response {
    match outcome {
        Ok(done) => see_other(&format!("/manage/events/{id}?done={done}"), None),
        Err(err @ (ServiceError::Conflict(_) | ServiceError::Closed(_) | ServiceError::Invalid(_))) => {
            let problem = match &err {
                ServiceError::Invalid(errors) => {
                    errors.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
                }
                other => other.to_string(),
            };
            match events::get(svc, Some(&viewer.actor), id).await {
                Ok(event) => show_page(svc, viewer, &event, StatusCode::CONFLICT, None, Some(&capitalise(&problem))).await,
                Err(err) => failed(&err),
            }
        }
        Err(err) => failed(&err),
    }
}

pub(crate) fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `POST /manage/events/{id}/publish`
#[handler]
pub async fn publish(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<ActionForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let Ok(id) = Uuid::parse_str(&id) else { return not_found() };
    let outcome = events::publish(&svc, &viewer.actor, id).await.map(|_| "published");
    after(&svc, &viewer, id, outcome).await
}

/// `POST /manage/events/{id}/cancel`
#[handler]
pub async fn cancel(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<ActionForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let Ok(id) = Uuid::parse_str(&id) else { return not_found() };
    let outcome = match blank(&form.reason).map(rules::reason).transpose() {
        Ok(reason) => events::cancel(&svc, &viewer.actor, id, reason).await.map(|_| "cancelled"),
        Err(message) => Err(ServiceError::invalid("reason", message)),
    };
    after(&svc, &viewer, id, outcome).await
}

/// `POST /manage/events/{id}/delete`: drafts only.
#[handler]
pub async fn delete(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<ActionForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let Ok(id) = Uuid::parse_str(&id) else { return not_found() };
    match events::delete(&svc, &viewer.actor, id).await {
        Ok(()) => see_other("/manage/events?done=deleted", None),
        Err(err) => after(&svc, &viewer, id, Err(err)).await,
    }
}

/// `POST /manage/events/{id}/duplicate`
#[handler]
pub async fn duplicate(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<ActionForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let Ok(id) = Uuid::parse_str(&id) else { return not_found() };
    match events::duplicate(&svc, &viewer.actor, id).await {
        Ok(copy) => see_other(&format!("/manage/events/{}/edit?done=duplicated", copy.id), None),
        Err(err) => after(&svc, &viewer, id, Err(err)).await,
    }
}

/// `POST /manage/events/{id}/exhibitors/{xid}/confirm`
#[handler]
pub async fn confirm_stand(
    req: &Request,
    svc: Data<&Services>,
    Path((id, xid)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let (Ok(id), Ok(xid)) = (Uuid::parse_str(&id), Uuid::parse_str(&xid)) else { return not_found() };
    let outcome = match exhibitors::stand_label(&form.stand_label) {
        Ok(label) => exhibitors::confirm(&svc, &viewer.actor, id, xid, label).await.map(|_| "confirmed"),
        Err(message) => Err(ServiceError::invalid("stand_label", message)),
    };
    after(&svc, &viewer, id, outcome).await
}

/// `POST /manage/events/{id}/exhibitors/{xid}/decline`
#[handler]
pub async fn decline_stand(
    req: &Request,
    svc: Data<&Services>,
    Path((id, xid)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let (Ok(id), Ok(xid)) = (Uuid::parse_str(&id), Uuid::parse_str(&xid)) else { return not_found() };
    let outcome = exhibitors::decide(&svc, &viewer.actor, id, xid, exhibitors::StandDecision::Decline).await.map(|_| "declined");
    after(&svc, &viewer, id, outcome).await
}

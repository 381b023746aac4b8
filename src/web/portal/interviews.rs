//! `/employer/interviews`: an employer's confirmed stands at upcoming fairs, each with a form to
//! cut its interview time into slots, and who has booked which time.

use poem::http::StatusCode;
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{flash_of, portal_viewer};
use crate::domain::{ExhibitorStatus, Validation, describe_span, local_instant};
use crate::service::events::Event;
use crate::service::policy::Area;
use crate::service::slots::{self, CutInput, Slot};
use crate::service::{ServiceError, Services, events, exhibitors};
use crate::web::manage::check_csrf;
use crate::web::manage::events::{capitalise, summary};
use crate::web::pages::{errors_by_field, failed, not_found, when};
use crate::web::session::{Viewer, see_other};

const FIELDS: &[(&str, &str)] = &[
    ("starts_at", "First interview starts"),
    ("ends_at", "Interviews end by"),
    ("minutes", "Minutes each"),
    ("interviewers", "Interviewers at once"),
];

#[derive(Deserialize)]
pub struct CutForm {
    #[serde(default)]
    pub(crate) csrf: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    interviewers: String,
}

/// A stand's form as it was sent, with its problems, to show again.
pub(crate) struct Sent<'a> {
    pub exhibitor_id: Uuid,
    pub form: &'a CutForm,
    pub errors: std::collections::HashMap<String, String>,
}

/// What the form of one stand shows: its slots so far, and the form (as sent, with its
/// problems, when it was this stand's), posting to `action`. Shared with the back office.
pub(crate) fn stand_row(
    fair: &Event,
    stand_id: Uuid,
    stand_label: Option<&str>,
    fair_slots: &[Slot],
    sent: Option<&Sent<'_>>,
    action: String,
) -> Value {
    let tz = fair.timezone.tz();
    let clock = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%H:%M").to_string();
    let mine: Vec<&Slot> = fair_slots.iter().filter(|s| s.exhibitor_id == stand_id).collect();
    let (values, errors, summary_items) = match sent {
        Some(s) if s.exhibitor_id == stand_id => (
            json!({"starts_at": s.form.starts_at, "ends_at": s.form.ends_at, "minutes": s.form.minutes, "interviewers": s.form.interviewers}),
            json!(s.errors),
            summary(&s.errors, FIELDS),
        ),
        _ => (
            json!({"starts_at": clock(fair.starts_at), "ends_at": clock(fair.ends_at), "minutes": "15", "interviewers": "1"}),
            json!({}),
            Vec::new(),
        ),
    };
    json!({
        "id": stand_id, "event_id": fair.id, "title": fair.title, "when": when(fair), "stand_label": stand_label, "action": action,
        "slots": mine.iter().map(|s| json!({"time": format!("{}–{}", clock(s.starts_at), clock(s.ends_at)), "booked": s.booked, "interviewers": s.interviewers})).collect::<Vec<_>>(),
        "booked": mine.iter().map(|s| s.booked).sum::<i32>(),
        "values": values, "errors": errors, "summary": summary_items,
    })
}

/// The error summary of the stands' forms: each problem linked to its stand's field.
pub(crate) fn summary_of_rows(rows: &[Value]) -> Vec<Value> {
    let mut all = Vec::new();
    for row in rows {
        if let Some(items) = row["summary"].as_array() {
            all.extend(items.iter().map(|i| {
                let mut i = i.clone();
                i["field"] = json!(format!("{}-{}", row["id"].as_str().unwrap_or_default(), i["field"].as_str().unwrap_or_default()));
                i
            }));
        }
    }
    all
}

/// The form's times, of the fair's own day in its time zone, and its numbers: the slots to cut,
/// or the fields that are not what they must be.
pub(crate) fn cut_input(fair: &Event, form: &CutForm) -> Result<CutInput, ServiceError> {
    let tz = fair.timezone.tz();
    let day = fair.starts_at.with_timezone(&tz).format("%Y-%m-%d").to_string();
    let mut v = Validation::new();
    let starts_at = v.check("starts_at", local_instant(&day, &form.starts_at, tz));
    let ends_at = v.check("ends_at", local_instant(&day, &form.ends_at, tz));
    let minutes = v.check("minutes", form.minutes.trim().parse::<i64>().map_err(|_| "must be a whole number of minutes".to_owned()));
    let interviewers = v.check("interviewers", form.interviewers.trim().parse::<i64>().map_err(|_| "must be a whole number".to_owned()));
    v.finish()?;
    match (minutes, interviewers) {
        (Some(minutes), Some(interviewers)) => Ok(CutInput { starts_at, ends_at, minutes, interviewers }),
        _ => Err(ServiceError::invalid("minutes", "must be a whole number of minutes")),
    }
}

async fn page(
    svc: &Services,
    viewer: &Viewer,
    status: StatusCode,
    sent: Option<Sent<'_>>,
    problem: Option<String>,
    done: Option<&str>,
) -> Response {
    let Some(employer_id) = viewer.actor.employer_id else { return not_found() };
    let stands = match exhibitors::of_employer(svc, &viewer.actor, employer_id).await {
        Ok(stands) => stands,
        Err(err) => return failed(&err),
    };
    let now = svc.clock.now();
    let mut rows: Vec<Value> = Vec::new();
    for stand in stands.iter().filter(|x| x.status == ExhibitorStatus::Confirmed) {
        let Ok(fair) = events::get(svc, Some(&viewer.actor), stand.event_id).await else { continue };
        if fair.ends_at <= now {
            continue;
        }
        let fair_slots = slots::of_fair(svc, fair.id).await.unwrap_or_default();
        let action = format!("/employer/interviews/{}/{}", fair.id, stand.id);
        rows.push(stand_row(&fair, stand.id, stand.stand_label.as_deref(), &fair_slots, sent.as_ref(), action));
    }
    let schedule = match slots::schedule(svc, &viewer.actor, employer_id).await {
        Ok(bookings) => bookings,
        Err(err) => return failed(&err),
    };
    let all_summary = summary_of_rows(&rows);
    let mut tz_of = std::collections::HashMap::new();
    let mut booked: Vec<Value> = Vec::new();
    for b in schedule.iter().filter(|b| b.slot.ends_at > now) {
        let tz = match tz_of.get(&b.slot.event_id) {
            Some(tz) => *tz,
            None => {
                let tz = events::get(svc, Some(&viewer.actor), b.slot.event_id)
                    .await
                    .map(|e| e.timezone.tz())
                    .unwrap_or(chrono_tz::Europe::London);
                tz_of.insert(b.slot.event_id, tz);
                tz
            }
        };
        booked.push(json!({"when": describe_span(b.slot.starts_at, b.slot.ends_at, tz), "stand": b.slot.stand_label, "name": b.candidate_name, "email": b.candidate_email}));
    }
    let context = json!({
        "stands": rows, "booked": booked, "summary": all_summary, "problem": problem,
        "flash": match done { Some("cut") => Some("The interview slots are made. Candidates with a place can book them now."), _ => None },
    });
    viewer.render(status, "employer/interviews.html", context, "interviews")
}

/// `GET /employer/interviews`
#[handler]
pub async fn list(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    page(&svc, &viewer, StatusCode::OK, None, None, flash_of(req).as_deref()).await
}

/// `POST /employer/interviews/{event_id}/{xid}`: cuts a stand's time into slots.
#[handler]
pub async fn cut(req: &Request, svc: Data<&Services>, Path((id, xid)): Path<(String, String)>, Form(form): Form<CutForm>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    check_csrf!(req, &svc, &form.csrf);
    let (Ok(event_id), Ok(xid)) = (Uuid::parse_str(&id), Uuid::parse_str(&xid)) else { return not_found() };
    let fair = match events::get(&svc, Some(&viewer.actor), event_id).await {
        Ok(fair) => fair,
        Err(err) => return failed(&err),
    };
    let outcome = match cut_input(&fair, &form) {
        Ok(input) => slots::cut(&svc, &viewer.actor, event_id, xid, input).await.map(|_| ()),
        Err(err) => Err(err),
    };
    match outcome {
        Ok(()) => see_other("/employer/interviews?done=cut", None),
        Err(ServiceError::Invalid(errors)) => {
            let sent = Sent { exhibitor_id: xid, form: &form, errors: errors_by_field(&errors) };
            page(&svc, &viewer, StatusCode::UNPROCESSABLE_ENTITY, Some(sent), None, None).await
        }
        Err(ServiceError::Conflict(text)) => page(&svc, &viewer, StatusCode::CONFLICT, None, Some(capitalise(&text)), None).await,
        Err(err) => failed(&err),
    }
}

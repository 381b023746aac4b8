//! The school portal (`/school`, SPEC §5a): a school's careers leader decides link requests
//! (with each employer's kind of care, distance and note), sees linked employers and their
//! contacts, the engagements planned with the school, records what each achieved, and keeps the
//! school's record of encounters by year group and employer (Gatsby Benchmark 5), as CSV too.

use std::collections::BTreeMap;

use poem::http::StatusCode;
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{flash_of, portal_viewer};
use crate::domain::{EventKind, LinkStatus, ValidationErrors};
use crate::service::engagements::{self, Encounter, activity_label};
use crate::service::events::{self, Event, EventFilter};
use crate::service::policy::Area;
use crate::service::school_links::{self, Decision, LinkFilter};
use crate::service::schools::{self, School};
use crate::service::{PageRequest, ServiceError, Services, exports};
use crate::web::manage::check_csrf;
use crate::web::manage::engagements::{OutcomeForm, engagement_context};
use crate::web::pages::{CsrfOnly, failed, not_found, when};
use crate::web::session::{Viewer, see_other};

async fn own(svc: &Services, viewer: &Viewer) -> Result<School, Response> {
    let Some(id) = viewer.actor.school_id else { return Err(not_found()) };
    schools::get(svc, &viewer.actor, id).await.map_err(|err| failed(&err))
}

macro_rules! school_of {
    ($svc:expr, $viewer:expr) => {
        match own($svc, $viewer).await {
            Ok(school) => school,
            Err(response) => return response,
        }
    };
}

fn flash(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "accepted" => "The link is accepted; the employer is being told.",
        "declined" => "The link is declined.",
        "ended" => "The link is ended.",
        "recorded" => "What the engagement achieved is recorded.",
        _ => return None,
    })
}

/// `GET /school`: link requests to decide, linked employers, and engagements.
#[handler]
pub async fn home(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::School);
    let school = school_of!(&svc, &viewer);
    let filter = LinkFilter { school_id: Some(school.id), ..LinkFilter::default() };
    let links = match school_links::views(&svc, &viewer.actor, filter).await {
        Ok(links) => links,
        Err(err) => return failed(&err),
    };
    let engagement_filter = EventFilter { kind: Some(EventKind::SchoolEngagement), ..EventFilter::default() };
    let planned = match events::list(&svc, Some(&viewer.actor), engagement_filter, PageRequest { limit: 100, offset: 0 }).await {
        Ok(found) => found.items,
        Err(err) => return failed(&err),
    };
    let link = |v: &school_links::LinkView| {
        json!({
            "id": v.link.id, "employer": v.employer.name, "kind": v.employer.provider_type.as_str().replace('_', " "),
            "town": school_links::town(&v.employer.address), "notes": v.link.notes, "status": v.link.status.as_str(),
            "distance": v.distance_km.map(|d| format!("{d:.1}")),
            "contact": v.contact.as_ref().map(|(name, email)| json!({"name": name, "email": email})),
        })
    };
    let now = svc.clock.now();
    let context = json!({
        "organisation": {"name": school.name}, "name": viewer.user.name, "flash": flash(flash_of(req).as_deref()),
        "requests": links.iter().filter(|v| v.link.status == LinkStatus::Requested).map(link).collect::<Vec<_>>(),
        "linked": links.iter().filter(|v| v.link.status == LinkStatus::Active).map(link).collect::<Vec<_>>(),
        "engagements": planned.iter().map(|e| json!({
            "id": e.id, "title": e.title, "when": when(e), "held": e.starts_at <= now,
            "recorded": e.engagement.as_ref().is_some_and(|p| p.outcome.is_some()),
            "activity": e.engagement.as_ref().map(|p| activity_label(p.activity)),
        })).collect::<Vec<_>>(),
    });
    viewer.render(StatusCode::OK, "school/home.html", context, "home")
}

async fn decide(req: &Request, svc: &Services, id: &str, csrf: &str, decision: Decision, done: &str) -> Response {
    let viewer = portal_viewer!(req, svc, Area::School);
    check_csrf!(req, svc, csrf);
    let Ok(id) = Uuid::parse_str(id) else { return not_found() };
    match school_links::decide(svc, &viewer.actor, id, decision).await {
        Ok(_) => see_other(&format!("/school?done={done}"), None),
        Err(err) => failed(&err),
    }
}

/// `POST /school/links/{id}/accept`
#[handler]
pub async fn accept(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<CsrfOnly>) -> Response {
    decide(req, &svc, &id, &form.csrf, Decision::Accept, "accepted").await
}

/// `POST /school/links/{id}/decline`
#[handler]
pub async fn decline(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<CsrfOnly>) -> Response {
    decide(req, &svc, &id, &form.csrf, Decision::Decline, "declined").await
}

/// `POST /school/links/{id}/end`
#[handler]
pub async fn end(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<CsrfOnly>) -> Response {
    decide(req, &svc, &id, &form.csrf, Decision::End, "ended").await
}

/// The school's own engagement `id`; any other event is not found.
async fn engagement_of(svc: &Services, viewer: &Viewer, id: &str) -> Result<Event, Response> {
    let Ok(id) = Uuid::parse_str(id) else { return Err(not_found()) };
    match events::get(svc, Some(&viewer.actor), id).await {
        Ok(event) if event.kind == EventKind::SchoolEngagement && event.school_id == viewer.actor.school_id => Ok(event),
        Ok(_) => Err(not_found()),
        Err(err) => Err(failed(&err)),
    }
}

async fn engagement_page(
    svc: &Services,
    viewer: &Viewer,
    event: &Event,
    code: StatusCode,
    typed: Option<(&OutcomeForm, &ValidationErrors)>,
    problem: Option<String>,
    done: Option<&str>,
) -> Response {
    let engagement = engagement_context(svc, viewer, event, typed.map(|t| t.0), typed.map(|t| t.1)).await;
    let context = json!({
        "event": {"id": event.id, "title": event.title, "when": when(event)}, "engagement": engagement,
        "outcome_action": format!("/school/engagements/{}/outcome", event.id), "problem": problem, "flash": flash(done),
        "description": event.description,
    });
    viewer.render(code, "school/engagement.html", context, "home")
}

/// `GET /school/engagements/{id}`
#[handler]
pub async fn engagement_show(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::School);
    let event = match engagement_of(&svc, &viewer, &id).await {
        Ok(event) => event,
        Err(response) => return response,
    };
    engagement_page(&svc, &viewer, &event, StatusCode::OK, None, None, flash_of(req).as_deref()).await
}

/// `POST /school/engagements/{id}/outcome`
#[handler]
pub async fn record_outcome(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<OutcomeForm>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::School);
    check_csrf!(req, &svc, form.csrf());
    let event = match engagement_of(&svc, &viewer, &id).await {
        Ok(event) => event,
        Err(response) => return response,
    };
    let outcome = match form.parse() {
        Ok(outcome) => engagements::record_outcome(&svc, &viewer.actor, event.id, outcome).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    match outcome {
        Ok(_) => see_other(&format!("/school/engagements/{}?done=recorded", event.id), None),
        Err(ServiceError::Invalid(errors)) => {
            engagement_page(&svc, &viewer, &event, StatusCode::UNPROCESSABLE_ENTITY, Some((&form, &errors)), None, None).await
        }
        Err(err @ ServiceError::Conflict(_)) => {
            engagement_page(&svc, &viewer, &event, StatusCode::CONFLICT, None, Some(err.to_string()), None).await
        }
        Err(err) => failed(&err),
    }
}

/// The record grouped two ways: by year group and by employer.
fn grouped(encounters: &[Encounter]) -> (Vec<Value>, Vec<Value>) {
    let mut by_year: BTreeMap<i32, (u32, u32, std::collections::BTreeSet<String>)> = BTreeMap::new();
    let mut by_employer: BTreeMap<String, (u32, std::collections::BTreeSet<i32>)> = BTreeMap::new();
    for e in encounters {
        for year in &e.year_groups {
            let entry = by_year.entry(*year).or_default();
            entry.0 += 1;
            entry.1 += u32::from(e.meaningful.is_met());
            entry.2.extend(e.employers.iter().cloned());
        }
        for name in &e.employers {
            let entry = by_employer.entry(name.clone()).or_default();
            entry.0 += 1;
            entry.1.extend(e.year_groups.iter().copied());
        }
    }
    let years = by_year
        .into_iter()
        .map(|(year, (count, meaningful, employers))| {
            json!({"year": year, "count": count, "meaningful": meaningful, "employers": employers.into_iter().collect::<Vec<_>>().join(", ")})
        })
        .collect();
    let employers = by_employer
        .into_iter()
        .map(|(name, (count, years))| {
            json!({"employer": name, "count": count, "years": years.into_iter().map(|y| format!("Year {y}")).collect::<Vec<_>>().join(", ")})
        })
        .collect();
    (years, employers)
}

/// `GET /school/encounters`
#[handler]
pub async fn encounters_page(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::School);
    let school = school_of!(&svc, &viewer);
    let found = match engagements::encounters(&svc, &viewer.actor, school.id).await {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let (years, employers) = grouped(&found);
    let tz = chrono_tz::Europe::London;
    let context = json!({
        "organisation": {"name": school.name}, "by_year": years, "by_employer": employers,
        "encounters": found.iter().map(|e| json!({
            "title": e.title, "date": e.starts_at.with_timezone(&tz).format("%-d %B %Y").to_string(),
            "activity": activity_label(e.activity), "employers": e.employers.join(", "),
            "years": e.year_groups.iter().map(|y| format!("Year {y}")).collect::<Vec<_>>().join(", "),
            "pupils": e.pupils_reached, "meaningful": e.meaningful.is_met(),
        })).collect::<Vec<_>>(),
    });
    viewer.render(StatusCode::OK, "school/encounters.html", context, "encounters")
}

/// `GET /school/encounters.csv`: one row per engagement, employer and year group.
#[handler]
pub async fn encounters_csv(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::School);
    let school = school_of!(&svc, &viewer);
    match engagements::encounters(&svc, &viewer.actor, school.id).await {
        Ok(found) => Response::builder()
            .content_type("text/csv; charset=utf-8")
            .header("Content-Disposition", "attachment; filename=\"encounters.csv\"")
            .header("Cache-Control", "no-store")
            .body(exports::encounters(&found)),
        Err(err) => failed(&err),
    }
}

//! `/manage/schools` and `/manage/school-links`: the schools, each with its links (accept,
//! decline, end) and the invitation of its careers leader as a school user; every link in one
//! list, filtered by status.

use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::events::summary;
use super::{check_csrf, viewer};
use crate::domain::{EventKind, LinkStatus, ValidationErrors};
use crate::service::accounts::{self, NewInvitation};
use crate::service::events::{self, EventFilter};
use crate::service::school_links::{self, Decision, LinkDetail, LinkFilter};
use crate::service::schools::{self, School};
use crate::service::{PageRequest, ServiceError, Services};
use crate::web::pages::{errors_by_field, failed, not_found};
use crate::web::session::{Viewer, query_value, see_other};

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    done: Option<String>,
}

fn flash(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "accepted" => Some("The link is accepted; the employer is being told."),
        "declined" => Some("The link is declined."),
        "ended" => Some("The link is ended."),
        "invited" => Some("The careers leader is invited: they get a mail to choose their password."),
        _ => None,
    }
}

fn link_row(d: &LinkDetail) -> Value {
    let status = d.link.status;
    json!({
        "id": d.link.id, "employer": d.employer_name, "school": d.school_name, "school_id": d.link.school_id,
        "status": status.as_str(), "notes": d.link.notes,
        "may_decide": status == LinkStatus::Requested, "may_end": matches!(status, LinkStatus::Requested | LinkStatus::Active),
    })
}

/// `GET /manage/schools`
#[handler]
pub async fn list(req: &Request, svc: Data<&Services>, Query(q): Query<ListQuery>) -> Response {
    let viewer = viewer!(req, &svc);
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| s.chars().take(200).collect::<String>());
    let found = match schools::list(&svc, &viewer.actor, search.clone(), PageRequest { limit: 200, offset: 0 }).await {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let context = json!({
        "schools": found.items.iter().map(|s| json!({
            "id": s.id, "name": s.name, "urn": s.urn, "postcode": s.postcode, "district": s.district,
            "leader": s.careers_leader_name, "placed": s.latitude.is_some(),
        })).collect::<Vec<_>>(),
        "total": found.total, "values": {"q": search},
    });
    viewer.render(StatusCode::OK, "manage/schools.html", context, "schools")
}

#[derive(Deserialize, Serialize, Default)]
pub struct InviteForm {
    #[serde(default, skip_serializing)]
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) email: String,
}

async fn school_page(
    svc: &Services,
    viewer: &Viewer,
    school: &School,
    code: StatusCode,
    form: &InviteForm,
    errors: Option<&ValidationErrors>,
    flash: Option<&str>,
) -> Response {
    let filter = LinkFilter { school_id: Some(school.id), ..LinkFilter::default() };
    let held = match school_links::list(svc, &viewer.actor, filter, PageRequest { limit: 200, offset: 0 }).await {
        Ok(found) => found.items,
        Err(err) => return failed(&err),
    };
    let filter = EventFilter { kind: Some(EventKind::SchoolEngagement), school_id: Some(school.id), ..EventFilter::default() };
    let engagements = match events::list(svc, Some(&viewer.actor), filter, PageRequest { limit: 100, offset: 0 }).await {
        Ok(found) => found.items,
        Err(err) => return failed(&err),
    };
    let errors = errors.map(errors_by_field).unwrap_or_default();
    let context = json!({
        "engagements": engagements.iter().map(super::event_row).collect::<Vec<_>>(),
        "school": {
            "id": school.id, "name": school.name, "urn": school.urn, "address": school.address, "postcode": school.postcode,
            "district": school.district, "leader": school.careers_leader_name, "leader_email": school.careers_leader_email,
        },
        "links": held.iter().map(link_row).collect::<Vec<_>>(), "back": format!("/manage/schools/{}", school.id),
        "values": form, "errors": errors, "summary": summary(&errors, &[("name", "Name"), ("email", "Email address")]), "flash": flash,
    });
    viewer.render(code, "manage/school.html", context, "schools")
}

async fn school_of(svc: &Services, viewer: &Viewer, id: &str) -> Result<School, Response> {
    let Ok(id) = Uuid::parse_str(id) else { return Err(not_found()) };
    schools::get(svc, &viewer.actor, id).await.map_err(|err| failed(&err))
}

/// `GET /manage/schools/{id}`
#[handler]
pub async fn show(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Query(q): Query<ListQuery>) -> Response {
    let viewer = viewer!(req, &svc);
    let school = match school_of(&svc, &viewer, &id).await {
        Ok(school) => school,
        Err(response) => return response,
    };
    let form = InviteForm {
        csrf: String::new(),
        name: school.careers_leader_name.clone().unwrap_or_default(),
        email: school.careers_leader_email.clone().unwrap_or_default(),
    };
    school_page(&svc, &viewer, &school, StatusCode::OK, &form, None, flash(q.done.as_deref())).await
}

/// `POST /manage/schools/{id}/invite`: the careers leader becomes a school user, by mail.
#[handler]
pub async fn invite(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<InviteForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let school = match school_of(&svc, &viewer, &id).await {
        Ok(school) => school,
        Err(response) => return response,
    };
    let outcome = match NewInvitation::parse(&form.email, &form.name, "school", None, Some(school.id)) {
        Ok(new) => accounts::invite(&svc, &viewer.actor, new).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    match outcome {
        Ok(_) => see_other(&format!("/manage/schools/{}?done=invited", school.id), None),
        Err(ServiceError::Invalid(errors)) => {
            school_page(&svc, &viewer, &school, StatusCode::UNPROCESSABLE_ENTITY, &form, Some(&errors), None).await
        }
        Err(ServiceError::AlreadyExists(_)) => {
            let errors = ValidationErrors::single("email", "already belongs to a user");
            school_page(&svc, &viewer, &school, StatusCode::CONFLICT, &form, Some(&errors), None).await
        }
        Err(err) => failed(&err),
    }
}

/// `GET /manage/school-links`
#[handler]
pub async fn links(req: &Request, svc: Data<&Services>, Query(q): Query<ListQuery>) -> Response {
    let viewer = viewer!(req, &svc);
    let status = q.status.as_deref().filter(|s| !s.is_empty()).and_then(|s| LinkStatus::parse(s).ok());
    let filter = LinkFilter { status, ..LinkFilter::default() };
    let found = match school_links::list(&svc, &viewer.actor, filter, PageRequest { limit: 200, offset: 0 }).await {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let statuses: Vec<Value> = LinkStatus::ALL.iter().map(|s| json!({"value": s.as_str(), "label": s.as_str()})).collect();
    let context = json!({
        "links": found.items.iter().map(link_row).collect::<Vec<_>>(), "total": found.total,
        "statuses": statuses, "values": {"status": status.map(|s| s.as_str())},
        "back": format!("/manage/school-links?status={}", query_value(status.map_or("", |s| s.as_str()))),
        "flash": flash(q.done.as_deref()),
    });
    viewer.render(StatusCode::OK, "manage/school_links.html", context, "schools")
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
}

async fn decide(req: &Request, svc: &Services, id: &str, form: &DecideForm, decision: Decision) -> Response {
    let viewer = viewer!(req, svc);
    check_csrf!(req, svc, &form.csrf);
    let Ok(id) = Uuid::parse_str(id) else { return not_found() };
    let done = match decision {
        Decision::Accept => "accepted",
        Decision::Decline => "declined",
        Decision::End => "ended",
    };
    // Back to the page the decision was made on: a school's, or the list.
    let back = if (form.back.starts_with("/manage/schools/") || form.back.starts_with("/manage/school-links"))
        && !form.back.contains(['\r', '\n', '#'])
    {
        form.back.clone()
    } else {
        "/manage/school-links".to_owned()
    };
    let join = if back.contains('?') { '&' } else { '?' };
    match school_links::decide(svc, &viewer.actor, id, decision).await {
        Ok(_) => see_other(&format!("{back}{join}done={done}"), None),
        Err(err @ ServiceError::Conflict(_)) => {
            let text = err.to_string();
            let message = json!({"title": "That cannot be done now", "text": format!("The link was not changed: {text}."), "back_href": back, "back_label": "Back"});
            viewer.render(StatusCode::CONFLICT, "message.html", message, "schools")
        }
        Err(err) => failed(&err),
    }
}

/// `POST /manage/school-links/{id}/accept`
#[handler]
pub async fn accept(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<DecideForm>) -> Response {
    decide(req, &svc, &id, &form, Decision::Accept).await
}

/// `POST /manage/school-links/{id}/decline`
#[handler]
pub async fn decline(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<DecideForm>) -> Response {
    decide(req, &svc, &id, &form, Decision::Decline).await
}

/// `POST /manage/school-links/{id}/end`
#[handler]
pub async fn end(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<DecideForm>) -> Response {
    decide(req, &svc, &id, &form, Decision::End).await
}

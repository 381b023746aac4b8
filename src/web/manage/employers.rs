//! `/manage/employers`: the approval queue first, then every employer; approve and suspend.

use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{check_csrf, viewer};
use crate::domain::EmployerStatus;
use crate::service::employers::{self, EmployerFilter};
use crate::service::{PageRequest, ServiceError, Services};
use crate::web::pages::{failed, not_found};
use crate::web::session::{Viewer, see_other};

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    done: Option<String>,
}

/// `GET /manage/employers`
#[handler]
pub async fn list(req: &Request, svc: Data<&Services>, Query(q): Query<ListQuery>) -> Response {
    let viewer = viewer!(req, &svc);
    list_page(&svc, &viewer, q, StatusCode::OK, None).await
}

async fn list_page(svc: &Services, viewer: &Viewer, q: ListQuery, code: StatusCode, problem: Option<String>) -> Response {
    let status = q.status.as_deref().filter(|s| !s.is_empty()).and_then(|s| EmployerStatus::parse(s).ok());
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| s.chars().take(200).collect::<String>());
    let filter = EmployerFilter { status, provider_type: None, q: search.clone() };
    let found = match employers::list(svc, &viewer.actor, filter, PageRequest { limit: 200, offset: 0 }).await {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let mut items = found.items;
    // The queue first: pending employers wait for a decision.
    items.sort_by_key(|e| (e.status != EmployerStatus::Pending, e.name.to_lowercase()));
    let flash = match q.done.as_deref() {
        Some("approved") => Some("The employer is approved and is being told."),
        Some("suspended") => Some("The employer is suspended."),
        _ => None,
    };
    let statuses = [EmployerStatus::Pending, EmployerStatus::Approved, EmployerStatus::Suspended]
        .iter()
        .map(|s| json!({"value": s.as_str(), "label": s.as_str()}))
        .collect::<Vec<_>>();
    let context = json!({
        "employers": items.iter().map(|e| json!({
            "id": e.id, "name": e.name, "provider_type": e.provider_type.as_str().replace('_', " "), "postcode": e.postcode,
            "contact": e.contact_name, "contact_email": e.contact_email, "status": e.status.as_str(),
            "pending": e.status == EmployerStatus::Pending, "approved": e.status == EmployerStatus::Approved,
            "suspended": e.status == EmployerStatus::Suspended,
        })).collect::<Vec<_>>(),
        "total": found.total, "statuses": statuses, "values": {"status": status.map(|s| s.as_str()), "q": search},
        "flash": flash, "problem": problem,
    });
    viewer.render(code, "manage/employers.html", context, "employers")
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
}

async fn decide(req: &Request, svc: &Services, id: &str, form: &ActionForm, approving: bool) -> Response {
    let viewer = viewer!(req, svc);
    check_csrf!(req, svc, &form.csrf);
    let Ok(id) = Uuid::parse_str(id) else { return not_found() };
    let outcome = if approving {
        employers::approve(svc, &viewer.actor, id).await.map(|_| "approved")
    } else {
        employers::suspend(svc, &viewer.actor, id).await.map(|_| "suspended")
    };
    match outcome {
        Ok(done) => see_other(&format!("/manage/employers?done={done}"), None),
        Err(err @ ServiceError::Conflict(_)) => {
            let q = ListQuery { status: None, q: None, done: None };
            list_page(svc, &viewer, q, StatusCode::CONFLICT, Some(err.to_string())).await
        }
        Err(err) => failed(&err),
    }
}

/// `POST /manage/employers/{id}/approve`
#[handler]
pub async fn approve(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<ActionForm>) -> Response {
    decide(req, &svc, &id, &form, true).await
}

/// `POST /manage/employers/{id}/suspend`
#[handler]
pub async fn suspend(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<ActionForm>) -> Response {
    decide(req, &svc, &id, &form, false).await
}

//! `/manage/users` (admins): everyone who can sign in; invite a user by email, change a staff
//! member's role, deactivate. The policy refuses anyone else (the service answers 403, the
//! page a 404 as for any page of another role).

use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::events::summary;
use super::{check_csrf, viewer};
use crate::domain::{Role, ValidationErrors};
use crate::service::accounts::{self, NewInvitation};
use crate::service::employers::EmployerFilter;
use crate::service::{PageRequest, ServiceError, Services, employers, policy, schools, users};
use crate::web::pages::{errors_by_field, failed, not_found};
use crate::web::session::{Viewer, see_other};

const LABELS: &[(&str, &str)] =
    &[("email", "Email address"), ("name", "Name"), ("role", "Role"), ("employer_id", "Employer"), ("school_id", "School")];

#[derive(Deserialize)]
pub struct ListQuery {
    done: Option<String>,
}

#[derive(Deserialize, Serialize, Default)]
pub struct InviteForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    employer_id: String,
    #[serde(default)]
    school_id: String,
}

fn roles() -> Vec<Value> {
    Role::ALL.iter().map(|r| json!({"value": r.as_str(), "label": r.as_str()})).collect()
}

async fn page(
    svc: &Services,
    viewer: &Viewer,
    code: StatusCode,
    form: &InviteForm,
    errors: Option<&ValidationErrors>,
    flash: Option<&str>,
) -> Response {
    let all = PageRequest { limit: 200, offset: 0 };
    let listed = match users::list(svc, &viewer.actor, all).await {
        Ok(listed) => listed,
        // Only admins reach this page; for anyone else it does not exist.
        Err(ServiceError::Forbidden) => return not_found(),
        Err(err) => return failed(&err),
    };
    let employer_list = match employers::list(svc, &viewer.actor, EmployerFilter { status: None, provider_type: None, q: None }, all).await
    {
        Ok(found) => found.items,
        Err(err) => return failed(&err),
    };
    let school_list = match schools::list(svc, &viewer.actor, None, all).await {
        Ok(found) => found.items,
        Err(err) => return failed(&err),
    };
    let errors = errors.map(errors_by_field).unwrap_or_default();
    let context = json!({
        "users": listed.items.iter().map(|u| json!({
            "id": u.id, "name": u.name, "email": u.email, "role": u.role.as_str(), "active": u.active,
            "me": u.id == viewer.actor.user_id,
            "other_role": policy::swapped_staff_role(u.role).map(Role::as_str),
        })).collect::<Vec<_>>(),
        "total": listed.total, "roles": roles(),
        "employers": employer_list.iter().map(|e| json!({"value": e.id, "label": e.name})).collect::<Vec<_>>(),
        "schools": school_list.iter().map(|s| json!({"value": s.id, "label": s.name})).collect::<Vec<_>>(),
        "values": form, "errors": errors, "summary": summary(&errors, LABELS), "flash": flash,
    });
    viewer.render(code, "manage/users.html", context, "users")
}

/// `GET /manage/users`
#[handler]
pub async fn list(req: &Request, svc: Data<&Services>, Query(q): Query<ListQuery>) -> Response {
    let viewer = viewer!(req, &svc);
    let flash = match q.done.as_deref() {
        Some("invited") => Some("The invitation is on its way."),
        Some("role") => Some("The role is changed; they sign in again."),
        Some("deactivated") => Some("The user is deactivated and signed out."),
        _ => None,
    };
    let form = InviteForm { role: "organiser".into(), ..InviteForm::default() };
    page(&svc, &viewer, StatusCode::OK, &form, None, flash).await
}

fn optional_id(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s.trim()).ok()
}

/// `POST /manage/users/invite`
#[handler]
pub async fn invite(req: &Request, svc: Data<&Services>, Form(form): Form<InviteForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    // The organisation only counts for the role that has one.
    let (employer_id, school_id) = match form.role.as_str() {
        "employer" => (optional_id(&form.employer_id), None),
        "school" => (None, optional_id(&form.school_id)),
        _ => (None, None),
    };
    let outcome = match NewInvitation::parse(&form.email, &form.name, &form.role, employer_id, school_id) {
        Ok(new) => accounts::invite(&svc, &viewer.actor, new).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    match outcome {
        Ok(_) => see_other("/manage/users?done=invited", None),
        Err(ServiceError::Invalid(errors)) => page(&svc, &viewer, StatusCode::UNPROCESSABLE_ENTITY, &form, Some(&errors), None).await,
        Err(ServiceError::AlreadyExists(_)) => {
            let errors = ValidationErrors::single("email", "already belongs to a user");
            page(&svc, &viewer, StatusCode::CONFLICT, &form, Some(&errors), None).await
        }
        Err(ServiceError::Forbidden) => not_found(),
        Err(err) => failed(&err),
    }
}

#[derive(Deserialize)]
pub struct UserAction {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

/// `POST /manage/users/{id}/role`
#[handler]
pub async fn change_role(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<UserAction>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let (Ok(id), Ok(role)) = (Uuid::parse_str(&id), Role::parse(&form.role)) else { return not_found() };
    answer(&svc, &viewer, users::change_role(&svc, &viewer.actor, id, role).await.map(|_| "role")).await
}

/// `POST /manage/users/{id}/deactivate`
#[handler]
pub async fn deactivate(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<UserAction>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let Ok(id) = Uuid::parse_str(&id) else { return not_found() };
    answer(&svc, &viewer, users::deactivate(&svc, &viewer.actor, id).await.map(|_| "deactivated")).await
}

async fn answer(svc: &Services, viewer: &Viewer, outcome: Result<&str, ServiceError>) -> Response {
    match outcome {
        Ok(done) => see_other(&format!("/manage/users?done={done}"), None),
        Err(ServiceError::Forbidden) => not_found(),
        Err(err @ (ServiceError::Conflict(_) | ServiceError::Invalid(_))) => {
            let text = match &err {
                ServiceError::Invalid(errors) => {
                    errors.0.iter().map(|e| format!("{} {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
                }
                other => other.to_string(),
            };
            let form = InviteForm { role: "organiser".into(), ..InviteForm::default() };
            let errors = ValidationErrors::single("users", text);
            page(svc, viewer, StatusCode::CONFLICT, &form, Some(&errors), None).await
        }
        Err(err) => failed(&err),
    }
}

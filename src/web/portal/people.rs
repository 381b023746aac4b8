//! `/employer/people/{event_id}`: the attendees of a fair who agreed to share their details with
//! the employers there, and what came of meeting each (met, interviewed, offered, started). The
//! rules (a confirmed stand, their consent, each stage once) are the service's.

use poem::http::StatusCode;
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::portal_viewer;
use crate::service::events;
use crate::service::outcomes::{self, OutcomeInput, Stage};
use crate::service::policy::Area;
use crate::service::{ServiceError, Services};
use crate::web::manage::check_csrf;
use crate::web::manage::events::capitalise;
use crate::web::pages::{errors_by_field, failed, not_found, when};
use crate::web::session::{Viewer, see_other};

#[derive(Deserialize)]
pub struct StageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    registration_id: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    note: String,
}

pub(crate) fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Met => "Met",
        Stage::Interviewed => "Interviewed",
        Stage::Offered => "Offered a job",
        Stage::Started => "Started",
    }
}

async fn people_page(svc: &Services, viewer: &Viewer, event_id: Uuid, status: StatusCode, extra: Value) -> Response {
    let Some(employer_id) = viewer.actor.employer_id else { return not_found() };
    let (fair, shared) = match (
        events::get(svc, Some(&viewer.actor), event_id).await,
        outcomes::shared_with(svc, &viewer.actor, event_id, employer_id).await,
    ) {
        (Ok(fair), Ok(shared)) => (fair, shared),
        (Err(err), _) | (_, Err(err)) => return failed(&err),
    };
    let people: Vec<Value> = shared
        .iter()
        .map(|p| {
            let reached: Vec<Stage> = p.stages.iter().map(|o| o.stage).collect();
            json!({
                "id": p.registration_id, "name": p.name, "email": p.email,
                "stages": p.stages.iter().map(|o| json!({"label": stage_label(o.stage), "note": o.note})).collect::<Vec<_>>(),
                "next": Stage::ALL.iter().filter(|s| !reached.contains(s)).map(|s| json!({"value": s.as_str(), "label": stage_label(*s)})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut context =
        json!({"event": {"id": fair.id, "title": fair.title, "when": when(&fair)}, "people": people, "errors": {}, "values": {}});
    if let (Some(target), Value::Object(extra)) = (context.as_object_mut(), extra) {
        target.extend(extra);
    }
    viewer.render(status, "employer/people.html", context, "stands")
}

/// `GET /employer/people/{event_id}`
#[handler]
pub async fn list(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    let Ok(event_id) = Uuid::parse_str(&id) else { return not_found() };
    let flash = (super::flash_of(req).as_deref() == Some("recorded")).then_some("Recorded.");
    people_page(&svc, &viewer, event_id, StatusCode::OK, json!({"flash": flash})).await
}

/// `POST /employer/people/{event_id}`: records a stage for one person.
#[handler]
pub async fn record(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<StageForm>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    check_csrf!(req, &svc, &form.csrf);
    let (Ok(event_id), Ok(registration_id), Some(employer_id)) =
        (Uuid::parse_str(&id), Uuid::parse_str(&form.registration_id), viewer.actor.employer_id)
    else {
        return not_found();
    };
    let input = OutcomeInput { registration_id, employer_id, stage: form.stage.clone(), note: Some(form.note.clone()) };
    match outcomes::record(&svc, &viewer.actor, event_id, input, &viewer.user.name).await {
        Ok(_) => see_other(&format!("/employer/people/{event_id}?done=recorded"), None),
        Err(ServiceError::Invalid(errors)) => {
            // Shown beside the one person's form it came from, with what was typed.
            let by_field = errors_by_field(&errors);
            let extra = json!({"errors": {registration_id.to_string(): by_field}, "values": {registration_id.to_string(): {"stage": form.stage, "note": form.note}}});
            people_page(&svc, &viewer, event_id, StatusCode::UNPROCESSABLE_ENTITY, extra).await
        }
        Err(ServiceError::Conflict(problem)) => {
            people_page(&svc, &viewer, event_id, StatusCode::CONFLICT, json!({"problem": capitalise(&problem)})).await
        }
        Err(err) => failed(&err),
    }
}

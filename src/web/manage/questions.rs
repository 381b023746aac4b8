//! An event's registration questions in the back office: ask one, hide one (someone answered
//! it) or ask it again, delete one nobody answered. The rules are the service's.

use poem::http::StatusCode;
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::check_csrf;
use super::events::{capitalise, summary};
use crate::service::events::Event;
use crate::service::questions::{self, QuestionInput, QuestionPatch};
use crate::service::{ServiceError, Services};
use crate::web::pages::{errors_by_field, failed, not_found, when};
use crate::web::session::Viewer;

/// The form's fields, in its order, as the error summary names them.
const FIELDS: &[(&str, &str)] = &[("label", "Question"), ("kind", "Kind of answer"), ("options", "Options"), ("purpose", "Why you ask it")];

#[derive(Deserialize)]
pub struct QuestionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    kind: String,
    /// A choice's options, one a line.
    #[serde(default)]
    options: String,
    required: Option<String>,
    #[serde(default)]
    purpose: String,
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
}

async fn signed_in(req: &Request, svc: &Services, id: &str) -> Result<(Viewer, Event), Response> {
    let viewer = crate::web::session::require(req, svc, crate::service::policy::Area::Manage).await?;
    let event = super::event_of(svc, &viewer, id).await?;
    Ok((viewer, event))
}

async fn questions_page(svc: &Services, viewer: &Viewer, event: &Event, status: StatusCode, extra: Value) -> Response {
    let asked = match questions::list(svc, Some(&viewer.actor), event.id, true).await {
        Ok(asked) => asked,
        Err(err) => return failed(&err),
    };
    let rows: Vec<Value> = asked
        .iter()
        .map(|q| {
            json!({
                "id": q.id, "label": q.label, "purpose": q.purpose, "required": q.required, "hidden": q.hidden,
                "kind": match q.kind {
                    questions::QuestionKind::Text => "Text".to_owned(),
                    questions::QuestionKind::YesNo => "Yes or no".to_owned(),
                    questions::QuestionKind::Choice => format!("One of: {}", q.options.join(", ")),
                },
            })
        })
        .collect();
    let mut context = json!({
        "event": {"id": event.id, "title": event.title, "when": when(event)},
        "questions": rows, "values": {"kind": "text"}, "errors": {}, "summary": [],
        "kinds": [{"value": "text", "label": "Text"}, {"value": "yes_no", "label": "Yes or no"}, {"value": "choice", "label": "One of a few options"}],
    });
    if let (Some(target), Value::Object(extra)) = (context.as_object_mut(), extra) {
        target.extend(extra);
    }
    viewer.render(status, "manage/questions.html", context, "events")
}

/// `GET /manage/events/{id}/questions`
#[handler]
pub async fn list(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    match signed_in(req, &svc, &id).await {
        Ok((viewer, event)) => questions_page(&svc, &viewer, &event, StatusCode::OK, json!({})).await,
        Err(response) => response,
    }
}

/// `POST /manage/events/{id}/questions`: asks one more, or the form again with what was typed.
#[handler]
pub async fn create(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<QuestionForm>) -> Response {
    let (viewer, event) = match signed_in(req, &svc, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    check_csrf!(req, &svc, &form.csrf);
    let options: Vec<String> = form.options.lines().map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect();
    let input = QuestionInput {
        label: form.label.clone(),
        kind: form.kind.clone(),
        // Options typed for another kind are left out, not refused: the box is hidden for them.
        options: if form.kind == "choice" { options } else { Vec::new() },
        required: form.required.is_some(),
        purpose: form.purpose.clone(),
    };
    let values = json!({"label": form.label, "kind": form.kind, "options": form.options, "required": form.required.is_some(), "purpose": form.purpose});
    match questions::create(&svc, &viewer.actor, event.id, input).await {
        Ok(_) => crate::web::session::see_other(&format!("/manage/events/{}/questions", event.id), None),
        Err(ServiceError::Invalid(errors)) => {
            // `options[2]` is shown beside the one box of options.
            let mut by_field = errors_by_field(&errors);
            let per_option: Vec<String> = by_field.keys().filter(|k| k.starts_with("options[")).cloned().collect();
            for key in per_option {
                if let Some(message) = by_field.remove(&key) {
                    by_field.entry("options".to_owned()).or_insert(format!("option {}: {message}", option_number(&key)));
                }
            }
            let extra = json!({"summary": summary(&by_field, FIELDS), "errors": by_field, "values": values});
            questions_page(&svc, &viewer, &event, StatusCode::UNPROCESSABLE_ENTITY, extra).await
        }
        Err(ServiceError::Conflict(problem)) => {
            questions_page(&svc, &viewer, &event, StatusCode::CONFLICT, json!({"problem": capitalise(&problem), "values": values})).await
        }
        Err(err) => failed(&err),
    }
}

/// `options[1]` → 2, as a person counts.
fn option_number(key: &str) -> usize {
    key.trim_start_matches("options[").trim_end_matches(']').parse::<usize>().map_or(0, |i| i + 1)
}

/// `POST /manage/events/{id}/questions/{qid}/{hide|show|delete}`
#[handler]
pub async fn act(
    req: &Request,
    svc: Data<&Services>,
    Path((id, qid, action)): Path<(String, String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let (viewer, event) = match signed_in(req, &svc, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    check_csrf!(req, &svc, &form.csrf);
    let Ok(qid) = Uuid::parse_str(&qid) else { return not_found() };
    let done = match action.as_str() {
        "hide" | "show" => {
            let patch = QuestionPatch { hidden: Some(action == "hide"), ..QuestionPatch::default() };
            questions::update(&svc, &viewer.actor, event.id, qid, patch).await.map(|_| ())
        }
        "delete" => questions::delete(&svc, &viewer.actor, event.id, qid).await,
        _ => return not_found(),
    };
    match done {
        Ok(()) => crate::web::session::see_other(&format!("/manage/events/{}/questions", event.id), None),
        Err(ServiceError::Conflict(problem)) => {
            questions_page(&svc, &viewer, &event, StatusCode::CONFLICT, json!({"problem": capitalise(&problem)})).await
        }
        Err(err) => failed(&err),
    }
}

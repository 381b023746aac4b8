//! `/feedback/{token}`: the page an attendee reaches from the mail sent after an event, to rate
//! it from 1 to 5 and say what they thought, once.

use poem::http::StatusCode;
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};

use super::csrf;
use super::manage::events::summary;
use super::pages::{errors_by_field, expired_form, failed, page, secure, when};
use crate::service::feedback::{self, FeedbackInput};
use crate::service::{ServiceError, Services};

/// The form's fields, as the error summary names them.
const FIELDS: &[(&str, &str)] = &[("rating", "Your rating"), ("comment", "What you thought")];

#[derive(Deserialize)]
pub struct FeedbackForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
}

/// The page for `token`, with `form` (values, errors, or `thanks`) laid over it.
async fn feedback_page(svc: &Services, req: &Request, token: &str, status: StatusCode, form: Value) -> Response {
    let asked = match feedback::asked(svc, token).await {
        Ok(asked) => asked,
        Err(err) => return failed(&err),
    };
    let csrf = csrf::token(req, secure(svc));
    let mut context = json!({
        "event": {"title": asked.event.title, "when": when(&asked.event)},
        "answered": asked.answered, "action": format!("/feedback/{token}"), "csrf": csrf.token,
        "ratings": [
            {"value": "5", "label": "5: very good"}, {"value": "4", "label": "4: good"}, {"value": "3", "label": "3: all right"},
            {"value": "2", "label": "2: poor"}, {"value": "1", "label": "1: very poor"},
        ],
        "values": {}, "errors": {}, "summary": [],
    });
    if let (Some(target), Value::Object(extra)) = (context.as_object_mut(), form) {
        target.extend(extra);
    }
    page(status, "feedback.html", context, csrf.set_cookie)
}

/// `GET /feedback/{token}`
#[handler]
pub async fn show(req: &Request, svc: Data<&Services>, Path(token): Path<String>) -> Response {
    feedback_page(&svc, req, &token, StatusCode::OK, json!({})).await
}

/// `POST /feedback/{token}`: thanks, or the form again with what was typed.
#[handler]
pub async fn give(req: &Request, svc: Data<&Services>, Path(token): Path<String>, Form(form): Form<FeedbackForm>) -> Response {
    if !csrf::verify(req, &form.csrf, svc.settings.public_url()) {
        return expired_form();
    }
    let values = json!({"rating": form.rating, "comment": form.comment});
    // A rating that is not a number is what the service calls a missing one.
    let input = FeedbackInput { rating: form.rating.trim().parse().ok(), comment: Some(form.comment.clone()) };
    match feedback::give(&svc, &token, input).await {
        Ok(()) => feedback_page(&svc, req, &token, StatusCode::OK, json!({"thanks": true})).await,
        Err(ServiceError::Invalid(errors)) => {
            let by_field = errors_by_field(&errors);
            let extra = json!({"summary": summary(&by_field, FIELDS), "errors": by_field, "values": values});
            feedback_page(&svc, req, &token, StatusCode::UNPROCESSABLE_ENTITY, extra).await
        }
        Err(ServiceError::Conflict(_)) => feedback_page(&svc, req, &token, StatusCode::CONFLICT, json!({})).await,
        Err(err) => failed(&err),
    }
}

//! `/manage/events/{id}/invitations`: invite people by pasting their addresses or uploading a
//! CSV (one person a line: a name and an email address, in either order), then see who answered.

use poem::http::StatusCode;
use poem::web::{Data, Form, Multipart, Path, Query};
use poem::{Request, Response, handler};
use serde::Deserialize;
use serde_json::json;

use super::{check_csrf, event_of, event_row, viewer};
use crate::domain::ValidationErrors;
use crate::service::events::Event;
use crate::service::invitations;
use crate::service::{ServiceError, Services};
use crate::web::pages::failed;
use crate::web::session::{Viewer, see_other};

#[derive(Deserialize)]
pub struct DoneQuery {
    queued: Option<usize>,
}

/// Problems with lines of the list, worded with the line number a person can find.
fn line_errors(errors: &ValidationErrors) -> Vec<String> {
    errors
        .0
        .iter()
        .map(|e| match e.field.strip_prefix("recipients[").and_then(|rest| rest.split_once(']')) {
            Some((n, field)) => {
                let line = n.parse::<usize>().map_or(0, |n| n + 1);
                let what = if field == ".email" { "email address" } else { "name" };
                format!("Line {line}: the {what} {}", e.message)
            }
            None if e.field == "recipients" => format!("The list {}", e.message),
            None => format!("{}: {}", e.field, e.message),
        })
        .collect()
}

async fn page(
    svc: &Services,
    viewer: &Viewer,
    event: &Event,
    code: StatusCode,
    typed: (&str, &str),
    problems: &[String],
    queued: Option<usize>,
) -> Response {
    let sent = match invitations::sent(svc, &viewer.actor, event.id).await {
        Ok(sent) => sent,
        Err(err) => return failed(&err),
    };
    let tz = event.timezone.tz();
    let answered = sent.iter().filter(|s| s.answer.is_some()).count();
    let errors = if problems.is_empty() { json!({}) } else { json!({"recipients": problems.join(". ")}) };
    let summary: Vec<_> = problems.iter().map(|p| json!({"field": "recipients", "label": "", "message": p})).collect();
    let context = json!({
        "event": event_row(event),
        "values": {"recipients": typed.0, "message": typed.1}, "errors": errors, "summary": summary,
        "sent": sent.iter().map(|s| json!({
            "name": s.name, "email": s.email,
            "answer": s.answer.map(|a| if a.recorded() == "accepted" { "Coming" } else { "Not coming" }),
            "answered_at": s.answered_at.map(|t| t.with_timezone(&tz).format("%-d %b, %H:%M").to_string()),
        })).collect::<Vec<_>>(),
        "total": sent.len(), "answered": answered,
        "flash": queued.map(|n| format!("{n} invitation{} on {} way.", if n == 1 { " is" } else { "s are" }, if n == 1 { "its" } else { "their" })),
        "published": event.status == crate::domain::EventStatus::Published,
    });
    viewer.render(code, "manage/invitations.html", context, "events")
}

/// `GET /manage/events/{id}/invitations`
#[handler]
pub async fn show(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Query(q): Query<DoneQuery>) -> Response {
    let viewer = viewer!(req, &svc);
    let event = match event_of(&svc, &viewer, &id).await {
        Ok(event) => event,
        Err(response) => return response,
    };
    page(&svc, &viewer, &event, StatusCode::OK, ("", ""), &[], q.queued).await
}

async fn send(svc: &Services, viewer: &Viewer, event: &Event, list: &str, message_typed: &str) -> Response {
    let people: Vec<(String, String)> = list.lines().filter_map(invitations::recipient_line).collect();
    let message = Some(message_typed.to_owned()).filter(|m| !m.trim().is_empty());
    let outcome = match invitations::parse_invite(people, message) {
        Ok((recipients, message)) => invitations::invite(svc, &viewer.actor, event.id, recipients, message).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    match outcome {
        Ok(queued) => see_other(&format!("/manage/events/{}/invitations?queued={queued}", event.id), None),
        Err(ServiceError::Invalid(errors)) => {
            let problems = line_errors(&errors);
            page(svc, viewer, event, StatusCode::UNPROCESSABLE_ENTITY, (list, message_typed), &problems, None).await
        }
        Err(err @ ServiceError::Conflict(_)) => {
            let text = err.to_string();
            page(svc, viewer, event, StatusCode::CONFLICT, (list, ""), &[format!("Nothing was sent: {text}")], None).await
        }
        Err(err) => failed(&err),
    }
}

#[derive(Deserialize)]
pub struct PasteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    recipients: String,
    #[serde(default)]
    message: String,
}

/// `POST /manage/events/{id}/invitations`: the pasted list.
#[handler]
pub async fn paste(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<PasteForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let event = match event_of(&svc, &viewer, &id).await {
        Ok(event) => event,
        Err(response) => return response,
    };
    send(&svc, &viewer, &event, &form.recipients, &form.message).await
}

/// `POST /manage/events/{id}/invitations/upload`: a CSV file (UTF-8), within the form limit.
#[handler]
pub async fn upload(req: &Request, svc: Data<&Services>, Path(id): Path<String>, mut multipart: Multipart) -> Response {
    let viewer = viewer!(req, &svc);
    let (mut csrf, mut file, mut message) = (String::new(), None, String::new());
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("message") => message = field.text().await.unwrap_or_default(),
            Some("file") => file = field.bytes().await.ok(),
            _ => {}
        }
    }
    check_csrf!(req, &svc, &csrf);
    let event = match event_of(&svc, &viewer, &id).await {
        Ok(event) => event,
        Err(response) => return response,
    };
    let text = match file.map(String::from_utf8) {
        Some(Ok(text)) if !text.trim().is_empty() => text,
        Some(Ok(_)) | None => {
            return page(&svc, &viewer, &event, StatusCode::UNPROCESSABLE_ENTITY, ("", ""), &["Choose a CSV file to upload".into()], None)
                .await;
        }
        Some(Err(_)) => {
            let problem = "The file is not text in UTF-8: save it from your spreadsheet as \"CSV UTF-8\" and upload it again".to_owned();
            return page(&svc, &viewer, &event, StatusCode::UNPROCESSABLE_ENTITY, ("", ""), &[problem], None).await;
        }
    };
    send(&svc, &viewer, &event, &text, &message).await
}

//! Interviews on the holder's manage page (`/r/{token}`): the fair's free slots by stand, one
//! booking per stand, freeing one; every decision is `service::slots`'.

use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::csrf;
use super::pages::{expired_form, failed, message};
use super::session::see_other;
use crate::domain::{EventKind, describe_span};
use crate::service::registrations::HeldRegistration;
use crate::service::slots::{self, Slot};
use crate::service::{ServiceError, Services};

/// What the manage page shows of interviews: the holder's bookings, and the slots still open
/// to them, grouped by stand. Nothing for other kinds of event or places not held.
pub(super) async fn context(svc: &Services, held: &HeldRegistration) -> Result<Value, ServiceError> {
    if held.event.kind != EventKind::RecruitmentFair || !held.detail.registration.status.holds_place() {
        return Ok(json!(null));
    }
    let tz = held.event.timezone.tz();
    let time = |s: &Slot| describe_span(s.starts_at, s.ends_at, tz);
    let clock = |s: &Slot| format!("{}–{}", s.starts_at.with_timezone(&tz).format("%H:%M"), s.ends_at.with_timezone(&tz).format("%H:%M"));
    let mine = slots::held_by(svc, held.detail.registration.id).await?;
    let all = match slots::of_fair(svc, held.event.id).await {
        Ok(all) => all,
        Err(ServiceError::NotFound) => return Ok(json!(null)),
        Err(err) => return Err(err),
    };
    if all.is_empty() && mine.is_empty() {
        return Ok(json!(null));
    }
    let now = svc.clock.now();
    let booked_stands: Vec<Uuid> = mine.iter().map(|b| b.slot.exhibitor_id).collect();
    let mut open: Vec<&Slot> =
        all.iter().filter(|s| s.free() > 0 && s.starts_at > now && !booked_stands.contains(&s.exhibitor_id)).collect();
    open.sort_by_key(|s| (s.employer_name.clone(), s.exhibitor_id, s.starts_at));
    // One group a stand, in the order sorted: employers by name, each stand's times in order.
    let mut stands: Vec<(Uuid, Value)> = Vec::new();
    for s in open {
        let time = json!({"id": s.id, "time": clock(s), "free": s.free()});
        match stands.last_mut() {
            Some((id, group)) if *id == s.exhibitor_id => {
                if let Some(times) = group["slots"].as_array_mut() {
                    times.push(time);
                }
            }
            _ => stands.push((s.exhibitor_id, json!({"employer": s.employer_name, "stand": s.stand_label, "slots": [time]}))),
        }
    }
    let stands: Vec<Value> = stands.into_iter().map(|(_, group)| group).collect();
    let mine: Vec<Value> = mine
        .iter()
        .map(|b| json!({"slot_id": b.slot.id, "employer": b.slot.employer_name, "stand": b.slot.stand_label, "when": time(&b.slot)}))
        .collect();
    Ok(json!({"mine": mine, "stands": stands}))
}

#[derive(Deserialize)]
pub struct BookForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slot_id: String,
}

/// A refusal as the manage page says it, with a way back.
fn refused(err: &ServiceError) -> Response {
    match err {
        ServiceError::Conflict(text) => {
            let text = super::manage::events::capitalise(text);
            message(
                poem::http::StatusCode::CONFLICT,
                "That interview could not be booked",
                &format!("{text}. Go back to your booking to choose another time."),
            )
        }
        err => failed(err),
    }
}

/// `POST /r/{token}/slots`: books a slot.
#[handler]
pub async fn book(req: &Request, svc: Data<&Services>, Path(token): Path<String>, Form(form): Form<BookForm>) -> Response {
    if !csrf::verify(req, &form.csrf, svc.settings.public_url()) {
        return expired_form();
    }
    let Ok(slot_id) = Uuid::parse_str(form.slot_id.trim()) else {
        return message(
            poem::http::StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a time",
            "Nothing was booked. Go back, choose one of the times, then book it.",
        );
    };
    match slots::book(&svc, &token, slot_id).await {
        Ok(_) => see_other(&format!("/r/{token}?done=interview_booked#interviews"), None),
        Err(err) => refused(&err),
    }
}

/// `POST /r/{token}/slots/{slot_id}/free`
#[handler]
pub async fn free(
    req: &Request,
    svc: Data<&Services>,
    Path((token, slot_id)): Path<(String, String)>,
    Form(form): Form<BookForm>,
) -> Response {
    if !csrf::verify(req, &form.csrf, svc.settings.public_url()) {
        return expired_form();
    }
    let Ok(slot_id) = Uuid::parse_str(&slot_id) else { return super::pages::not_found() };
    match slots::free(&svc, &token, slot_id).await {
        Ok(()) => see_other(&format!("/r/{token}?done=interview_freed#interviews"), None),
        Err(err) => failed(&err),
    }
}

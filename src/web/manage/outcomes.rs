//! `/manage/events/{id}/outcomes`: what came of a fair, every stand's: how many people each
//! employer met, interviewed, offered a job and saw start, then every stage recorded.

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use serde_json::json;

use crate::service::Services;
use crate::service::outcomes::{self, Stage};
use crate::web::pages::{day_and_time, failed, when};
use crate::web::portal::people::stage_label;

/// `GET /manage/events/{id}/outcomes`
#[handler]
pub async fn show(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let (viewer, event) = match super::viewer_and_event(req, &svc, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let found = match outcomes::at_fair(&svc, &viewer.actor, event.id).await {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let context = json!({
        "event": {"id": event.id, "title": event.title, "when": when(&event)},
        "attended": found.attended, "shared": found.shared,
        "stages": Stage::ALL.iter().map(|s| stage_label(*s)).collect::<Vec<_>>(),
        "stands": found.stands.iter().map(|s| json!({
            "employer": s.employer, "stand": s.stand_label, "reached": s.reached,
        })).collect::<Vec<_>>(),
        "records": found.records.iter().map(|r| json!({
            "person": r.person, "employer": r.employer, "stage": stage_label(r.outcome.stage),
            "note": r.outcome.note, "by": r.outcome.recorded_by,
            "at": day_and_time(&event, r.outcome.created_at),
        })).collect::<Vec<_>>(),
    });
    viewer.render(StatusCode::OK, "manage/outcomes.html", context, "events")
}

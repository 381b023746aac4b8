//! `/manage/events/{id}/feedback`: what attendees thought, as a chart of the ratings beside the
//! table of its figures, then the comments.

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use serde_json::json;

use super::reports::bars;
use crate::service::{Services, feedback};
use crate::web::pages::{day_and_time, failed, when};

/// `GET /manage/events/{id}/feedback`
#[handler]
pub async fn show(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let (viewer, event) = match super::viewer_and_event(req, &svc, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let results = match feedback::results(&svc, &viewer.actor, event.id).await {
        Ok(results) => results,
        Err(err) => return failed(&err),
    };
    let spread: Vec<(String, u64)> = (1..=5).rev().map(|r| (format!("{r} of 5"), results.distribution[r - 1])).collect();
    let context = json!({
        "event": {"id": event.id, "title": event.title, "when": when(&event)},
        "count": results.count,
        "mean": results.mean.map(|m| format!("{m:.1}")),
        "bars": bars(&spread), "height": spread.len() * 28,
        "comments": results.comments.iter().map(|c| json!({
            "rating": c.rating, "comment": c.comment,
            "at": day_and_time(&event, c.created_at),
        })).collect::<Vec<_>>(),
    });
    viewer.render(StatusCode::OK, "manage/feedback.html", context, "events")
}

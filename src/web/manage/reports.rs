//! `/manage/reports`: a campaign's figures and every school's, each drawn as a bar chart in
//! server-rendered SVG beside the table of its figures (a screen reader and a printer get the
//! numbers); and `/manage/outbox` (admins): mail waiting, sent and failed, with a retry.

use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{check_csrf, viewer};
use crate::domain::{MessageStatus, RegistrationStatus};
use crate::service::{PageRequest, ServiceError, Services, campaigns, outbox, reports};
use crate::web::pages::{failed, not_found};
use crate::web::session::see_other;

/// Bars for a chart: each label with its value and its length as a share of the largest.
pub(crate) fn bars(items: &[(String, u64)]) -> Vec<Value> {
    let largest = items.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    items
        .iter()
        .enumerate()
        .map(|(i, (label, n))| {
            // Lengths in the chart's own units: 300 wide, 28 apart.
            let length = (*n as f64 / largest as f64 * 300.0).round();
            json!({"label": label, "value": n, "length": length, "y": i * 28, "text_x": length + 6.0})
        })
        .collect()
}

#[derive(Deserialize)]
pub struct ReportQuery {
    campaign: Option<String>,
}

/// `GET /manage/reports`
#[handler]
pub async fn overview(req: &Request, svc: Data<&Services>, Query(q): Query<ReportQuery>) -> Response {
    let viewer = viewer!(req, &svc);
    let all = match campaigns::list(&svc, PageRequest { limit: 200, offset: 0 }).await {
        Ok(found) => found.items,
        Err(err) => return failed(&err),
    };
    let chosen = q.campaign.as_deref().and_then(|id| Uuid::parse_str(id).ok()).or_else(|| all.first().map(|c| c.id));
    let campaign = match chosen {
        Some(id) => match reports::campaign(&svc, &viewer.actor, id).await {
            Ok(report) => {
                let by_status: Vec<(String, u64)> = RegistrationStatus::ALL
                    .iter()
                    .map(|s| (s.as_str().replace('_', " "), report.registrations.get(s.as_str()).copied().unwrap_or(0)))
                    .collect();
                let f = &report.funnel;
                let funnel: Vec<(String, u64)> = [
                    ("registered", f.registered),
                    ("attended", f.attended),
                    ("met", f.met),
                    ("interviewed", f.interviewed),
                    ("offered a job", f.offered),
                    ("started", f.started),
                ]
                .into_iter()
                .map(|(label, n)| (label.to_owned(), n))
                .collect();
                Some(json!({
                    "id": report.campaign_id, "name": report.name,
                    "bars": bars(&by_status), "height": by_status.len() * 28,
                    "funnel": bars(&funnel), "funnel_height": funnel.len() * 28, "new_to_care": report.new_to_care,
                    "attendance": report.attendance_rate.map(|r| format!("{:.0}%", r * 100.0)),
                    "employers": report.employers_engaged, "schools": report.schools_reached,
                    "events": report.events.values().sum::<u64>(),
                }))
            }
            Err(ServiceError::NotFound) => None,
            Err(err) => return failed(&err),
        },
        None => None,
    };
    let schools = match reports::schools(&svc, &viewer.actor, PageRequest { limit: 200, offset: 0 }).await {
        Ok(page) => page,
        Err(err) => return failed(&err),
    };
    let mut reached: Vec<_> = schools.items.iter().filter(|s| s.engagements_held > 0 || s.active_links > 0).collect();
    reached.sort_by_key(|s| std::cmp::Reverse(s.pupils_reached));
    reached.truncate(15);
    // Long names are cut for the chart (the table beside it has them whole).
    let short =
        |name: &str| if name.chars().count() > 26 { format!("{}…", name.chars().take(25).collect::<String>()) } else { name.to_owned() };
    let pupils: Vec<(String, u64)> = reached.iter().map(|s| (short(&s.school.name), s.pupils_reached)).collect();
    let context = json!({
        "campaigns": all.iter().map(|c| json!({"value": c.id, "label": c.name})).collect::<Vec<_>>(),
        "values": {"campaign": chosen}, "campaign": campaign,
        "schools": reached.iter().map(|s| json!({
            "name": s.school.name, "links": s.active_links, "held": s.engagements_held,
            "pupils": s.pupils_reached, "meaningful": s.meaningful_encounters,
        })).collect::<Vec<_>>(),
        "school_bars": bars(&pupils), "school_height": pupils.len() * 28,
    });
    viewer.render(StatusCode::OK, "manage/reports.html", context, "reports")
}

#[derive(Deserialize)]
pub struct OutboxQuery {
    status: Option<String>,
    done: Option<String>,
}

/// `GET /manage/outbox` (admins): failed mail first by default.
#[handler]
pub async fn outbox_list(req: &Request, svc: Data<&Services>, Query(q): Query<OutboxQuery>) -> Response {
    let viewer = viewer!(req, &svc);
    let status = match q.status.as_deref() {
        None => Some(MessageStatus::Failed),
        Some("") | Some("any") => None,
        Some(s) => MessageStatus::parse(s).ok(),
    };
    let found = match outbox::list(&svc, &viewer.actor, status, PageRequest { limit: 100, offset: 0 }).await {
        Ok(found) => found,
        // Only admins watch the mail; for anyone else the page does not exist.
        Err(ServiceError::Forbidden) => return not_found(),
        Err(err) => return failed(&err),
    };
    let statuses: Vec<Value> = MessageStatus::ALL.iter().map(|s| json!({"value": s.as_str(), "label": s.as_str()})).collect();
    let context = json!({
        "messages": found.items.iter().map(|m| json!({
            "id": m.id, "to": m.to_address, "subject": m.subject, "kind": m.kind.as_str().replace('_', " "),
            "status": m.status.as_str(), "attempts": m.attempts, "error": m.last_error,
            "created": m.created_at.format("%-d %b %Y, %H:%M UTC").to_string(),
            "failed": m.status == MessageStatus::Failed,
        })).collect::<Vec<_>>(),
        "total": found.total, "statuses": statuses,
        "values": {"status": status.map_or("any", |s| s.as_str())},
        "flash": (q.done.as_deref() == Some("retried")).then_some("The message will be sent again."),
    });
    viewer.render(StatusCode::OK, "manage/outbox.html", context, "outbox")
}

#[derive(Deserialize)]
pub struct RetryForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /manage/outbox/{id}/retry`
#[handler]
pub async fn retry(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<RetryForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let Ok(id) = Uuid::parse_str(&id) else { return not_found() };
    match outbox::retry(&svc, &viewer.actor, id).await {
        Ok(_) => see_other("/manage/outbox?done=retried", None),
        Err(ServiceError::Forbidden) => not_found(),
        Err(err) => failed(&err),
    }
}

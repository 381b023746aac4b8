//! What wraps every request: a request id on every log line and in the `X-Request-Id` header,
//! and the request metrics.

use std::sync::Arc;
use std::time::Instant;

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;
use tracing::Instrument;

use crate::config::Settings;
use crate::ops::Metrics;

pub const REQUEST_ID: &str = "x-request-id";

/// The largest body a page's form may send.
pub const FORM_MAX_BYTES: usize = 64 * 1024;
/// The largest JSON body the API reads.
pub const JSON_MAX_BYTES: usize = 1024 * 1024;

/// Who sent a request: the peer's address, or, only when the peer is one of
/// `server.trusted_proxies`, the last address of `X-Forwarded-For` that is not a trusted proxy.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

fn client_address(req: &Request, trusted: &[std::net::IpAddr]) -> Option<std::net::IpAddr> {
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip())?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<std::net::IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(forwarded.into_iter().rev().find(|a| !trusted.contains(a)).unwrap_or(peer))
}

/// What every answer gets whatever made it, and what every request is held to before a handler
/// sees it: the client's address; a form body read to at most [`FORM_MAX_BYTES`] (413 beyond);
/// `Cache-Control: no-store` unless the handler chose otherwise, since most answers are about a
/// person or to a signed-in caller; HSTS under https; a framing ban and a CSP on the API docs;
/// and a page, not a problem document, for a browser that asked for a page that is not there.
pub async fn guard<E: Endpoint>(ep: Arc<E>, mut req: Request, settings: Arc<Settings>) -> poem::Result<Response> {
    let client = client_address(&req, &settings.server.trusted_proxies);
    req.set_data(ClientAddress(client));
    let path = req.uri().path().to_owned();
    let api = path.starts_with("/api/");
    let wants_html = req.headers().get(poem::http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    if matches!(*req.method(), poem::http::Method::POST | poem::http::Method::PUT | poem::http::Method::PATCH | poem::http::Method::DELETE)
    {
        // Read here, whole, within the limit and the read timeout: a body sent slowly or
        // never finished would otherwise hold the connection open for as long as it likes.
        let limit = if api { JSON_MAX_BYTES } else { FORM_MAX_BYTES };
        let timeout = std::time::Duration::from_secs(settings.server.read_timeout_secs);
        match tokio::time::timeout(timeout, req.take_body().into_bytes_limit(limit)).await {
            Ok(Ok(bytes)) => req.set_body(bytes),
            Ok(Err(poem::error::ReadBodyError::PayloadTooLarge)) if api => {
                let detail = format!("the body must be at most {limit} bytes");
                return Ok(crate::problem::answer(poem::http::StatusCode::PAYLOAD_TOO_LARGE, &detail));
            }
            Ok(Err(poem::error::ReadBodyError::PayloadTooLarge)) => return Ok(crate::web::pages::too_large(FORM_MAX_BYTES)),
            Ok(Err(_)) => {
                return Ok(Response::builder().status(poem::http::StatusCode::BAD_REQUEST).body("The request's body could not be read."));
            }
            Err(_) => {
                let mut resp =
                    Response::builder().status(poem::http::StatusCode::REQUEST_TIMEOUT).body("The request's body did not arrive in time.");
                resp.headers_mut().insert(poem::http::header::CONNECTION, HeaderValue::from_static("close"));
                return Ok(resp);
            }
        }
    }
    let mut resp = ep.call(req).await.map(IntoResponse::into_response).unwrap_or_else(|err| err.into_response());
    let is_html =
        resp.headers().get(poem::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if resp.status() == poem::http::StatusCode::NOT_FOUND && wants_html && !api && !is_html {
        resp = crate::web::pages::not_found();
    }
    let headers = resp.headers_mut();
    if !headers.contains_key(poem::http::header::CACHE_CONTROL) {
        headers.insert(poem::http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if settings.public_url().starts_with("https://") {
        headers.insert(poem::http::header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    if path.starts_with("/api/docs") {
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
        // Swagger UI's page is built by its own inline script and styles.
        headers.insert(
            "content-security-policy",
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        );
        headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    }
    Ok(resp)
}

/// Runs `ep` for `req` inside a span carrying a request id, and records the outcome.
pub async fn observe<E: Endpoint>(ep: Arc<E>, req: Request, metrics: Arc<Metrics>) -> poem::Result<Response> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    // The route, never the path: paths carry manage, RSVP, feed and other tokens.
    let span = tracing::info_span!("request", id = %request_id, method = %method, route = %route_template(&path));

    let mut resp = async { ep.call(req).await.map(IntoResponse::into_response).unwrap_or_else(|err| err.into_response()) }
        .instrument(span.clone())
        .await;

    let status = resp.status().as_u16();
    let route = match resp.data::<OperationId>() {
        Some(op) => op.0.to_owned(),
        None => route_of(&path).to_owned(),
    };
    let elapsed = started.elapsed();
    metrics.observe(&route, &method, status, elapsed);
    span.in_scope(|| tracing::info!(status, operation = %route, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "answered"));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(resp)
}

/// A low-cardinality label for routes outside the OpenAPI service: the first path segment, so
/// ids in paths never become label values.
fn route_of(path: &str) -> &'static str {
    match path.split('/').nth(1).unwrap_or("") {
        "healthz" => "healthz",
        "readyz" => "readyz",
        "metrics" => "metrics",
        "api" => "api_other",
        "calendar" => "calendar",
        _ => "other",
    }
}

/// The fixed words of carefair's paths. Any other segment of a path is a value (an id, a slug, a
/// token) and is logged as a placeholder, so a path that is not listed here still logs no secret.
const WORDS: &[&str] = &[
    "api",
    "v1",
    "openapi.json",
    "docs",
    "auth",
    "login",
    "logout",
    "me",
    "users",
    "campaigns",
    "venues",
    "events",
    "publish",
    "cancel",
    "registrations",
    "registrations.csv",
    "check-in",
    "check-ins",
    "walk-ins",
    "close",
    "candidates",
    "export",
    "invitations",
    "rsvp",
    "outbox",
    "retry",
    "employers",
    "signup",
    "approve",
    "suspend",
    "feed",
    "school-suggestions",
    "schools",
    "school-links",
    "accept",
    "decline",
    "end",
    "exhibitors",
    "confirm",
    "withdraw",
    "outcome",
    "outcomes",
    "reports",
    "healthz",
    "readyz",
    "metrics",
    "calendar",
    "public.ics",
    "r",
    "register",
    "static",
    "govuk-frontend.min.css",
    "govuk-frontend.min.js",
    "carefair.css",
    "init.js",
    "sign-in",
    "sign-out",
    "manage",
    "employer",
    "school",
    "door",
    "door-links",
    "password",
    "forgot",
    "reset",
    "slots",
    "questions",
    "feedback",
    "claim",
    "schedule",
    "answer",
    "new",
    "edit",
    "delete",
    "duplicate",
    "undo",
    "attendance",
    "registrations.csv",
    "invite",
    "role",
    "deactivate",
    "upload",
    "walk-in",
    "person",
    "counts",
    "ticket",
    "ticket.png",
];

/// Segments after which a value is a secret rather than an id.
const SECRET_AFTER: &[&str] = &["r", "rsvp", "door", "reset", "feedback"];

/// The route of `path` for logs: every segment that is not one of [`WORDS`] becomes `{token}`
/// (after a word that introduces a secret, and in calendar files reached by a token) or `{id}`,
/// keeping a `.ics` or `.csv` extension: `/r/abc…` → `/r/{token}`.
pub fn route_template(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = String::with_capacity(path.len().min(128));
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        if segment.is_empty() || WORDS.contains(segment) {
            out.push_str(segment);
            continue;
        }
        let before = if i > 0 { segments[i - 1] } else { "" };
        let under_calendar = segments.get(1) == Some(&"calendar");
        let secret = SECRET_AFTER.contains(&before)
            || (under_calendar && matches!(before, "registrations" | "employers"))
            || (before == "registrations" && segments.get(i - 2) == Some(&"v1"));
        out.push_str(if secret { "{token}" } else { "{id}" });
        for extension in [".ics", ".csv"] {
            if segment.ends_with(extension) {
                out.push_str(extension);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::route_template;

    #[test]
    fn routes_name_values_without_showing_them() {
        let token = "q0C3hOZ3m8l4Nd0tYf3pW2kq4r0xq1kV2m5yHc6W7aE";
        for (path, route) in [
            (format!("/r/{token}"), "/r/{token}"),
            (format!("/r/{token}/cancel"), "/r/{token}/cancel"),
            (format!("/rsvp/{token}"), "/rsvp/{token}"),
            (format!("/api/v1/rsvp/{token}"), "/api/v1/rsvp/{token}"),
            (format!("/api/v1/registrations/{token}"), "/api/v1/registrations/{token}"),
            (format!("/calendar/registrations/{token}.ics"), "/calendar/registrations/{token}.ics"),
            (format!("/calendar/employers/{token}.ics"), "/calendar/employers/{token}.ics"),
            ("/api/v1/events/0192e4c0-0000-7000-8000-000000000001/registrations".into(), "/api/v1/events/{id}/registrations"),
            ("/calendar/campaigns/gift-of-care.ics".into(), "/calendar/campaigns/{id}.ics"),
            (format!("/some/{token}/thing"), "/{id}/{id}/{id}"),
            ("/".into(), "/"),
        ] {
            assert_eq!(route_template(&path), route, "{path}");
        }
    }
}

//! What wraps every request: a request id on every log line and in the `X-Request-Id` header,
//! and the request metrics.

use std::sync::Arc;
use std::time::Instant;

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;
use tracing::Instrument;

use crate::ops::Metrics;

pub const REQUEST_ID: &str = "x-request-id";

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
    let span = tracing::info_span!("request", id = %request_id, method = %method, path = %path);

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
    span.in_scope(|| tracing::info!(status, route = %route, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "answered"));
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

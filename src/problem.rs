//! The RFC 9457 answer for what is served outside the JSON API (calendar files, metrics, the
//! guard every request passes), in the same shape as the API's problem documents, so that those
//! need not reach into the API for its types.

use poem::Response;
use poem::http::StatusCode;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// `{type, title, status, detail}` with `status`.
pub fn answer(status: StatusCode, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    Response::builder().status(status).content_type(PROBLEM_JSON).body(body.to_string())
}

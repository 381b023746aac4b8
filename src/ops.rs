//! Operational endpoints outside the API: liveness, readiness and Prometheus metrics.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{IntoResponse, Response, handler};

use crate::service::Services;

/// `GET /healthz`: the process is up.
#[handler]
pub fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers.
#[handler]
pub async fn readyz(svc: Data<&Services>) -> Response {
    match crate::service::schema::database_ready(&svc).await {
        Ok(()) => "ready".into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason).into_response(),
    }
}

/// `GET /metrics`: Prometheus text: HTTP requests and latencies, and the mail outbox. Served
/// only to `Authorization: Bearer {server.metrics_token}`; anyone else, and everyone when no
/// token is set, gets a 404, as if there were nothing here.
#[handler]
pub async fn metrics(req: &poem::Request, metrics: Data<&std::sync::Arc<Metrics>>, svc: Data<&Services>) -> Response {
    use secrecy::ExposeSecret;
    use sha2::{Digest, Sha256};
    let given = req.headers().get(poem::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    // Compared as digests, so the time taken says nothing about how much of the token matched.
    let allowed = match (&svc.settings.server.metrics_token, given) {
        (Some(token), Some(given)) => Sha256::digest(token.expose_secret().as_bytes()) == Sha256::digest(given.trim().as_bytes()),
        _ => false,
    };
    if !allowed {
        return crate::problem::answer(StatusCode::NOT_FOUND, "not found");
    }
    let mut text = metrics.render();
    text.push_str(&mail_metrics(&svc).await);
    Response::builder().content_type("text/plain; version=0.0.4; charset=utf-8").body(text)
}

async fn mail_metrics(svc: &Services) -> String {
    use std::fmt::Write;
    use std::sync::atomic::Ordering;
    let mut out = String::new();
    match crate::service::outbox::depth(svc).await {
        Ok(depth) => {
            out.push_str("# HELP carefair_outbox_depth Messages waiting to be sent or being sent.\n");
            out.push_str("# TYPE carefair_outbox_depth gauge\n");
            let _ = writeln!(out, "carefair_outbox_depth {depth}");
        }
        Err(err) => tracing::warn!(error = %err, "reading the outbox depth"),
    }
    let stats = &svc.mail_stats;
    for (name, help, value) in [
        ("carefair_mail_sent_total", "Messages the mail server accepted, by this process.", &stats.sent),
        ("carefair_mail_failed_total", "Messages given up on after mail.max_attempts, by this process.", &stats.failed),
        ("carefair_mail_retries_total", "Failed attempts that will be tried again, by this process.", &stats.retried),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Ordering::Relaxed));
    }
    out
}

/// Latency buckets in seconds.
const BUCKETS: [f64; 11] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

#[derive(Debug, Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request counts and latencies by route and status, kept in memory.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Metrics {
    pub fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let series = map.entry((route.to_owned(), method.to_owned(), status)).or_default();
        series.count += 1;
        series.sum += secs;
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                series.buckets[i] += 1;
            }
        }
    }

    pub fn render(&self) -> String {
        use std::fmt::Write;
        let map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str("# HELP carefair_http_requests_total HTTP requests answered, by route, method and status.\n");
        out.push_str("# TYPE carefair_http_requests_total counter\n");
        for ((route, method, status), s) in map.iter() {
            let _ = writeln!(out, "carefair_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {}", s.count);
        }
        out.push_str("# HELP carefair_http_request_duration_seconds Time to answer HTTP requests.\n");
        out.push_str("# TYPE carefair_http_request_duration_seconds histogram\n");
        for ((route, method, status), s) in map.iter() {
            let labels = format!("route=\"{route}\",method=\"{method}\",status=\"{status}\"");
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "carefair_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}", s.buckets[i]);
            }
            let _ = writeln!(out, "carefair_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "carefair_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(out, "carefair_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        out
    }
}

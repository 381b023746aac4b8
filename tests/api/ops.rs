use reqwest::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    app.get("/healthz", None).await.assert_status(StatusCode::OK);
    let ready = app.get("/readyz", None).await;
    ready.assert_status(StatusCode::OK);
    assert_eq!(ready.text, "ready");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/events", None).await.assert_status(StatusCode::OK);
    app.get("/api/v1/me", None).await.assert_status(StatusCode::UNAUTHORIZED);
    let metrics = app.get("/metrics", Some(crate::helpers::METRICS_TOKEN)).await;
    metrics.assert_status(StatusCode::OK);
    assert!(metrics.text.contains(r#"carefair_http_requests_total{route="list_events",method="GET",status="200"} 1"#), "{}", metrics.text);
    assert!(metrics.text.contains(r#"carefair_http_requests_total{route="me",method="GET",status="401"} 1"#), "{}", metrics.text);
    assert!(metrics.text.contains(r#"carefair_http_request_duration_seconds_count{route="list_events",method="GET",status="200"} 1"#));
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let answer = app.get("/healthz", None).await;
    let id = answer.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(!id.is_empty());
    let echoed = app.client.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.map(|r| r.headers().clone());
    assert_eq!(echoed.ok().and_then(|h| h.get("x-request-id").cloned()).as_ref().and_then(|v| v.to_str().ok()), Some("abc-123"));
}

#[tokio::test]
async fn unknown_paths_get_a_problem_document() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/no-such-thing", None).await.assert_problem(StatusCode::NOT_FOUND);
    app.get("/nothing-here", None).await.assert_problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn swagger_ui_is_served() {
    let app = TestApp::spawn().await;
    let docs = app.get("/api/docs", None).await;
    docs.assert_status(StatusCode::OK);
    assert!(docs.text.contains("swagger"), "{}", &docs.text[..docs.text.len().min(300)]);
}

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn a_venue_postcode_is_stored_normalised() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let venue = app.create_venue(&organiser, Some(300)).await;
    assert_eq!(venue["postcode"], "CM1 1JE");
    let id = venue["id"].as_str().unwrap_or_default();
    let public = app.get(&format!("/api/v1/venues/{id}"), None).await;
    public.assert_status(StatusCode::OK);
    assert_eq!(public.json["capacity"], 300);
}

#[tokio::test]
async fn venue_fields_are_checked() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let bad = app
        .post(
            "/api/v1/venues",
            Some(&organiser),
            json!({"name": "", "address": "1 High St", "postcode": "NOT A POSTCODE", "latitude": 91.0, "longitude": 0.5, "capacity": 0}),
        )
        .await;
    bad.assert_invalid(&["name", "postcode", "latitude", "capacity"]);
    let half =
        app.post("/api/v1/venues", Some(&organiser), json!({"name": "V", "address": "A", "postcode": "CM1 1JE", "latitude": 51.7})).await;
    half.assert_invalid(&["longitude"]);
    assert_eq!(app.get("/api/v1/venues", None).await.json["total"], 0);
}

#[tokio::test]
async fn a_venue_cannot_shrink_below_its_events() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let venue = app.create_venue(&organiser, Some(300)).await;
    let id = venue["id"].as_str().unwrap_or_default();
    app.create_event(&organiser, json!({"venue_id": id, "capacity": 250})).await;
    app.patch(&format!("/api/v1/venues/{id}"), Some(&organiser), json!({"capacity": 100})).await.assert_invalid(&["capacity"]);
    let grown =
        app.patch(&format!("/api/v1/venues/{id}"), Some(&organiser), json!({"capacity": 400, "accessibility": "Step-free entrance"})).await;
    grown.assert_status(StatusCode::OK);
    assert_eq!(grown.json["accessibility"], "Step-free entrance");
    let cleared = app.patch(&format!("/api/v1/venues/{id}"), Some(&organiser), json!({"accessibility": null})).await;
    assert_eq!(cleared.json["accessibility"], json!(null));
    app.delete(&format!("/api/v1/venues/{id}"), Some(&organiser)).await.assert_problem(StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_unused_venue_is_deleted() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let venue = app.create_venue(&organiser, None).await;
    let id = venue["id"].as_str().unwrap_or_default();
    let employer = app.user_token("employer").await;
    app.delete(&format!("/api/v1/venues/{id}"), Some(&employer)).await.assert_problem(StatusCode::FORBIDDEN);
    app.delete(&format!("/api/v1/venues/{id}"), Some(&organiser)).await.assert_status(StatusCode::NO_CONTENT);
    app.get(&format!("/api/v1/venues/{id}"), None).await.assert_problem(StatusCode::NOT_FOUND);
}

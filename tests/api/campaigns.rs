use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn organisers_create_campaigns_that_anyone_reads() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let campaign = app.create_campaign(&organiser, "gift-of-care").await;
    assert_eq!(campaign["objectives"], json!(["recruitment_retention"]));
    let id = campaign["id"].as_str().unwrap_or_default();

    let public = app.get(&format!("/api/v1/campaigns/{id}"), None).await;
    public.assert_status(StatusCode::OK);
    assert_eq!(public.json["slug"], "gift-of-care");
    let list = app.get("/api/v1/campaigns", None).await;
    assert_eq!(list.json["total"], 1);
    assert_eq!(list.json["limit"], 50);
    assert_eq!(list.json["offset"], 0);
}

#[tokio::test]
async fn a_slug_is_used_once() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    app.create_campaign(&organiser, "gift-of-care").await;
    let again = app
        .post(
            "/api/v1/campaigns",
            Some(&organiser),
            json!({"slug": "gift-of-care", "name": "Again", "starts_on": "2027-01-01", "ends_on": "2027-02-01"}),
        )
        .await;
    again.assert_problem(StatusCode::CONFLICT);
}

#[tokio::test]
async fn campaign_fields_are_checked() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let bad = app
        .post(
            "/api/v1/campaigns",
            Some(&organiser),
            json!({"slug": "Gift Of Care!", "name": "Line one\r\nBcc: someone", "starts_on": "2027-01-01", "ends_on": "2027-02-01", "objectives": ["world_peace"]}),
        )
        .await;
    bad.assert_invalid(&["slug", "name", "objectives"]);

    let backwards = app
        .post(
            "/api/v1/campaigns",
            Some(&organiser),
            json!({"slug": "backwards", "name": "B", "starts_on": "2027-03-01", "ends_on": "2027-02-01"}),
        )
        .await;
    backwards.assert_invalid(&["ends_on"]);

    let huge = app
        .post(
            "/api/v1/campaigns",
            Some(&organiser),
            json!({"slug": "huge", "name": "x".repeat(201), "description": "y".repeat(10_001), "starts_on": "2027-01-01", "ends_on": "2027-02-01"}),
        )
        .await;
    huge.assert_invalid(&["name", "description"]);

    let not_a_date = app
        .post("/api/v1/campaigns", Some(&organiser), json!({"slug": "nd", "name": "N", "starts_on": "tomorrow", "ends_on": "2027-02-01"}))
        .await;
    not_a_date.assert_invalid(&["starts_on"]);

    let missing =
        app.post("/api/v1/campaigns", Some(&organiser), json!({"name": "N", "starts_on": "2027-01-01", "ends_on": "2027-02-01"})).await;
    missing.assert_invalid(&["slug"]);

    assert_eq!(app.get("/api/v1/campaigns", None).await.json["total"], 0, "nothing was written");
}

#[tokio::test]
async fn campaigns_change_and_are_deleted_when_empty() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let campaign = app.create_campaign(&organiser, "gift-of-care").await;
    let id = campaign["id"].as_str().unwrap_or_default();

    let changed = app
        .patch(
            &format!("/api/v1/campaigns/{id}"),
            Some(&organiser),
            json!({"name": "Gift of Care 2027", "objectives": ["market_capacity", "training_development"]}),
        )
        .await;
    changed.assert_status(StatusCode::OK);
    assert_eq!(changed.json["name"], "Gift of Care 2027");
    assert_eq!(changed.json["slug"], "gift-of-care");
    assert_eq!(changed.json["objectives"], json!(["market_capacity", "training_development"]));

    let backwards = app.patch(&format!("/api/v1/campaigns/{id}"), Some(&organiser), json!({"ends_on": "2026-06-01"})).await;
    backwards.assert_invalid(&["ends_on"]);
    app.patch(&format!("/api/v1/campaigns/{id}"), Some(&organiser), json!({"name": null})).await.assert_invalid(&["name"]);

    app.create_event(&organiser, json!({"campaign_id": id})).await;
    app.delete(&format!("/api/v1/campaigns/{id}"), Some(&organiser)).await.assert_problem(StatusCode::CONFLICT);

    let other = app.create_campaign(&organiser, "spare").await;
    let other_id = other["id"].as_str().unwrap_or_default();
    app.delete(&format!("/api/v1/campaigns/{other_id}"), Some(&organiser)).await.assert_status(StatusCode::NO_CONTENT);
    app.get(&format!("/api/v1/campaigns/{other_id}"), None).await.assert_problem(StatusCode::NOT_FOUND);
    app.delete(&format!("/api/v1/campaigns/{other_id}"), Some(&organiser)).await.assert_problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_organisers_change_campaigns() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let campaign = app.create_campaign(&organiser, "gift-of-care").await;
    let id = campaign["id"].as_str().unwrap_or_default();
    let body = json!({"slug": "x", "name": "X", "starts_on": "2027-01-01", "ends_on": "2027-02-01"});
    for role in ["employer", "school"] {
        let token = app.user_token(role).await;
        app.post("/api/v1/campaigns", Some(&token), body.clone()).await.assert_problem(StatusCode::FORBIDDEN);
        app.patch(&format!("/api/v1/campaigns/{id}"), Some(&token), json!({"name": "Mine"})).await.assert_problem(StatusCode::FORBIDDEN);
        app.delete(&format!("/api/v1/campaigns/{id}"), Some(&token)).await.assert_problem(StatusCode::FORBIDDEN);
    }
    app.post("/api/v1/campaigns", None, body).await.assert_problem(StatusCode::UNAUTHORIZED);
    let admin = app.admin_token().await;
    app.patch(&format!("/api/v1/campaigns/{id}"), Some(&admin), json!({"name": "Admins may"})).await.assert_status(StatusCode::OK);
}

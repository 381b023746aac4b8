use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, TestApp};

#[tokio::test]
async fn signing_in_gives_a_token_that_identifies_the_user() {
    let app = TestApp::spawn().await;
    let answer = app.post("/api/v1/auth/login", None, json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})).await;
    answer.assert_status(StatusCode::OK);
    let token = answer.json["token"].as_str().unwrap_or_default();
    assert_eq!(token.len(), 64, "256 bits, hex");
    assert_eq!(answer.json["user"]["role"], "admin");
    let expires_at = answer.json["expires_at"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    assert_eq!(expires_at.map(|t| t.to_utc()), Some(crate::helpers::start_of_tests() + Duration::hours(24)));

    let me = app.get("/api/v1/me", Some(token)).await;
    me.assert_status(StatusCode::OK);
    assert_eq!(me.json["email"], ADMIN_EMAIL);
    assert!(me.json.get("password_hash").is_none());
}

#[tokio::test]
async fn signing_in_ignores_the_case_of_the_email() {
    let app = TestApp::spawn().await;
    app.login(&ADMIN_EMAIL.to_uppercase(), ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let wrong = app.post("/api/v1/auth/login", None, json!({"email": ADMIN_EMAIL, "password": "not-the-password"})).await;
    let unknown = app.post("/api/v1/auth/login", None, json!({"email": "nobody@carefair.test", "password": "not-the-password"})).await;
    wrong.assert_problem(StatusCode::UNAUTHORIZED);
    unknown.assert_problem(StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json, unknown.json);
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401() {
    let app = TestApp::spawn().await;
    let none = app.get("/api/v1/me", None).await;
    none.assert_problem(StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers.get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    app.get("/api/v1/me", Some("not-a-token")).await.assert_problem(StatusCode::UNAUTHORIZED);
    app.get("/api/v1/me", Some(&"0".repeat(64))).await.assert_problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_stops_working_when_it_expires() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    app.clock.advance(Duration::hours(23));
    app.get("/api/v1/me", Some(&token)).await.assert_status(StatusCode::OK);
    app.clock.advance(Duration::hours(1));
    app.get("/api/v1/me", Some(&token)).await.assert_problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logging_out_revokes_only_that_token() {
    let app = TestApp::spawn().await;
    let first = app.admin_token().await;
    let second = app.admin_token().await;
    app.post("/api/v1/auth/logout", Some(&first), json!({})).await.assert_status(StatusCode::NO_CONTENT);
    app.get("/api/v1/me", Some(&first)).await.assert_problem(StatusCode::UNAUTHORIZED);
    app.get("/api/v1/me", Some(&second)).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn five_failures_lock_an_email_for_fifteen_minutes() {
    let app = TestApp::spawn().await;
    let organiser = app.user_token("organiser").await;
    for _ in 0..5 {
        app.post("/api/v1/auth/login", None, json!({"email": ADMIN_EMAIL, "password": "guess-guess"}))
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused while the lock holds.
    let locked = app.post("/api/v1/auth/login", None, json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})).await;
    locked.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = locked.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!((14 * 60..=15 * 60).contains(&retry_after), "Retry-After {retry_after}");

    // Another user is not affected.
    app.get("/api/v1/me", Some(&organiser)).await.assert_status(StatusCode::OK);
    let me = app.get("/api/v1/me", Some(&organiser)).await;
    app.login(me.json["email"].as_str().unwrap_or_default(), crate::helpers::PASSWORD).await;

    app.clock.advance(Duration::minutes(15));
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn one_address_may_try_a_hundred_logins_a_minute() {
    let app = TestApp::spawn().await;
    for i in 0..100 {
        let answer = app.post("/api/v1/auth/login", None, json!({"email": format!("u{i}@carefair.test"), "password": "whatever-1"})).await;
        answer.assert_status(StatusCode::UNAUTHORIZED);
    }
    app.post("/api/v1/auth/login", None, json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(Duration::seconds(61));
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn admins_create_and_list_users() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let created = app
        .post(
            "/api/v1/users",
            Some(&admin),
            json!({"email": "Org@Essex.test", "name": "Olu Organiser", "role": "organiser", "password": PASSWORD}),
        )
        .await;
    created.assert_status(StatusCode::CREATED);
    assert_eq!(created.json["email"], "org@essex.test");
    app.login("org@essex.test", PASSWORD).await;

    let list = app.get("/api/v1/users?limit=1", Some(&admin)).await;
    list.assert_status(StatusCode::OK);
    assert_eq!(list.json["total"], 2);
    assert_eq!(list.json["limit"], 1);
    assert_eq!(list.json["items"].as_array().map(Vec::len), Some(1));

    let duplicate = app
        .post("/api/v1/users", Some(&admin), json!({"email": "org@essex.test", "name": "Again", "role": "organiser", "password": PASSWORD}))
        .await;
    duplicate.assert_problem(StatusCode::CONFLICT);
}

#[tokio::test]
async fn user_creation_checks_every_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let bad =
        app.post("/api/v1/users", Some(&admin), json!({"email": "not-an-email", "name": " ", "role": "boss", "password": "short"})).await;
    bad.assert_invalid(&["email", "name", "role", "password"]);

    let employer_without_employer =
        app.post("/api/v1/users", Some(&admin), json!({"email": "e@x.test", "name": "E", "role": "employer", "password": PASSWORD})).await;
    employer_without_employer.assert_invalid(&["employer_id"]);

    let list = app.get("/api/v1/users", Some(&admin)).await;
    assert_eq!(list.json["total"], 1, "nothing was written");
}

#[tokio::test]
async fn only_admins_manage_users() {
    let app = TestApp::spawn().await;
    let body = json!({"email": "x@x.test", "name": "X", "role": "admin", "password": PASSWORD});
    for role in ["organiser", "employer", "school"] {
        let token = app.user_token(role).await;
        app.post("/api/v1/users", Some(&token), body.clone()).await.assert_problem(StatusCode::FORBIDDEN);
        app.get("/api/v1/users", Some(&token)).await.assert_problem(StatusCode::FORBIDDEN);
    }
    app.post("/api/v1/users", None, body).await.assert_problem(StatusCode::UNAUTHORIZED);
}

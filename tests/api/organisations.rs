//! Employers and schools: signing up, approval, validation and each organisation seeing only
//! its own records.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, id_of};

fn signup_body(email: &str) -> serde_json::Value {
    json!({
        "name": "Oak Lodge Care", "provider_type": "nursing", "cqc_location_id": "1-123456789",
        "address": "12 Broomfield Road, Chelmsford", "postcode": "cm1 1sw", "latitude": 51.74, "longitude": 0.47,
        "website": "https://oaklodge.example", "contact_name": "Priya Shah", "contact_email": "Priya@OakLodge.example",
        "user": {"email": email, "name": "Priya Shah", "password": PASSWORD}
    })
}

#[tokio::test]
async fn an_employer_signs_up_pending_and_an_organiser_approves_it_with_an_email() {
    let app = TestApp::spawn().await;
    let signed = app.post("/api/v1/employers/signup", None, signup_body("priya@oaklodge.example")).await;
    signed.assert_status(StatusCode::CREATED);
    assert_eq!(signed.json["status"], "pending");
    assert_eq!(signed.json["postcode"], "CM1 1SW");
    assert_eq!(signed.json["contact_email"], "priya@oaklodge.example");
    let id = id_of(&signed.json);

    // Its first user signs in and sees (and changes) its own employer.
    let own = app.login("priya@oaklodge.example", PASSWORD).await;
    app.get(&format!("/api/v1/employers/{id}"), Some(&own)).await.assert_status(StatusCode::OK);
    let changed = app.patch(&format!("/api/v1/employers/{id}"), Some(&own), json!({"website": null, "name": "Oak Lodge"})).await;
    changed.assert_status(StatusCode::OK);
    assert_eq!(changed.json["name"], "Oak Lodge");
    assert!(changed.json["website"].is_null());
    // But cannot approve itself.
    app.post(&format!("/api/v1/employers/{id}/approve"), Some(&own), json!({})).await.assert_problem(StatusCode::FORBIDDEN);

    let organiser = app.organiser_token().await;
    let approved = app.post(&format!("/api/v1/employers/{id}/approve"), Some(&organiser), json!({})).await;
    approved.assert_status(StatusCode::OK);
    assert_eq!(approved.json["status"], "approved");
    // Approving twice sends one email.
    app.post(&format!("/api/v1/employers/{id}/approve"), Some(&organiser), json!({})).await.assert_status(StatusCode::OK);
    assert_eq!(
        app.outbox_kinds().await,
        vec![
            ("employer_approved".to_owned(), "priya@oaklodge.example".to_owned()),
            ("employer_signup_received".to_owned(), "priya@oaklodge.example".to_owned())
        ]
    );

    let suspended = app.post(&format!("/api/v1/employers/{id}/suspend"), Some(&organiser), json!({})).await;
    assert_eq!(suspended.json["status"], "suspended");
}

#[tokio::test]
async fn a_signup_with_bad_fields_names_each_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let mut body = signup_body("not-an-email");
    body["cqc_location_id"] = json!("12345");
    body["postcode"] = json!("ZZ");
    body["provider_type"] = json!("hospital");
    body["name"] = json!("Oak\r\nLodge");
    body["user"]["password"] = json!("short");
    body["contact_email"] = json!("x".repeat(300));
    let answer = app.post("/api/v1/employers/signup", None, body).await;
    answer.assert_invalid(&["cqc_location_id", "postcode", "provider_type", "name", "contact_email", "user.email", "user.password"]);
    let organiser = app.organiser_token().await;
    assert_eq!(app.get("/api/v1/employers", Some(&organiser)).await.json["total"], 0);

    // A second signup with the same login email or CQC id conflicts, and leaves no employer.
    app.post("/api/v1/employers/signup", None, signup_body("a@oaklodge.example")).await.assert_status(StatusCode::CREATED);
    let mut again = signup_body("a@oaklodge.example");
    again["cqc_location_id"] = json!("1-999999999");
    app.post("/api/v1/employers/signup", None, again).await.assert_problem(StatusCode::CONFLICT);
    app.post("/api/v1/employers/signup", None, signup_body("b@oaklodge.example")).await.assert_problem(StatusCode::CONFLICT);
    assert_eq!(app.get("/api/v1/employers", Some(&organiser)).await.json["total"], 1);
}

#[tokio::test]
async fn employer_users_reach_only_their_own_employer() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let a = id_of(&app.create_employer(&organiser, "Alder Care", (51.7, 0.4)).await);
    let b = id_of(&app.create_employer(&organiser, "Birch Care", (51.8, 0.5)).await);
    let user_a = app.member_token("employer", &a).await;

    let list = app.get("/api/v1/employers", Some(&user_a)).await;
    assert_eq!(list.json["total"], 1);
    assert_eq!(list.json["items"][0]["id"], a.as_str());
    app.get(&format!("/api/v1/employers/{b}"), Some(&user_a)).await.assert_problem(StatusCode::NOT_FOUND);
    app.patch(&format!("/api/v1/employers/{b}"), Some(&user_a), json!({"name": "Mine now"})).await.assert_problem(StatusCode::NOT_FOUND);
    app.get(&format!("/api/v1/employers/{b}/school-suggestions"), Some(&user_a)).await.assert_problem(StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/employers/{b}"), Some(&organiser)).await.json["name"], "Birch Care");

    // Schools' users have no business with employers' records; the public none at all.
    let school = id_of(&app.create_school(&organiser, "100001", "Chelmer Academy", (51.7, 0.4)).await);
    let school_user = app.member_token("school", &school).await;
    app.get("/api/v1/employers", Some(&school_user)).await.assert_problem(StatusCode::FORBIDDEN);
    app.get(&format!("/api/v1/employers/{a}"), None).await.assert_problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn schools_have_unique_six_digit_urns_and_their_users_see_their_own() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let x = id_of(&app.create_school(&organiser, "137052", "Chelmer Academy", (51.74, 0.47)).await);
    let y = id_of(&app.create_school(&organiser, "137053", "Colne School", (51.89, 0.9)).await);

    let duplicate = app
        .post("/api/v1/schools", Some(&organiser), json!({"urn": "137052", "name": "Again", "address": "A", "postcode": "CM1 1AA"}))
        .await;
    duplicate.assert_problem(StatusCode::CONFLICT);
    let bad = app.post("/api/v1/schools", Some(&organiser), json!({"urn": "13705", "name": "", "address": "A", "postcode": "CM1"})).await;
    bad.assert_invalid(&["urn", "name", "postcode"]);
    app.patch(&format!("/api/v1/schools/{y}"), Some(&organiser), json!({"urn": "137052"})).await.assert_problem(StatusCode::CONFLICT);

    let user_x = app.member_token("school", &x).await;
    let list = app.get("/api/v1/schools", Some(&user_x)).await;
    assert_eq!(list.json["total"], 1);
    assert_eq!(list.json["items"][0]["urn"], "137052");
    app.get(&format!("/api/v1/schools/{x}"), Some(&user_x)).await.assert_status(StatusCode::OK);
    app.get(&format!("/api/v1/schools/{y}"), Some(&user_x)).await.assert_problem(StatusCode::NOT_FOUND);
    app.patch(&format!("/api/v1/schools/{x}"), Some(&user_x), json!({"name": "X"})).await.assert_problem(StatusCode::FORBIDDEN);

    let found = app.get("/api/v1/schools?q=colne", Some(&organiser)).await;
    assert_eq!(found.json["total"], 1);
    assert_eq!(found.json["items"][0]["id"], y.as_str());
}

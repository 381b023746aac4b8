//! Employers' stands at recruitment fairs.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, id_of};

fn stand(employer: &str) -> serde_json::Value {
    json!({"employer_id": employer, "staff_count": 2, "roles_offered": ["Care assistant", "Night carer"]})
}

#[tokio::test]
async fn employers_book_organisers_confirm_and_the_public_sees_confirmed_stands() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let fair = id_of(&app.create_published_event(&organiser, json!({"max_exhibitors": 5})).await);
    let employer = app.create_employer(&organiser, "Alder Care", (51.7, 0.4)).await;
    let (a, contact) = (id_of(&employer), employer["contact_email"].as_str().unwrap_or_default().to_owned());
    let b = id_of(&app.create_employer(&organiser, "Birch Care", (51.7, 0.4)).await);
    let user_a = app.member_token("employer", &a).await;
    let path = format!("/api/v1/events/{fair}/exhibitors");

    let booked = app.post(&path, Some(&user_a), stand(&a)).await;
    booked.assert_status(StatusCode::CREATED);
    assert_eq!(booked.json["status"], "requested");
    let xa = id_of(&booked.json);
    app.post(&path, Some(&user_a), stand(&a)).await.assert_problem(StatusCode::CONFLICT);
    app.post(&path, Some(&user_a), stand(&b)).await.assert_problem(StatusCode::NOT_FOUND);
    app.post(&path, None, stand(&a)).await.assert_problem(StatusCode::UNAUTHORIZED);
    let xb = id_of(&app.post(&path, Some(&organiser), stand(&b)).await.json);
    let bad = app.post(&path, Some(&organiser), json!({"employer_id": b, "staff_count": 0, "roles_offered": ["x\ny"]})).await;
    bad.assert_invalid(&["staff_count", "roles_offered"]);

    assert_eq!(app.get(&path, None).await.json.as_array().map(Vec::len), Some(0));
    assert_eq!(app.get(&path, Some(&organiser)).await.json.as_array().map(Vec::len), Some(2));
    assert_eq!(app.get(&path, Some(&user_a)).await.json.as_array().map(Vec::len), Some(1), "an employer sees its own booking");

    app.post(&format!("{path}/{xa}/confirm"), Some(&user_a), json!({"stand_label": "A1"})).await.assert_problem(StatusCode::FORBIDDEN);
    let confirmed = app.post(&format!("{path}/{xa}/confirm"), Some(&organiser), json!({"stand_label": "A1"})).await;
    confirmed.assert_status(StatusCode::OK);
    assert_eq!(confirmed.json["stand_label"], "A1");
    let taken = app.post(&format!("{path}/{xb}/confirm"), Some(&organiser), json!({"stand_label": "A1"})).await;
    taken.assert_problem(StatusCode::CONFLICT);

    let public = app.get(&path, None).await;
    assert_eq!(public.json.as_array().map(Vec::len), Some(1));
    assert_eq!(public.json[0]["employer_name"], "Alder Care");
    assert_eq!(public.json[0]["roles_offered"], json!(["Care assistant", "Night carer"]));
    assert!(app.outbox_kinds().await.contains(&("stand_confirmed".to_owned(), contact)));

    // Withdrawing frees the label; organisers decline rather than withdraw.
    app.post(&format!("{path}/{xa}/withdraw"), Some(&organiser), json!({})).await.assert_problem(StatusCode::FORBIDDEN);
    let withdrawn = app.post(&format!("{path}/{xa}/withdraw"), Some(&user_a), json!({})).await;
    assert_eq!(withdrawn.json["status"], "withdrawn");
    assert!(withdrawn.json["stand_label"].is_null());
    app.post(&format!("{path}/{xb}/confirm"), Some(&organiser), json!({"stand_label": "A1"})).await.assert_status(StatusCode::OK);
    // A withdrawn employer may book again.
    app.post(&path, Some(&user_a), stand(&a)).await.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn confirming_at_once_never_passes_max_exhibitors() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let fair = id_of(&app.create_published_event(&organiser, json!({"max_exhibitors": 3})).await);
    let path = format!("/api/v1/events/{fair}/exhibitors");
    let mut stands = Vec::new();
    for n in 0..8 {
        let employer = id_of(&app.create_employer(&organiser, &format!("Care {n}"), (51.7, 0.4)).await);
        stands.push(id_of(&app.post(&path, Some(&organiser), stand(&employer)).await.json));
    }
    let confirms: Vec<(String, serde_json::Value)> =
        stands.iter().enumerate().map(|(n, x)| (format!("{path}/{x}/confirm"), json!({"stand_label": format!("B{n}")}))).collect();
    let answers = futures::future::join_all(confirms.iter().map(|(p, body)| app.post(p, Some(&organiser), body.clone()))).await;
    let ok = answers.iter().filter(|a| a.status == StatusCode::OK).count();
    let full = answers.iter().filter(|a| a.status == StatusCode::CONFLICT).count();
    assert_eq!((ok, full), (3, 5), "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert_eq!(app.get(&path, None).await.json.as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn stands_are_for_approved_employers_at_published_fairs() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let a = id_of(&app.create_employer(&organiser, "Alder Care", (51.7, 0.4)).await);
    let user_a = app.member_token("employer", &a).await;
    let draft = id_of(&app.create_event(&organiser, json!({})).await);
    app.post(&format!("/api/v1/events/{draft}/exhibitors"), Some(&user_a), stand(&a)).await.assert_problem(StatusCode::NOT_FOUND);
    let talk = id_of(&app.create_published_event(&organiser, json!({"kind": "information_session", "max_exhibitors": null})).await);
    app.post(&format!("/api/v1/events/{talk}/exhibitors"), Some(&user_a), stand(&a)).await.assert_problem(StatusCode::CONFLICT);
    let fair = id_of(&app.create_published_event(&organiser, json!({})).await);
    app.post(&format!("/api/v1/employers/{a}/suspend"), Some(&organiser), json!({})).await.assert_status(StatusCode::OK);
    app.post(&format!("/api/v1/events/{fair}/exhibitors"), Some(&user_a), stand(&a)).await.assert_problem(StatusCode::CONFLICT);
    let school = id_of(&app.create_school(&organiser, "100001", "Chelmer Academy", (51.7, 0.4)).await);
    let school_user = app.member_token("school", &school).await;
    app.post(&format!("/api/v1/events/{fair}/exhibitors"), Some(&school_user), stand(&a)).await.assert_problem(StatusCode::FORBIDDEN);
}

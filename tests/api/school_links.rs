//! Links between employers and schools, and the schools suggested to an employer.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, id_of};

#[tokio::test]
async fn a_link_is_asked_for_accepted_and_ended_with_mail_to_the_other_side() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let employer = app.create_employer(&organiser, "Alder Care", (51.7, 0.4)).await;
    let (a, contact) = (id_of(&employer), employer["contact_email"].as_str().unwrap_or_default().to_owned());
    let x = id_of(&app.create_school(&organiser, "100001", "Chelmer Academy", (51.71, 0.41)).await);
    let y = id_of(&app.create_school(&organiser, "100002", "Colne School", (51.9, 0.9)).await);
    let user_a = app.member_token("employer", &a).await;
    let user_x = app.member_token("school", &x).await;
    let user_y = app.member_token("school", &y).await;

    let asked = app.post("/api/v1/school-links", Some(&user_a), json!({"employer_id": a, "school_id": x, "notes": "Careers talks"})).await;
    asked.assert_status(StatusCode::CREATED);
    assert_eq!(asked.json["status"], "requested");
    assert_eq!(asked.json["school_name"], "Chelmer Academy");
    let link = id_of(&asked.json);
    app.post("/api/v1/school-links", Some(&user_a), json!({"employer_id": a, "school_id": x})).await.assert_problem(StatusCode::CONFLICT);

    // Only the school (or an organiser) decides; another school does not see the link at all.
    app.post(&format!("/api/v1/school-links/{link}/accept"), Some(&user_y), json!({})).await.assert_problem(StatusCode::NOT_FOUND);
    app.post(&format!("/api/v1/school-links/{link}/accept"), Some(&user_a), json!({})).await.assert_problem(StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/school-links", Some(&user_y)).await.json["total"], 0);
    assert_eq!(app.get("/api/v1/school-links", Some(&user_x)).await.json["total"], 1);

    let accepted = app.post(&format!("/api/v1/school-links/{link}/accept"), Some(&user_x), json!({})).await;
    accepted.assert_status(StatusCode::OK);
    assert_eq!(accepted.json["status"], "active");
    app.post(&format!("/api/v1/school-links/{link}/decline"), Some(&user_x), json!({})).await.assert_problem(StatusCode::CONFLICT);
    let kinds = app.outbox_kinds().await;
    assert_eq!(
        kinds,
        vec![("link_accepted".to_owned(), contact.clone()), ("link_requested".to_owned(), "careers-100001@school.test".to_owned())]
    );

    // The employer ends it; then the pair may ask again.
    let ended = app.post(&format!("/api/v1/school-links/{link}/end"), Some(&user_a), json!({})).await;
    assert_eq!(ended.json["status"], "ended");
    app.post("/api/v1/school-links", Some(&user_a), json!({"employer_id": a, "school_id": x})).await.assert_status(StatusCode::CREATED);
    let active = app.get(&format!("/api/v1/school-links?employer={a}&status=ended"), Some(&organiser)).await;
    assert_eq!(active.json["total"], 1);
}

#[tokio::test]
async fn links_are_refused_for_other_employers_unknown_schools_and_unapproved_employers() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let a = id_of(&app.create_employer(&organiser, "Alder Care", (51.7, 0.4)).await);
    let b = id_of(&app.create_employer(&organiser, "Birch Care", (51.7, 0.4)).await);
    let x = id_of(&app.create_school(&organiser, "100001", "Chelmer Academy", (51.71, 0.41)).await);
    let user_a = app.member_token("employer", &a).await;

    app.post("/api/v1/school-links", Some(&user_a), json!({"employer_id": b, "school_id": x})).await.assert_problem(StatusCode::NOT_FOUND);
    let unknown = app.post("/api/v1/school-links", Some(&user_a), json!({"employer_id": a, "school_id": uuid::Uuid::now_v7()})).await;
    unknown.assert_invalid(&["school_id"]);
    app.post(&format!("/api/v1/employers/{a}/suspend"), Some(&organiser), json!({})).await.assert_status(StatusCode::OK);
    app.post("/api/v1/school-links", Some(&user_a), json!({"employer_id": a, "school_id": x})).await.assert_problem(StatusCode::CONFLICT);
    assert_eq!(app.get("/api/v1/school-links", Some(&organiser)).await.json["total"], 0);
}

#[tokio::test]
async fn concurrent_requests_for_one_pair_make_one_link() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let a = id_of(&app.create_employer(&organiser, "Alder Care", (51.7, 0.4)).await);
    let x = id_of(&app.create_school(&organiser, "100001", "Chelmer Academy", (51.71, 0.41)).await);
    let body = json!({"employer_id": a, "school_id": x});
    let answers = futures::future::join_all((0..8).map(|_| app.post("/api/v1/school-links", Some(&organiser), body.clone()))).await;
    let created = answers.iter().filter(|a| a.status == StatusCode::CREATED).count();
    let conflicts = answers.iter().filter(|a| a.status == StatusCode::CONFLICT).count();
    assert_eq!((created, conflicts), (1, 7), "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert_eq!(app.get("/api/v1/school-links", Some(&organiser)).await.json["total"], 1);
}

/// `km` kilometres north of `(lat, lon)`.
fn north(from: (f64, f64), km: f64) -> (f64, f64) {
    (from.0 + km / 111.195, from.1)
}

#[tokio::test]
async fn suggestions_come_nearest_first_preferring_schools_with_fewer_links() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let here = (51.70, 0.40);
    let employer = id_of(&app.create_employer(&organiser, "Alder Care", here).await);
    let one_km = id_of(&app.create_school(&organiser, "100001", "One", north(here, 1.0)).await);
    let two_km_busy = id_of(&app.create_school(&organiser, "100002", "Two, busy", north(here, 2.0)).await);
    let three_km = id_of(&app.create_school(&organiser, "100003", "Three", north(here, 3.0)).await);
    let twenty_km = id_of(&app.create_school(&organiser, "100004", "Twenty", north(here, 20.0)).await);
    let already = id_of(&app.create_school(&organiser, "100005", "Already asked", north(here, 0.5)).await);
    app.post("/api/v1/schools", Some(&organiser), json!({"urn": "100006", "name": "Nowhere", "address": "A", "postcode": "CM1 1AA"}))
        .await
        .assert_status(StatusCode::CREATED);
    for name in ["Other one", "Other two"] {
        let other = id_of(&app.create_employer(&organiser, name, (52.5, 1.0)).await);
        app.link(&organiser, &other, &two_km_busy).await;
    }
    app.post("/api/v1/school-links", Some(&organiser), json!({"employer_id": employer, "school_id": already}))
        .await
        .assert_status(StatusCode::CREATED);

    let found = app.get(&format!("/api/v1/employers/{employer}/school-suggestions"), Some(&organiser)).await;
    found.assert_status(StatusCode::OK);
    let rows = found.json.as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = rows.iter().filter_map(|r| r["school"]["id"].as_str()).collect();
    // Two active links count as 4 km: the busy school at 2 km comes after the free one at 3 km.
    assert_eq!(ids, vec![one_km.as_str(), three_km.as_str(), two_km_busy.as_str(), twenty_km.as_str()], "{}", found.text);
    let distances: Vec<f64> = rows.iter().filter_map(|r| r["distance_km"].as_f64()).collect();
    for (got, want) in distances.iter().zip([1.0, 3.0, 2.0, 20.0]) {
        assert!((got - want).abs() < 0.05, "{distances:?}");
    }
    assert_eq!(rows[2]["active_links"], 2);
    assert_eq!(rows[0]["active_links"], 0);

    let two = app.get(&format!("/api/v1/employers/{employer}/school-suggestions?limit=2"), Some(&organiser)).await;
    assert_eq!(two.json.as_array().map(Vec::len), Some(2));
    app.get(&format!("/api/v1/employers/{employer}/school-suggestions?limit=0"), Some(&organiser)).await.assert_invalid(&["limit"]);
    // The employer's own users may ask too.
    let own = app.member_token("employer", &employer).await;
    let mine = app.get(&format!("/api/v1/employers/{employer}/school-suggestions?limit=1"), Some(&own)).await;
    assert_eq!(mine.json[0]["school"]["id"], one_km.as_str());
}

#[tokio::test]
async fn an_employer_without_a_position_gets_no_suggestions_but_a_reason() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let body = json!({"name": "Nowhere Care", "provider_type": "home_care", "address": "A", "postcode": "CM1 1AA", "contact_name": "P", "contact_email": "p@x.test"});
    let employer = app.post("/api/v1/employers", Some(&organiser), body).await;
    let id = id_of(&employer.json);
    app.get(&format!("/api/v1/employers/{id}/school-suggestions"), Some(&organiser)).await.assert_problem(StatusCode::CONFLICT);
}

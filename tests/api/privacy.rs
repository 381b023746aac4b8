//! What is private stays private: school engagements belong to organisers, the school and the
//! employers taking part; suggestions carry no careers leader's contact and are for approved
//! employers only.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, id_of, person};

/// A careers talk at one school with one linked employer, published in a campaign; also a
/// second school, a second employer, and an ordinary fair in the same campaign.
struct Setting {
    organiser: String,
    talk: String,
    fair: String,
    school: String,
    other_school: String,
    employer: String,
    other_employer: String,
}

async fn setting(app: &TestApp) -> Setting {
    let organiser = app.organiser_token().await;
    let campaign = id_of(&app.create_campaign(&organiser, "gift-of-care").await);
    let employer = id_of(&app.create_employer(&organiser, "Alder Care", (51.7, 0.4)).await);
    let other_employer = id_of(&app.create_employer(&organiser, "Birch Care", (51.7, 0.4)).await);
    let school = id_of(&app.create_school(&organiser, "100001", "Chelmer Academy", (51.71, 0.41)).await);
    let other_school = id_of(&app.create_school(&organiser, "100002", "Colne School", (51.9, 0.9)).await);
    app.link(&organiser, &employer, &school).await;
    let body = json!({
        "kind": "school_engagement", "title": "Year 10 careers talk", "max_exhibitors": null, "capacity": 60,
        "campaign_id": campaign, "school_id": school, "employer_ids": [employer], "activity": "careers_talk",
        "year_groups": [10], "expected_pupils": 60, "supervised": true
    });
    let talk = id_of(&app.create_published_event(&organiser, body).await);
    let fair = id_of(&app.create_published_event(&organiser, json!({"campaign_id": campaign, "title": "Open fair"})).await);
    Setting { organiser, talk, fair, school, other_school, employer, other_employer }
}

fn titles(list: &serde_json::Value) -> Vec<String> {
    list["items"].as_array().into_iter().flatten().filter_map(|e| e["title"].as_str().map(str::to_owned)).collect()
}

#[tokio::test]
async fn a_school_engagement_is_in_no_public_list_page_feed_or_booking() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;

    let public = app.get("/api/v1/events", None).await;
    assert_eq!(titles(&public.json), ["Open fair"], "{}", public.text);
    assert_eq!(public.json["total"], 1);
    assert_eq!(titles(&app.get("/api/v1/events?kind=school_engagement", None).await.json), Vec::<String>::new());
    app.get(&format!("/api/v1/events/{}", s.talk), None).await.assert_problem(StatusCode::NOT_FOUND);
    app.register(&s.talk, person("Ann Smith", "ann@example.org")).await.assert_problem(StatusCode::NOT_FOUND);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registrations").await, 0, "nothing was booked");

    for path in [format!("/events/{}", s.talk), format!("/calendar/events/{}.ics", s.talk)] {
        let answer = app.get(&path, None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}: {}", answer.text);
        assert!(!answer.text.contains("Year 10"), "{path}");
    }
    for path in ["/", "/campaigns/gift-of-care", "/calendar/public.ics", "/calendar/campaigns/gift-of-care.ics"] {
        let answer = app.get(path, None).await;
        answer.assert_status(StatusCode::OK);
        assert!(answer.text.contains("Open fair"), "{path} lists the fair: {}", answer.text);
        assert!(!answer.text.contains("Year 10 careers talk") && !answer.text.contains(&s.talk), "{path} shows the talk");
    }
}

#[tokio::test]
async fn the_school_and_the_employers_taking_part_see_their_engagement_and_no_one_else_does() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let path = format!("/api/v1/events/{}", s.talk);

    for (role, organisation, sees) in [
        ("school", &s.school, true),
        ("employer", &s.employer, true),
        ("school", &s.other_school, false),
        ("employer", &s.other_employer, false),
    ] {
        let token = app.member_token(role, organisation).await;
        let listed = titles(&app.get("/api/v1/events", Some(&token)).await.json);
        let one = app.get(&path, Some(&token)).await;
        if sees {
            one.assert_status(StatusCode::OK);
            assert_eq!(one.json["title"], "Year 10 careers talk");
            assert!(one.json["risk_assessment_ref"].is_null(), "the reference is for organisers");
            assert_eq!(listed, ["Year 10 careers talk", "Open fair"], "{role} {organisation}");
        } else {
            one.assert_problem(StatusCode::NOT_FOUND);
            assert_eq!(listed, ["Open fair"], "{role} {organisation}");
        }
    }
    let organisers = app.get("/api/v1/events", Some(&s.organiser)).await;
    assert_eq!(organisers.json["total"], 2);
    assert_eq!(app.get(&format!("/api/v1/events/{}", s.fair), None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn suggestions_carry_no_contact_and_are_for_approved_employers_only() {
    let app = TestApp::spawn().await;
    let s = setting(&app).await;
    let employer_user = app.member_token("employer", &s.other_employer).await;
    let path = format!("/api/v1/employers/{}/school-suggestions", s.other_employer);

    let suggested = app.get(&path, Some(&employer_user)).await;
    suggested.assert_status(StatusCode::OK);
    let first = &suggested.json[0];
    assert_eq!(first["school"]["name"], "Chelmer Academy", "{}", suggested.text);
    assert_eq!(first["school"]["town"], "Chelmsford");
    assert!(first["distance_km"].is_number() && first["active_links"] == 1);
    assert!(!suggested.text.contains("careers") && !suggested.text.contains("Sam Lee"), "no careers leader: {}", suggested.text);
    let keys: Vec<&String> = first["school"].as_object().map(|o| o.keys().collect()).unwrap_or_default();
    assert_eq!(keys, ["district", "id", "name", "town", "urn"]);

    // An employer cannot move itself to sweep the county; organisers keep positions.
    let moved = app
        .patch(&format!("/api/v1/employers/{}", s.other_employer), Some(&employer_user), json!({"latitude": 51.9, "longitude": 0.9}))
        .await;
    moved.assert_invalid(&["latitude", "longitude"]);
    let named =
        app.patch(&format!("/api/v1/employers/{}", s.other_employer), Some(&employer_user), json!({"name": "Birch Care Ltd"})).await;
    named.assert_status(StatusCode::OK);
    assert_eq!(named.json["latitude"], 51.7);

    app.post(&format!("/api/v1/employers/{}/suspend", s.other_employer), Some(&s.organiser), json!({})).await.assert_status(StatusCode::OK);
    app.get(&path, Some(&employer_user)).await.assert_problem(StatusCode::CONFLICT);
    app.get(&path, Some(&s.organiser)).await.assert_problem(StatusCode::CONFLICT);

    let signup = json!({
        "name": "Cedar Care", "provider_type": "home_care", "address": "2 Mill Road, Chelmsford", "postcode": "CM2 6LD",
        "latitude": 51.72, "longitude": 0.42, "contact_name": "Cy", "contact_email": "cy@cedar.test",
        "user": {"email": "cy@cedar.test", "name": "Cy", "password": "a-long-password"}
    });
    let pending = app.post("/api/v1/employers/signup", None, signup).await;
    pending.assert_status(StatusCode::CREATED);
    let cy = app.login("cy@cedar.test", "a-long-password").await;
    let answer = app.get(&format!("/api/v1/employers/{}/school-suggestions", id_of(&pending.json)), Some(&cy)).await;
    answer.assert_problem(StatusCode::CONFLICT);
    assert!(!answer.text.contains("Chelmer"));
}

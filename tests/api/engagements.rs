//! School engagements: employers from active links only, outcomes recorded after the day, and
//! the reports that count them.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, id_of, person};

fn engagement(school: &str, employers: &[&str]) -> Value {
    json!({
        "kind": "school_engagement", "title": "Careers in care", "max_exhibitors": null, "capacity": null,
        "school_id": school, "employer_ids": employers, "activity": "careers_talk", "year_groups": [10, 11],
        "expected_pupils": 60, "supervised": true, "risk_assessment_ref": "RA-14"
    })
}

#[tokio::test]
async fn an_engagement_takes_employers_from_active_links_only() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let linked = id_of(&app.create_employer(&organiser, "Alder Care", (51.7, 0.4)).await);
    let asked = id_of(&app.create_employer(&organiser, "Birch Care", (51.7, 0.4)).await);
    let school = id_of(&app.create_school(&organiser, "100001", "Chelmer Academy", (51.71, 0.41)).await);
    app.link(&organiser, &linked, &school).await;
    app.post("/api/v1/school-links", Some(&organiser), json!({"employer_id": asked, "school_id": school}))
        .await
        .assert_status(StatusCode::CREATED);

    let refused = app
        .post(
            "/api/v1/events",
            Some(&organiser),
            crate::helpers::merge(crate::helpers::fair_body(), engagement(&school, &[&linked, &asked])),
        )
        .await;
    refused.assert_invalid(&["employer_ids"]);
    let unknown_school = app
        .post(
            "/api/v1/events",
            Some(&organiser),
            crate::helpers::merge(crate::helpers::fair_body(), engagement(&uuid::Uuid::now_v7().to_string(), &[&linked])),
        )
        .await;
    unknown_school.assert_invalid(&["school_id"]);
    let mut missing = engagement(&school, &[&linked]);
    missing["activity"] = Value::Null;
    app.post("/api/v1/events", Some(&organiser), crate::helpers::merge(crate::helpers::fair_body(), missing))
        .await
        .assert_invalid(&["activity"]);
    let bad = json!({"activity": "juggling", "year_groups": [6], "expected_pupils": 0});
    let bad = app
        .post(
            "/api/v1/events",
            Some(&organiser),
            crate::helpers::merge(crate::helpers::fair_body(), crate::helpers::merge(engagement(&school, &[&linked]), bad)),
        )
        .await;
    bad.assert_invalid(&["activity", "year_groups", "expected_pupils"]);
    let fair_with_activity = app
        .post("/api/v1/events", Some(&organiser), crate::helpers::merge(crate::helpers::fair_body(), json!({"activity": "careers_talk"})))
        .await;
    fair_with_activity.assert_invalid(&["activity"]);

    let event = app.create_event(&organiser, engagement(&school, &[&linked])).await;
    assert_eq!(event["employer_ids"], json!([linked]));
    assert_eq!(event["activity"], "careers_talk");
    assert_eq!(event["year_groups"], json!([10, 11]));
    assert_eq!(event["supervised"], true);
    assert!(event["pupils_reached"].is_null());
    let id = id_of(&event);
    // Changing the employers is checked the same way.
    let changed = app.patch(&format!("/api/v1/events/{id}"), Some(&organiser), json!({"employer_ids": [linked, asked]})).await;
    changed.assert_invalid(&["employer_ids"]);
    assert_eq!(app.get(&format!("/api/v1/events/{id}"), Some(&organiser)).await.json["employer_ids"], json!([linked]));
    // A draft that becomes a fair keeps none of the engagement's details.
    let fair = app.patch(&format!("/api/v1/events/{id}"), Some(&organiser), json!({"kind": "recruitment_fair", "school_id": null})).await;
    fair.assert_status(StatusCode::OK);
    assert!(fair.json["activity"].is_null() && fair.json["employer_ids"].is_null() && fair.json["supervised"].is_null(), "{}", fair.text);
}

#[tokio::test]
async fn outcomes_are_recorded_after_the_day_by_the_school_and_counted_in_the_reports() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let campaign = id_of(&app.create_campaign(&organiser, "gift-of-care").await);
    let employer = id_of(&app.create_employer(&organiser, "Alder Care", (51.7, 0.4)).await);
    let other_employer = id_of(&app.create_employer(&organiser, "Birch Care", (51.7, 0.4)).await);
    let x = id_of(&app.create_school(&organiser, "100001", "Chelmer Academy", (51.71, 0.41)).await);
    let y = id_of(&app.create_school(&organiser, "100002", "Colne School", (51.9, 0.9)).await);
    app.link(&organiser, &employer, &x).await;
    let mut body = engagement(&x, &[&employer]);
    body["campaign_id"] = json!(campaign);
    let talk = id_of(&app.create_published_event(&organiser, body).await);
    // The school's risk-assessment reference is for organisers; the school sees the rest, and
    // the public nothing (privacy.rs has the whole rule).
    assert_eq!(app.get(&format!("/api/v1/events/{talk}"), Some(&organiser)).await.json["risk_assessment_ref"], "RA-14");
    let school_user = app.member_token("school", &x).await;
    let seen = app.get(&format!("/api/v1/events/{talk}"), Some(&school_user)).await;
    assert!(seen.json["risk_assessment_ref"].is_null() && seen.json["activity"] == "careers_talk", "{}", seen.text);
    app.get(&format!("/api/v1/events/{talk}"), None).await.assert_problem(StatusCode::NOT_FOUND);
    let home = app.client.get(app.url("/")).send().await.unwrap_or_else(|e| panic!("{e}")).text().await.unwrap_or_default();
    assert!(home.contains("Upcoming events") && !home.contains("Careers in care"), "{home}");
    let outcome = json!({"pupils_reached": 57, "meaningful": {"purpose_briefed": true, "learning_outcomes": true, "two_way_interaction": true, "reflection": true}});
    let path = format!("/api/v1/events/{talk}/outcome");
    app.post(&path, Some(&organiser), outcome.clone()).await.assert_problem(StatusCode::CONFLICT);

    app.clock.advance(Duration::days(2));
    let organiser = app.organiser_token().await;
    let user_y = app.member_token("school", &y).await;
    let user_x = app.member_token("school", &x).await;
    let employer_user = app.member_token("employer", &employer).await;
    app.post(&path, Some(&user_y), outcome.clone()).await.assert_problem(StatusCode::NOT_FOUND);
    app.post(&path, Some(&employer_user), outcome.clone()).await.assert_problem(StatusCode::FORBIDDEN);
    app.post(&path, Some(&user_x), json!({"pupils_reached": -1, "meaningful": outcome["meaningful"]}))
        .await
        .assert_invalid(&["pupils_reached"]);
    let recorded = app.post(&path, Some(&user_x), outcome).await;
    recorded.assert_status(StatusCode::OK);
    assert_eq!(recorded.json["pupils_reached"], 57);
    assert_eq!(recorded.json["meaningful"]["reflection"], true);

    // A fair in the same campaign with a confirmed stand, and people who came or did not.
    let fair = id_of(
        &app.create_published_event(
            &organiser,
            json!({"campaign_id": campaign, "starts_at": "2027-01-06T10:00:00Z", "ends_at": "2027-01-06T13:00:00Z"}),
        )
        .await,
    );
    let x_stand = app
        .post(&format!("/api/v1/events/{fair}/exhibitors"), Some(&organiser), json!({"employer_id": other_employer, "staff_count": 1}))
        .await;
    app.post(&format!("/api/v1/events/{fair}/exhibitors/{}/confirm", id_of(&x_stand.json)), Some(&organiser), json!({"stand_label": "A1"}))
        .await
        .assert_status(StatusCode::OK);
    let came = app.register(&fair, person("Ann Came", "ann@example.org")).await;
    app.register(&fair, person("Bob Away", "bob@example.org")).await.assert_status(StatusCode::CREATED);
    app.post(&format!("/api/v1/events/{fair}/registrations/{}/check-in", id_of(&came.json)), Some(&organiser), json!({}))
        .await
        .assert_status(StatusCode::OK);

    let schools = app.get("/api/v1/reports/schools", Some(&organiser)).await;
    schools.assert_status(StatusCode::OK);
    let row_x = &schools.json["items"][0];
    assert_eq!(row_x["urn"], "100001");
    assert_eq!((row_x["active_links"].as_u64(), row_x["engagements_held"].as_u64()), (Some(1), Some(1)));
    assert_eq!((row_x["pupils_reached"].as_u64(), row_x["meaningful_encounters"].as_u64()), (Some(57), Some(1)));
    assert_eq!(schools.json["items"][1]["engagements_held"], 0);

    let report = app.get(&format!("/api/v1/reports/campaigns/{campaign}"), Some(&organiser)).await;
    report.assert_status(StatusCode::OK);
    assert_eq!(report.json["events"]["published"], 2);
    assert_eq!(report.json["registrations"]["attended"], 1);
    assert_eq!(report.json["registrations"]["confirmed"], 1);
    assert_eq!(report.json["employers_engaged"], 2);
    assert_eq!(report.json["schools_reached"], 1);
    assert_eq!(report.json["attendance_rate"], 1.0);
    app.get(&format!("/api/v1/reports/campaigns/{campaign}"), Some(&user_x)).await.assert_problem(StatusCode::FORBIDDEN);
    app.get(&format!("/api/v1/reports/campaigns/{}", uuid::Uuid::now_v7()), Some(&organiser)).await.assert_problem(StatusCode::NOT_FOUND);
}

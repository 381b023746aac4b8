use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, fair_body, merge};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_event_goes_from_draft_to_published_to_cancelled_raising_its_sequence() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let event = app.create_event(&organiser, json!({})).await;
    let path = format!("/api/v1/events/{}", id(&event));
    assert_eq!(event["status"], "draft");
    assert_eq!(event["sequence"], 0);
    assert_eq!(event["timezone"], "Europe/London");

    // A draft is the organisers' alone.
    app.get(&path, None).await.assert_problem(StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/events", None).await.json["total"], 0);
    // Changes before publication do not matter to any calendar yet.
    let draft = app.patch(&path, Some(&organiser), json!({"title": "Chelmsford Care Careers Fair"})).await;
    assert_eq!(draft.json["sequence"], 0);

    let published = app.post(&format!("{path}/publish"), Some(&organiser), json!({})).await;
    published.assert_status(StatusCode::OK);
    assert_eq!(published.json["status"], "published");
    app.get(&path, None).await.assert_status(StatusCode::OK);
    assert_eq!(app.get("/api/v1/events", None).await.json["total"], 1);
    app.post(&format!("{path}/publish"), Some(&organiser), json!({})).await.assert_problem(StatusCode::CONFLICT);

    let described = app.patch(&path, Some(&organiser), json!({"description": "Now with free tea."})).await;
    assert_eq!(described.json["sequence"], 0, "a description change does not move calendars");
    let retitled = app.patch(&path, Some(&organiser), json!({"title": "Chelmsford Care Jobs Fair (new hall)"})).await;
    assert_eq!(retitled.json["sequence"], 1);
    let moved =
        app.patch(&path, Some(&organiser), json!({"starts_at": "2027-01-05T11:00:00+00:00", "ends_at": "2027-01-05T14:00:00Z"})).await;
    assert_eq!(moved.json["sequence"], 2);
    let venue = app.create_venue(&organiser, Some(500)).await;
    let placed = app.patch(&path, Some(&organiser), json!({"venue_id": id(&venue)})).await;
    assert_eq!(placed.json["sequence"], 3);

    app.delete(&path, Some(&organiser)).await.assert_problem(StatusCode::CONFLICT);
    let cancelled = app.post(&format!("{path}/cancel"), Some(&organiser), json!({"reason": "Storm warning"})).await;
    cancelled.assert_status(StatusCode::OK);
    assert_eq!(cancelled.json["status"], "cancelled");
    assert_eq!(cancelled.json["sequence"], 4);
    assert_eq!(cancelled.json["cancel_reason"], "Storm warning");

    app.post(&format!("{path}/cancel"), Some(&organiser), json!({})).await.assert_problem(StatusCode::CONFLICT);
    app.patch(&path, Some(&organiser), json!({"title": "Back on"})).await.assert_problem(StatusCode::CONFLICT);
    // The public list shows published events only; a cancelled event's own page still answers.
    assert_eq!(app.get("/api/v1/events", None).await.json["total"], 0);
    assert_eq!(app.get(&path, None).await.json["status"], "cancelled");
}

#[tokio::test]
async fn a_draft_is_deleted_but_not_cancelled() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let event = app.create_event(&organiser, json!({})).await;
    let path = format!("/api/v1/events/{}", id(&event));
    app.post(&format!("{path}/cancel"), Some(&organiser), json!({})).await.assert_problem(StatusCode::CONFLICT);
    app.delete(&path, Some(&organiser)).await.assert_status(StatusCode::NO_CONTENT);
    app.get(&path, Some(&organiser)).await.assert_problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn event_times_must_be_in_order() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let backwards = app.post("/api/v1/events", Some(&organiser), merge(fair_body(), json!({"ends_at": "2027-01-05T09:00:00Z"}))).await;
    backwards.assert_invalid(&["ends_at"]);
    let equal = app.post("/api/v1/events", Some(&organiser), merge(fair_body(), json!({"ends_at": "2027-01-05T10:00:00Z"}))).await;
    equal.assert_invalid(&["ends_at"]);
    let window = app
        .post(
            "/api/v1/events",
            Some(&organiser),
            merge(fair_body(), json!({"registration_opens_at": "2027-01-03T00:00:00Z", "registration_closes_at": "2027-01-02T00:00:00Z"})),
        )
        .await;
    window.assert_invalid(&["registration_closes_at"]);
    let no_offset = app.post("/api/v1/events", Some(&organiser), merge(fair_body(), json!({"starts_at": "2027-01-05T10:00:00"}))).await;
    no_offset.assert_invalid(&["starts_at"]);

    let event = app.create_event(&organiser, json!({})).await;
    let path = format!("/api/v1/events/{}", id(&event));
    app.patch(&path, Some(&organiser), json!({"starts_at": "2027-01-05T15:00:00Z"})).await.assert_invalid(&["ends_at"]);
    assert_eq!(app.get("/api/v1/events", Some(&organiser)).await.json["total"], 1, "only the valid event was written");
}

#[tokio::test]
async fn event_fields_are_checked_and_each_bad_one_named() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let bad = app
        .post(
            "/api/v1/events",
            Some(&organiser),
            merge(
                fair_body(),
                json!({"kind": "rave", "title": "", "timezone": "Europe/Chelmsford", "capacity": -1, "online_url": "javascript:alert(1)", "max_exhibitors": 0}),
            ),
        )
        .await;
    bad.assert_invalid(&["kind", "title", "timezone", "capacity", "online_url", "max_exhibitors"]);

    let huge = app
        .post("/api/v1/events", Some(&organiser), merge(fair_body(), json!({"title": "é".repeat(201), "description": "d".repeat(10_001)})))
        .await;
    huge.assert_invalid(&["title", "description"]);

    let engagement = app
        .post("/api/v1/events", Some(&organiser), merge(fair_body(), json!({"kind": "school_engagement", "max_exhibitors": null})))
        .await;
    engagement.assert_invalid(&["school_id"]);
    let exhibitors = app.post("/api/v1/events", Some(&organiser), merge(fair_body(), json!({"kind": "training"}))).await;
    exhibitors.assert_invalid(&["max_exhibitors"]);

    let unknown_venue = app.post("/api/v1/events", Some(&organiser), merge(fair_body(), json!({"venue_id": uuid::Uuid::now_v7()}))).await;
    unknown_venue.assert_invalid(&["venue_id"]);
    let unknown_campaign =
        app.post("/api/v1/events", Some(&organiser), merge(fair_body(), json!({"campaign_id": uuid::Uuid::now_v7()}))).await;
    unknown_campaign.assert_invalid(&["campaign_id"]);
    let not_a_uuid = app.post("/api/v1/events", Some(&organiser), merge(fair_body(), json!({"venue_id": "venue-1"}))).await;
    not_a_uuid.assert_invalid(&["venue_id"]);

    let venue = app.create_venue(&organiser, Some(100)).await;
    let too_many = app.post("/api/v1/events", Some(&organiser), merge(fair_body(), json!({"venue_id": id(&venue), "capacity": 101}))).await;
    too_many.assert_invalid(&["capacity"]);

    assert_eq!(app.get("/api/v1/events", Some(&organiser)).await.json["total"], 0, "nothing was written");
}

#[tokio::test]
async fn titles_keep_what_was_typed() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let title = "Care; Jobs, Fair \\ \"Essex\"\r\nLine two 🎉";
    let event = app.create_event(&organiser, json!({"title": title})).await;
    let fetched = app.get(&format!("/api/v1/events/{}", id(&event)), Some(&organiser)).await;
    assert_eq!(fetched.json["title"], title);
    let control = app.post("/api/v1/events", Some(&organiser), merge(fair_body(), json!({"title": "bell\u{7}"}))).await;
    control.assert_invalid(&["title"]);
}

#[tokio::test]
async fn malformed_json_is_a_400_problem_and_the_wrong_media_type_a_415() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    app.post_raw("/api/v1/events", Some(&organiser), "application/json", "{\"kind\": ").await.assert_problem(StatusCode::BAD_REQUEST);
    app.post_raw("/api/v1/events", Some(&organiser), "application/json", "").await.assert_problem(StatusCode::BAD_REQUEST);
    app.post_raw("/api/v1/events", Some(&organiser), "application/json", "[1,2]").await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.post_raw("/api/v1/events", Some(&organiser), "text/plain", "hello").await.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn bad_ids_and_query_values_are_4xx_problems() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    app.get("/api/v1/events/not-a-uuid", None).await.assert_problem(StatusCode::BAD_REQUEST);
    app.get(&format!("/api/v1/events/{}", uuid::Uuid::now_v7()), None).await.assert_problem(StatusCode::NOT_FOUND);
    app.get("/api/v1/events?kind=party", None).await.assert_invalid(&["kind"]);
    app.get("/api/v1/events?from=yesterday", None).await.assert_invalid(&["from"]);
    app.get("/api/v1/events?limit=0", None).await.assert_invalid(&["limit"]);
    app.get("/api/v1/events?offset=-1", None).await.assert_invalid(&["offset"]);
    app.get("/api/v1/events?from=2027-02-01T00:00:00Z&to=2027-01-01T00:00:00Z", None).await.assert_invalid(&["to"]);
    app.patch(&format!("/api/v1/events/{}", uuid::Uuid::now_v7()), Some(&organiser), json!({"title": "x"}))
        .await
        .assert_problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_organisers_manage_events() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let event = app.create_event(&organiser, json!({})).await;
    let path = format!("/api/v1/events/{}", id(&event));
    for role in ["employer", "school"] {
        let token = app.user_token(role).await;
        app.post("/api/v1/events", Some(&token), fair_body()).await.assert_problem(StatusCode::FORBIDDEN);
        app.patch(&path, Some(&token), json!({"title": "Mine"})).await.assert_problem(StatusCode::FORBIDDEN);
        app.post(&format!("{path}/publish"), Some(&token), json!({})).await.assert_problem(StatusCode::FORBIDDEN);
        app.post(&format!("{path}/cancel"), Some(&token), json!({})).await.assert_problem(StatusCode::FORBIDDEN);
        app.delete(&path, Some(&token)).await.assert_problem(StatusCode::FORBIDDEN);
        // Not organisers, so drafts stay hidden from them too.
        app.get(&path, Some(&token)).await.assert_problem(StatusCode::NOT_FOUND);
    }
    app.post("/api/v1/events", None, fair_body()).await.assert_problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn events_are_filtered_and_paged() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let campaign = app.create_campaign(&organiser, "gift-of-care").await;
    let campaign_id = id(&campaign);
    for day in 1..=5 {
        app.create_published_event(
            &organiser,
            json!({"title": format!("Fair day {day}"), "starts_at": format!("2027-02-0{day}T10:00:00Z"), "ends_at": format!("2027-02-0{day}T12:00:00Z"), "campaign_id": campaign_id}),
        )
        .await;
    }
    app.create_published_event(
        &organiser,
        json!({"kind": "information_session", "title": "Returners' evening", "description": "For those coming back to CARE work", "max_exhibitors": null, "starts_at": "2027-03-01T18:00:00Z", "ends_at": "2027-03-01T19:30:00Z"}),
    )
    .await;
    app.create_event(&organiser, json!({"title": "Draft fair"})).await;

    let all = app.get("/api/v1/events", None).await;
    assert_eq!(all.json["total"], 6);
    let titles: Vec<&str> = all.json["items"].as_array().into_iter().flatten().filter_map(|e| e["title"].as_str()).collect();
    assert_eq!(titles.first(), Some(&"Fair day 1"), "soonest first");

    let page = app.get("/api/v1/events?limit=2&offset=2", None).await;
    assert_eq!(page.json["total"], 6);
    assert_eq!(page.json["limit"], 2);
    assert_eq!(page.json["offset"], 2);
    let titles: Vec<&str> = page.json["items"].as_array().into_iter().flatten().filter_map(|e| e["title"].as_str()).collect();
    assert_eq!(titles, ["Fair day 3", "Fair day 4"]);

    assert_eq!(app.get("/api/v1/events?limit=500", None).await.json["limit"], 200, "capped");
    assert_eq!(app.get("/api/v1/events?kind=information_session", None).await.json["total"], 1);
    assert_eq!(app.get(&format!("/api/v1/events?campaign={campaign_id}"), None).await.json["total"], 5);
    assert_eq!(app.get("/api/v1/events?from=2027-02-03T11:00:00Z&to=2027-02-05T00:00:00Z", None).await.json["total"], 2);
    // The same range with offsets, once percent-encoded and once with a bare `+` (read as a space).
    assert_eq!(app.get("/api/v1/events?from=2027-02-03T12:00:00%2B01:00&to=2027-02-05T01:00:00%2B01:00", None).await.json["total"], 2);
    assert_eq!(app.get("/api/v1/events?from=2027-02-03T12:00:00+01:00&to=2027-02-05T01:00:00+01:00", None).await.json["total"], 2);
    assert_eq!(app.get("/api/v1/events?q=care%20work", None).await.json["total"], 1, "matches descriptions, ignoring case");
    assert_eq!(app.get("/api/v1/events?q=100%25", None).await.json["total"], 0, "wildcards are literal");

    assert_eq!(app.get("/api/v1/events?status=draft", None).await.json["total"], 0, "the public sees published events only");
    let drafts = app.get("/api/v1/events?status=draft", Some(&organiser)).await;
    assert_eq!(drafts.json["total"], 1);
    assert_eq!(app.get("/api/v1/events", Some(&organiser)).await.json["total"], 7);
}

#[tokio::test]
async fn an_event_cannot_hold_more_than_its_venue() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let small = app.create_venue(&organiser, Some(50)).await;
    let event = app.create_event(&organiser, json!({"capacity": 200})).await;
    let path = format!("/api/v1/events/{}", id(&event));
    app.patch(&path, Some(&organiser), json!({"venue_id": id(&small)})).await.assert_invalid(&["capacity"]);
    let fitted = app.patch(&path, Some(&organiser), json!({"venue_id": id(&small), "capacity": 50})).await;
    fitted.assert_status(StatusCode::OK);
    assert_eq!(fitted.json["venue_id"], small["id"]);
}

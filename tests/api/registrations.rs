use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, person};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

fn token_of(manage_url: &Value) -> String {
    manage_url.as_str().and_then(|u| u.rsplit('/').next()).unwrap_or_default().to_owned()
}

/// A published fair with `capacity` places, and an organiser's token.
async fn fair(app: &TestApp, capacity: i64) -> (String, String) {
    app.published_fair(capacity).await
}

#[tokio::test]
async fn registrations_are_confirmed_until_the_event_is_full_then_waitlisted() {
    let app = TestApp::spawn().await;
    let (event, organiser) = fair(&app, 2).await;
    let first = app.register(&event, person("Ada", "ada@example.org")).await;
    first.assert_status(StatusCode::CREATED);
    assert_eq!(first.json["status"], "confirmed");
    assert_eq!(first.json["event_id"], event);
    assert_eq!(first.json["position"], json!(null));
    let manage_url = first.json["manage_url"].as_str().unwrap_or_default();
    assert!(manage_url.starts_with("http://127.0.0.1:8080/r/"), "{manage_url}");
    assert_eq!(token_of(&first.json["manage_url"]).len(), 64);

    assert_eq!(app.register(&event, person("Ben", "ben@example.org")).await.json["status"], "confirmed");
    let third = app.register(&event, person("Cy", "cy@example.org")).await;
    assert_eq!(third.json["status"], "waitlisted");
    assert_eq!(third.json["position"], 1);
    let fourth = app.register(&event, person("Di", "di@example.org")).await;
    assert_eq!(fourth.json["position"], 2);

    let list = app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await;
    list.assert_status(StatusCode::OK);
    assert_eq!(list.json["total"], 4);
    let statuses: Vec<&str> = list.json["items"].as_array().into_iter().flatten().filter_map(|r| r["status"].as_str()).collect();
    assert_eq!(statuses, ["confirmed", "confirmed", "waitlisted", "waitlisted"]);
    let waitlisted = app.get(&format!("/api/v1/events/{event}/registrations?status=waitlisted&limit=1&offset=1"), Some(&organiser)).await;
    assert_eq!(waitlisted.json["total"], 2);
    assert_eq!(waitlisted.json["items"][0]["email"], "di@example.org");
    assert_eq!(waitlisted.json["items"][0]["position"], 2);
}

#[tokio::test]
async fn an_event_without_a_capacity_confirms_everyone() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let event = app.create_published_event(&organiser, json!({"capacity": null})).await;
    for i in 0..5 {
        let answer = app.register(&id(&event), person("P", &format!("p{i}@example.org"))).await;
        assert_eq!(answer.json["status"], "confirmed");
    }
}

#[tokio::test]
async fn one_email_holds_one_live_place_per_event() {
    let app = TestApp::spawn().await;
    let (event, organiser) = fair(&app, 10).await;
    let first = app.register(&event, person("Ada", "ada@example.org")).await;
    first.assert_status(StatusCode::CREATED);
    app.register(&event, person("Ada again", "ADA@Example.org")).await.assert_problem(StatusCode::CONFLICT);
    assert_eq!(app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await.json["total"], 1);

    // Once cancelled, the same person may register again.
    let token = token_of(&first.json["manage_url"]);
    app.delete(&format!("/api/v1/registrations/{token}"), None).await.assert_status(StatusCode::OK);
    app.register(&event, person("Ada", "ada@example.org")).await.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer() {
    let app = TestApp::spawn().await;
    let (event, organiser) = fair(&app, 10).await;
    let path = format!("/api/v1/events/{event}/registrations");
    let send = |body: Value, key: &'static str| {
        let req = app.client.post(app.url(&path)).header("Idempotency-Key", key).json(&body);
        async move { req.send().await.map(|r| r.status()).ok() }
    };
    let body = person("Ada", "ada@example.org");
    let first = app.client.post(app.url(&path)).header("Idempotency-Key", "key-1").json(&body).send().await;
    let first = first.map(|r| async { (r.status(), r.text().await.unwrap_or_default()) });
    let (status, text) = match first {
        Ok(f) => f.await,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(status, StatusCode::CREATED);
    let again = app.client.post(app.url(&path)).header("Idempotency-Key", "key-1").json(&body).send().await;
    let again_text = match again {
        Ok(r) => {
            assert_eq!(r.status(), StatusCode::CREATED);
            r.text().await.unwrap_or_default()
        }
        Err(e) => panic!("{e}"),
    };
    assert_eq!(text, again_text, "the same body");

    assert_eq!(send(person("Someone else", "eve@example.org"), "key-1").await, Some(StatusCode::UNPROCESSABLE_ENTITY));
    assert_eq!(
        app.count_rows("SELECT COUNT(*) AS n FROM candidates WHERE email = 'eve@example.org'").await,
        0,
        "a refused request leaves no candidate behind"
    );
    // Without the key, the same request is a duplicate.
    app.register(&event, body).await.assert_problem(StatusCode::CONFLICT);
    assert_eq!(app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await.json["total"], 1);
    let bad_key = app.client.post(app.url(&path)).header("Idempotency-Key", "has space").json(&person("X", "x@example.org")).send().await;
    assert_eq!(bad_key.ok().map(|r| r.status()), Some(StatusCode::UNPROCESSABLE_ENTITY));
}

#[tokio::test]
async fn marketing_consent_is_recorded_only_with_an_accepted_registration() {
    let app = TestApp::spawn().await;
    let (first, organiser) = fair(&app, 10).await;
    let second = id(&app.create_published_event(&organiser, json!({"capacity": 10})).await);
    app.register(&first, person("Ada", "ada@example.org")).await.assert_status(StatusCode::CREATED);
    let list = app.get(&format!("/api/v1/events/{first}/registrations"), Some(&organiser)).await;
    let candidate = list.json["items"][0]["candidate_id"].as_str().unwrap_or_default().to_owned();
    let export_path = format!("/api/v1/candidates/{candidate}/export");
    let export = || app.get(&export_path, Some(&organiser));

    let consenting = json!({"name": "Ada", "email": "ada@example.org", "consent_marketing": true});
    app.register(&first, consenting.clone()).await.assert_problem(StatusCode::CONFLICT);
    let refused = export().await;
    assert_eq!(refused.json["consent_marketing"], false, "a refused registration records no consent");
    assert_eq!(refused.json["consent_at"], json!(null));

    app.register(&second, consenting).await.assert_status(StatusCode::CREATED);
    let accepted = export().await;
    assert_eq!(accepted.json["consent_marketing"], true);
    assert!(accepted.json["consent_at"].is_string(), "{}", accepted.text);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_register_once() {
    let app = TestApp::spawn().await;
    let (event, organiser) = fair(&app, 10).await;
    let path = format!("/api/v1/events/{event}/registrations");
    let body = person("Ada", "ada@example.org");
    let sends = (0..10).map(|_| {
        let req = app.client.post(app.url(&path)).header("Idempotency-Key", "same").json(&body);
        async move {
            let r = req.send().await.ok()?;
            Some((r.status(), r.text().await.ok()?))
        }
    });
    let answers: Vec<_> = futures_join(sends).await;
    let ok: Vec<&(StatusCode, String)> = answers.iter().flatten().filter(|(s, _)| *s == StatusCode::CREATED).collect();
    assert_eq!(ok.len(), 10, "{answers:?}");
    assert!(ok.iter().all(|(_, body)| *body == ok[0].1));
    assert_eq!(app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await.json["total"], 1);
}

/// Runs futures concurrently on the test's runtime.
async fn futures_join<F: std::future::Future + Send + 'static>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}

#[tokio::test]
async fn registration_is_open_only_for_published_events_inside_the_window() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let draft = app.create_event(&organiser, json!({})).await;
    let answer = app.register(&id(&draft), person("A", "a@example.org")).await;
    answer.assert_problem(StatusCode::CONFLICT);
    assert!(answer.json["detail"].as_str().unwrap_or("").contains("not published"), "{}", answer.text);

    let cancelled =
        app.create_published_event(&organiser, json!({"starts_at": "2027-02-01T10:00:00Z", "ends_at": "2027-02-01T12:00:00Z"})).await;
    app.post(&format!("/api/v1/events/{}/cancel", id(&cancelled)), Some(&organiser), json!({})).await.assert_status(StatusCode::OK);

    let windowed = app
        .create_published_event(
            &organiser,
            json!({"registration_opens_at": "2027-01-04T12:00:00Z", "registration_closes_at": "2027-01-05T08:00:00Z"}),
        )
        .await;
    let early = app.register(&id(&windowed), person("A", "a@example.org")).await;
    early.assert_problem(StatusCode::CONFLICT);
    assert!(early.json["detail"].as_str().unwrap_or("").contains("opens at"));
    app.clock.advance(Duration::hours(3));
    app.register(&id(&windowed), person("A", "a@example.org")).await.assert_status(StatusCode::CREATED);
    app.clock.advance(Duration::hours(21));
    let late = app.register(&id(&windowed), person("B", "b@example.org")).await;
    late.assert_problem(StatusCode::CONFLICT);
    assert!(late.json["detail"].as_str().unwrap_or("").contains("closed"));

    let answer = app.register(&id(&cancelled), person("A", "a@example.org")).await;
    answer.assert_problem(StatusCode::CONFLICT);
    assert!(answer.json["detail"].as_str().unwrap_or("").contains("cancelled"));

    app.register(&uuid::Uuid::now_v7().to_string(), person("A", "a@example.org")).await.assert_problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_registration_input_is_named_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (event, organiser) = fair(&app, 10).await;
    let bad = app
        .register(
            &event,
            json!({"name": "Ada\r\nBcc: all@example.org", "email": "ada@example.org\r\nBcc: x@y.z", "phone": "call me", "postcode": "XX", "consent_marketing": false}),
        )
        .await;
    bad.assert_invalid(&["name", "email", "phone", "postcode"]);
    let huge = app
        .register(&event, json!({"name": "n".repeat(201), "email": format!("{}@example.org", "a".repeat(250)), "consent_marketing": true}))
        .await;
    huge.assert_invalid(&["name", "email"]);
    let interests: Vec<String> = (0..21).map(|i| format!("interest {i}")).collect();
    let many =
        app.register(&event, json!({"name": "A", "email": "a@example.org", "interests": interests, "consent_marketing": true})).await;
    many.assert_invalid(&["interests"]);
    let missing = app.register(&event, json!({"name": "A", "email": "a@example.org"})).await;
    missing.assert_invalid(&["consent_marketing"]);
    assert_eq!(app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await.json["total"], 0);
}

#[tokio::test]
async fn the_holder_sees_and_cancels_their_place_and_the_waiting_list_moves_up() {
    let app = TestApp::spawn().await;
    let (event, organiser) = fair(&app, 1).await;
    let ada = app.register(&event, person("Ada", "ada@example.org")).await;
    let ben = app.register(&event, person("Ben", "ben@example.org")).await;
    let cy = app.register(&event, person("Cy", "cy@example.org")).await;
    let (ada_token, ben_token, cy_token) =
        (token_of(&ada.json["manage_url"]), token_of(&ben.json["manage_url"]), token_of(&cy.json["manage_url"]));

    let held = app.get(&format!("/api/v1/registrations/{ben_token}"), None).await;
    held.assert_status(StatusCode::OK);
    assert_eq!(held.json["status"], "waitlisted");
    assert_eq!(held.json["position"], 1);
    assert_eq!(held.json["event"]["id"], event);
    assert_eq!(app.get(&format!("/api/v1/registrations/{cy_token}"), None).await.json["position"], 2);

    let cancelled = app.delete(&format!("/api/v1/registrations/{ada_token}"), None).await;
    cancelled.assert_status(StatusCode::OK);
    assert_eq!(cancelled.json["status"], "cancelled");
    assert_eq!(
        app.delete(&format!("/api/v1/registrations/{ada_token}"), None).await.json["status"],
        "cancelled",
        "cancelling twice is fine"
    );

    assert_eq!(app.get(&format!("/api/v1/registrations/{ben_token}"), None).await.json["status"], "confirmed", "promoted");
    let cy_now = app.get(&format!("/api/v1/registrations/{cy_token}"), None).await;
    assert_eq!(cy_now.json["position"], 1, "moved up");

    app.get(&format!("/api/v1/registrations/{}", "f".repeat(64)), None).await.assert_problem(StatusCode::NOT_FOUND);
    app.delete("/api/v1/registrations/nonsense", None).await.assert_problem(StatusCode::NOT_FOUND);

    // The promotion was queued as a message to Ben, in the same transaction.
    let ben_id = held.json["id"].as_str().unwrap_or_default().to_owned();
    let list = app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await;
    let ben_candidate =
        list.json["items"].as_array().into_iter().flatten().find(|r| r["id"] == ben_id.as_str()).map(|r| r["candidate_id"].clone());
    let export = app
        .get(
            &format!("/api/v1/candidates/{}/export", ben_candidate.and_then(|c| c.as_str().map(str::to_owned)).unwrap_or_default()),
            Some(&organiser),
        )
        .await;
    let kinds: Vec<&str> = export.json["messages"].as_array().into_iter().flatten().filter_map(|m| m["kind"].as_str()).collect();
    assert_eq!(kinds, ["registration_waitlisted", "registration_promoted"]);
}

#[tokio::test]
async fn raising_the_capacity_promotes_as_many_as_fit() {
    let app = TestApp::spawn().await;
    let (event, organiser) = fair(&app, 1).await;
    for i in 0..4 {
        app.register(&event, person("P", &format!("p{i}@example.org"))).await.assert_status(StatusCode::CREATED);
    }
    let path = format!("/api/v1/events/{event}");
    app.patch(&path, Some(&organiser), json!({"capacity": 3})).await.assert_status(StatusCode::OK);
    let confirmed = app.get(&format!("{path}/registrations?status=confirmed"), Some(&organiser)).await;
    assert_eq!(confirmed.json["total"], 3);
    let waiting = app.get(&format!("{path}/registrations?status=waitlisted"), Some(&organiser)).await;
    assert_eq!(waiting.json["total"], 1);
    assert_eq!(waiting.json["items"][0]["email"], "p3@example.org");
    assert_eq!(waiting.json["items"][0]["position"], 1);
    app.patch(&path, Some(&organiser), json!({"capacity": 2})).await.assert_invalid(&["capacity"]);
    app.patch(&path, Some(&organiser), json!({"capacity": null})).await.assert_status(StatusCode::OK);
    assert_eq!(app.get(&format!("{path}/registrations?status=confirmed"), Some(&organiser)).await.json["total"], 4);
}

#[tokio::test]
async fn organisers_check_people_in_and_close_the_event() {
    let app = TestApp::spawn().await;
    let (event, organiser) = fair(&app, 2).await;
    let ada = app.register(&event, person("Ada", "ada@example.org")).await;
    let ben = app.register(&event, person("Ben", "ben@example.org")).await;
    let cy = app.register(&event, person("Cy", "cy@example.org")).await;
    let base = format!("/api/v1/events/{event}/registrations");

    // The day before, more than 12 hours ahead of the start: the door is not open yet.
    let early = app.post(&format!("{base}/{}/check-in", id(&ada.json)), Some(&organiser), json!({})).await;
    early.assert_problem(StatusCode::CONFLICT);
    assert!(early.json["detail"].as_str().is_some_and(|d| d.contains("check-in opens")), "{}", early.text);
    app.clock.set(chrono::DateTime::parse_from_rfc3339("2027-01-05T09:30:00Z").map(|t| t.to_utc()).unwrap_or_default());
    let organiser = app.organiser_token().await;

    let checked = app.post(&format!("{base}/{}/check-in", id(&ada.json)), Some(&organiser), json!({})).await;
    checked.assert_status(StatusCode::OK);
    assert_eq!(checked.json["status"], "attended");
    app.post(&format!("{base}/{}/check-in", id(&cy.json)), Some(&organiser), json!({})).await.assert_problem(StatusCode::CONFLICT);
    app.post(&format!("{base}/{}/cancel", id(&cy.json)), Some(&organiser), json!({})).await.assert_status(StatusCode::OK);
    app.post(&format!("{base}/{}/check-in", id(&cy.json)), Some(&organiser), json!({})).await.assert_problem(StatusCode::CONFLICT);
    app.post(&format!("{base}/{}/check-in", uuid::Uuid::now_v7()), Some(&organiser), json!({})).await.assert_problem(StatusCode::NOT_FOUND);

    app.post(&format!("{base}/close"), Some(&organiser), json!({})).await.assert_problem(StatusCode::CONFLICT);
    app.clock.advance(Duration::days(2));
    let organiser = app.organiser_token().await;
    let closed = app.post(&format!("{base}/close"), Some(&organiser), json!({})).await;
    closed.assert_status(StatusCode::OK);
    assert_eq!(closed.json["no_show"], 1);
    let ben_now = app.get(&format!("{base}?status=no_show"), Some(&organiser)).await;
    assert_eq!(ben_now.json["items"][0]["id"], ben.json["id"]);
    assert_eq!(app.get(&format!("/api/v1/events/{event}"), None).await.json["status"], "completed");
    // Two days on, more than 12 hours after the end: too late to check anyone in.
    let late = app.post(&format!("{base}/{}/check-in", id(&ben.json)), Some(&organiser), json!({})).await;
    late.assert_problem(StatusCode::CONFLICT);
    assert!(late.json["detail"].as_str().is_some_and(|d| d.contains("check-in closed")), "{}", late.text);
}

#[tokio::test]
async fn only_organisers_see_registrations() {
    let app = TestApp::spawn().await;
    let (event, _) = fair(&app, 2).await;
    let registered = app.register(&event, person("Ada", "ada@example.org")).await;
    let base = format!("/api/v1/events/{event}/registrations");
    for role in ["employer", "school"] {
        let token = app.user_token(role).await;
        app.get(&base, Some(&token)).await.assert_problem(StatusCode::FORBIDDEN);
        app.get(&format!("{base}.csv"), Some(&token)).await.assert_problem(StatusCode::FORBIDDEN);
        app.post(&format!("{base}/{}/check-in", id(&registered.json)), Some(&token), json!({})).await.assert_problem(StatusCode::FORBIDDEN);
    }
    app.get(&base, None).await.assert_problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_csv_export_neutralises_formulas() {
    let app = TestApp::spawn().await;
    let (event, organiser) = fair(&app, 10).await;
    app.register(&event, json!({"name": "=HYPERLINK(\"evil\",\"click\")", "email": "eve@example.org", "phone": "+44 1245 123456", "consent_marketing": false}))
        .await
        .assert_status(StatusCode::CREATED);
    app.register(&event, json!({"name": "-2+3, Jane", "email": "jane@example.org", "consent_marketing": false}))
        .await
        .assert_status(StatusCode::CREATED);
    let csv = app.get(&format!("/api/v1/events/{event}/registrations.csv"), Some(&organiser)).await;
    csv.assert_status(StatusCode::OK);
    assert!(csv.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("id,candidate_id,name,email"));
    assert!(lines[1].contains(r#""'=HYPERLINK(""evil"",""click"")""#), "{}", lines[1]);
    assert!(lines[1].contains(",'+44 1245 123456,"), "{}", lines[1]);
    assert!(lines[2].contains(r#""'-2+3, Jane""#), "{}", lines[2]);
    for line in &lines[1..] {
        for cell in line.split(',') {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell} in {line}");
        }
    }
}

#[tokio::test]
async fn a_candidate_export_holds_everything_and_erasure_keeps_only_counts() {
    let app = TestApp::spawn().await;
    let (event, organiser) = fair(&app, 10).await;
    let registered = app
        .register(&event, json!({"name": "Ada Lovelace", "email": "ada@example.org", "phone": "01245 123456", "postcode": "cm1 1je", "interests": ["home care"], "consent_marketing": true, "source": "poster"}))
        .await;
    let token = token_of(&registered.json["manage_url"]);
    let list = app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await;
    let candidate = list.json["items"][0]["candidate_id"].as_str().unwrap_or_default().to_owned();

    let export = app.get(&format!("/api/v1/candidates/{candidate}/export"), Some(&organiser)).await;
    export.assert_status(StatusCode::OK);
    assert_eq!(export.json["name"], "Ada Lovelace");
    assert_eq!(export.json["postcode"], "CM1 1JE");
    assert_eq!(export.json["interests"], json!(["home care"]));
    assert_eq!(export.json["consent_marketing"], true);
    assert!(export.json["consent_at"].is_string(), "consent recorded with its time");
    assert_eq!(export.json["registrations"][0]["event_id"], event);
    assert_eq!(export.json["messages"][0]["kind"], "registration_confirmed");

    let employer = app.user_token("employer").await;
    app.delete(&format!("/api/v1/candidates/{candidate}"), Some(&employer)).await.assert_problem(StatusCode::FORBIDDEN);
    app.delete(&format!("/api/v1/candidates/{candidate}"), Some(&organiser)).await.assert_status(StatusCode::NO_CONTENT);

    let erased = app.get(&format!("/api/v1/candidates/{candidate}/export"), Some(&organiser)).await;
    assert_eq!(erased.json["name"], "");
    assert_eq!(erased.json["phone"], json!(null));
    assert_eq!(erased.json["postcode"], json!(null));
    assert_eq!(erased.json["source"], json!(null));
    assert!(!erased.text.contains("ada@example.org") && !erased.text.contains("Lovelace"), "{}", erased.text);
    assert_eq!(erased.json["messages"], json!([]));
    let after = app.get(&format!("/api/v1/events/{event}/registrations?status=confirmed"), Some(&organiser)).await;
    assert_eq!(after.json["total"], 1, "the registration still counts");
    app.get(&format!("/api/v1/registrations/{token}"), None).await.assert_problem(StatusCode::NOT_FOUND);
    app.get(&format!("/api/v1/candidates/{}/export", uuid::Uuid::now_v7()), Some(&organiser)).await.assert_problem(StatusCode::NOT_FOUND);
}

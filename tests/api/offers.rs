//! Waiting-list offers (with the injected clock): a freed place offered to the first person
//! waiting, claimed, or passed on when the offer lapses; near the start given at once; a claim
//! racing the expiry and two places freed at once stay exact.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, fair_body, id_of, manage_token, merge, person};

fn at(time: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(time).map(|t| t.to_utc()).unwrap_or_default()
}

/// A fair (5 January 2027, 10:00; the tests start the day before at 09:00) with `capacity`
/// places and offers of `hours`, then `people` registered in order: their manage tokens.
async fn fair_with_offers(app: &TestApp, capacity: i64, hours: i64, people: &[&str]) -> (String, String, Vec<String>) {
    let (event, organiser) = app.published_fair(capacity).await;
    let path = format!("/api/v1/events/{event}");
    app.patch(&path, Some(&organiser), json!({"offer_hours": 0})).await.assert_invalid(&["offer_hours"]);
    app.patch(&path, Some(&organiser), json!({"offer_hours": 169})).await.assert_invalid(&["offer_hours"]);
    let set = app.patch(&path, Some(&organiser), json!({"offer_hours": hours})).await;
    set.assert_status(StatusCode::OK);
    assert_eq!(set.json["offer_hours"], hours);
    let mut tokens = Vec::new();
    for name in people {
        let answer = app.register(&event, person(name, &format!("{}@example.org", name.to_lowercase()))).await;
        answer.assert_status(StatusCode::CREATED);
        tokens.push(manage_token(&answer.json));
    }
    (event, organiser, tokens)
}

/// How many registrations of `event` hold a place: confirmed, or offered and not yet claimed.
async fn holding(app: &TestApp, organiser: &str, event: &str) -> usize {
    let list = app.get(&format!("/api/v1/events/{event}/registrations?limit=200"), Some(organiser)).await;
    list.assert_status(StatusCode::OK);
    list.json["items"].as_array().into_iter().flatten().filter(|r| matches!(r["status"].as_str(), Some("confirmed" | "offered"))).count()
}

async fn held(app: &TestApp, token: &str) -> Value {
    app.get(&format!("/api/v1/registrations/{token}"), None).await.json
}

async fn status(app: &TestApp, token: &str) -> String {
    held(app, token).await["status"].as_str().unwrap_or_default().to_owned()
}

/// Waits (up to 10 s) until the registration of `token` has `want` (the sweep runs on its own).
async fn until_status(app: &TestApp, token: &str, want: &str) -> String {
    let mut seen = String::new();
    for _ in 0..100 {
        seen = status(app, token).await;
        if seen == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    seen
}

#[tokio::test]
async fn a_freed_place_is_offered_claimed_once_and_an_unclaimed_one_passes_on() {
    let app = TestApp::spawn().await;
    let (event, organiser, tokens) = fair_with_offers(&app, 1, 1, &["Ann", "Ben", "Cal"]).await;
    let [ann, ben, cal] = [&tokens[0], &tokens[1], &tokens[2]];
    assert_eq!((status(&app, ann).await, status(&app, ben).await), ("confirmed".to_owned(), "waitlisted".to_owned()));

    app.delete(&format!("/api/v1/registrations/{ann}"), None).await.assert_status(StatusCode::OK);
    let offered = held(&app, ben).await;
    assert_eq!(offered["status"], "offered", "{offered}");
    assert!(offered["ticket_code"].is_null(), "no ticket until it is claimed");
    let expires = offered["offer_expires_at"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.to_utc());
    assert_eq!(expires, Some(at("2027-01-04T10:00:00Z")), "an hour from now");
    assert_eq!(status(&app, cal).await, "waitlisted");
    let mail = app.wait_for_mail("A place has become free at Chelmsford Care Jobs Fair").await;
    assert!(mail.contains("claim it by 10:00 on Monday 4 January 2027") && mail.contains("/r/"), "{mail}");
    // The place is held for the offer: a newcomer waits.
    let dee = app.register(&event, person("Dee", "dee@example.org")).await;
    assert_eq!(dee.json["status"], "waitlisted");

    // Unclaimed for an hour: it lapses and passes to Cal, offered in turn.
    app.clock.set(at("2027-01-04T10:00:01Z"));
    assert_eq!(until_status(&app, cal, "offered").await, "offered");
    assert_eq!(status(&app, ben).await, "cancelled");
    app.post(&format!("/api/v1/registrations/{ben}/claim"), None, json!({})).await.assert_problem(StatusCode::CONFLICT);
    let told = app.wait_for_mail("offered to you was not claimed").await;
    assert!(told.contains("Dear Ben") && told.contains("not claimed by 10:00 on Monday 4 January 2027"), "{told}");

    // Cal claims: confirmed, with a ticket; claiming again is a 409.
    let claimed = app.post(&format!("/api/v1/registrations/{cal}/claim"), None, json!({})).await;
    claimed.assert_status(StatusCode::OK);
    assert_eq!(claimed.json["status"], "confirmed");
    assert!(claimed.json["ticket_code"].is_string());
    app.post(&format!("/api/v1/registrations/{cal}/claim"), None, json!({})).await.assert_problem(StatusCode::CONFLICT);
    app.post(&format!("/api/v1/registrations/{}/claim", "0".repeat(64)), None, json!({})).await.assert_problem(StatusCode::NOT_FOUND);
    // The place counts once: the next newcomer waits too.
    let eve = app.register(&event, person("Eve", "eve@example.org")).await;
    assert_eq!(eve.json["status"], "waitlisted");
    let _ = organiser;
}

#[tokio::test]
async fn within_the_offer_hours_of_the_start_a_place_is_given_at_once() {
    let app = TestApp::spawn().await;
    // 25 hours before the start, offers of 48 hours would outlast the time left.
    let (_event, _organiser, tokens) = fair_with_offers(&app, 1, 48, &["Ann", "Ben"]).await;
    app.delete(&format!("/api/v1/registrations/{}", tokens[0]), None).await.assert_status(StatusCode::OK);
    assert_eq!(status(&app, &tokens[1]).await, "confirmed");
}

#[tokio::test]
async fn two_places_freed_at_once_make_two_offers_and_a_claim_racing_the_expiry_has_one_outcome() {
    let app = TestApp::spawn().await;
    let (event, organiser, tokens) = fair_with_offers(&app, 2, 1, &["Ann", "Amy", "Ben", "Bea", "Cal"]).await;
    let cancel = |token: String| {
        let app = &app;
        async move { app.delete(&format!("/api/v1/registrations/{token}"), None).await.status }
    };
    let (first, second) = tokio::join!(cancel(tokens[0].clone()), cancel(tokens[1].clone()));
    assert_eq!((first, second), (StatusCode::OK, StatusCode::OK));
    assert_eq!((status(&app, &tokens[2]).await, status(&app, &tokens[3]).await), ("offered".to_owned(), "offered".to_owned()));
    assert_eq!(status(&app, &tokens[4]).await, "waitlisted");

    // Ben claims just as his offer runs out, while the sweep passes expired offers on.
    app.clock.set(at("2027-01-04T10:00:00Z") - Duration::milliseconds(5));
    let claim_path = format!("/api/v1/registrations/{}/claim", tokens[2]);
    let claim = app.post(&claim_path, None, json!({}));
    let expire = async {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        app.clock.set(at("2027-01-04T10:00:01Z"));
    };
    let (claimed, ()) = tokio::join!(claim, expire);
    // Bea's offer lapses either way and passes to Cal.
    assert_eq!(until_status(&app, &tokens[4], "offered").await, "offered");
    let ben = status(&app, &tokens[2]).await;
    match claimed.status {
        StatusCode::OK => assert_eq!(ben, "confirmed", "a claim that won keeps the place"),
        StatusCode::CONFLICT => assert_eq!(ben, "cancelled", "a claim that lost leaves the offer lapsed"),
        other => panic!("claim answered {other}: {}", claimed.text),
    }
    // Exact: every place held is counted once. Ben's won place and Cal's offer are two; if Ben
    // lost, both lapsed places passed on and only Cal was waiting for them.
    let holding = holding(&app, &organiser, &event).await;
    assert_eq!(holding, if ben == "confirmed" { 2 } else { 1 });
    // The counters agree: a newcomer gets a place only if one is free.
    let newcomer = app.register(&event, person("Dan", "dan@example.org")).await;
    assert_eq!(newcomer.json["status"], if holding < 2 { "confirmed" } else { "waitlisted" }, "{}", newcomer.text);
}

#[tokio::test]
async fn claiming_an_offer_on_the_manage_page_in_chromium() {
    let app = TestApp::spawn().await;
    let (_event, _organiser, tokens) = fair_with_offers(&app, 1, 24, &["Ann", "Ben"]).await;
    // 25 hours before the start an offer of a day still fits.
    app.delete(&format!("/api/v1/registrations/{}", tokens[0]), None).await.assert_status(StatusCode::OK);
    let Some(phone) = crate::chromium::Browser::start(true).await else { return };
    phone.goto(&app.url(&format!("/r/{}", tokens[1]))).await;
    let text = phone.text_with("Claim my place").await;
    assert!(text.contains("A place has become free, and it is yours if you claim it by 09:00 on Tuesday 5 January 2027"), "{text}");
    phone.screenshot("phone-offer").await;
    phone.click("form[action$='/claim'] button[type=submit]").await;
    let text = phone.text_with("The place is yours").await;
    assert!(text.contains("Your ticket") && text.contains("Booked"), "{text}");
    phone.screenshot("phone-offer-claimed").await;
    phone.close().await;
    assert_eq!(status(&app, &tokens[1]).await, "confirmed");
}

#[tokio::test]
async fn an_offer_at_a_cancelled_event_cannot_be_claimed_and_its_holder_is_told() {
    let app = TestApp::spawn().await;
    let (event, organiser, tokens) = fair_with_offers(&app, 1, 1, &["Ann", "Ben"]).await;
    app.delete(&format!("/api/v1/registrations/{}", tokens[0]), None).await.assert_status(StatusCode::OK);
    assert_eq!(status(&app, &tokens[1]).await, "offered");
    app.post(&format!("/api/v1/events/{event}/cancel"), Some(&organiser), json!({"reason": "Flooded hall"}))
        .await
        .assert_status(StatusCode::OK);
    app.post(&format!("/api/v1/registrations/{}/claim", tokens[1]), None, json!({})).await.assert_problem(StatusCode::CONFLICT);
    let told = app.wait_for_mail("Flooded hall").await;
    assert!(told.contains("Dear Ben"), "{told}");
}

#[tokio::test]
async fn offers_are_set_when_an_event_is_created() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let before = app.count_rows("SELECT COUNT(*) AS n FROM events").await;
    let refused = app.post("/api/v1/events", Some(&organiser), merge(fair_body(), json!({"offer_hours": 200}))).await;
    refused.assert_invalid(&["offer_hours"]);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM events").await, before, "nothing saved");
    let event = app.create_event(&organiser, json!({"offer_hours": 12})).await;
    assert_eq!(event["offer_hours"], 12);
    let read = app.get(&format!("/api/v1/events/{}", id_of(&event)), Some(&organiser)).await;
    assert_eq!(read.json["offer_hours"], 12);
    let plain = app.create_event(&organiser, json!({})).await;
    assert_eq!(plain["offer_hours"], Value::Null, "left out: freed places are given at once");
}

/// Scale-out: two servers sharing PostgreSQL, each with its own sweep, free ten places at once,
/// then claims race the offers' expiry on both. Every place is held once, and the places not
/// claimed pass down the waiting list in its order. (SQLite is one process per database file.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_offer_claim_and_pass_on_each_freed_place_once() {
    let first = TestApp::spawn().await;
    if !first.is_postgres() {
        eprintln!("two_servers_offer_claim_and_pass_on_each_freed_place_once: runs on PostgreSQL only");
        return;
    }
    let second = first.spawn_sharing().await;
    let servers = [&first, &second];
    let names: Vec<String> = (0..40).map(|i| format!("Person{i:02}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (event, organiser, tokens) = fair_with_offers(&first, 10, 1, &names).await;

    let cancels = tokens[..10].iter().enumerate().map(|(i, token)| {
        let app = servers[i % 2];
        async move { app.delete(&format!("/api/v1/registrations/{token}"), None).await.status }
    });
    assert!(futures::future::join_all(cancels).await.iter().all(|s| *s == StatusCode::OK));
    for (i, token) in tokens.iter().enumerate().skip(10) {
        assert_eq!(status(&second, token).await, if i < 20 { "offered" } else { "waitlisted" }, "person {i}");
    }

    // Five claim, alternately through each server, as the offers run out.
    first.clock.set(at("2027-01-04T10:00:00Z") - Duration::milliseconds(5));
    let claims = tokens[10..15].iter().enumerate().map(|(i, token)| {
        let app = servers[i % 2];
        async move { app.post(&format!("/api/v1/registrations/{token}/claim"), None, json!({})).await.status }
    });
    let expire = async {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        first.clock.set(at("2027-01-04T10:00:01Z"));
    };
    let (claimed, ()) = tokio::join!(futures::future::join_all(claims), expire);
    let won = claimed.iter().filter(|s| **s == StatusCode::OK).count();
    eprintln!("claims won before the expiry: {won} of 5");
    assert!(claimed.iter().all(|s| matches!(*s, StatusCode::OK | StatusCode::CONFLICT)), "{claimed:?}");

    // Settled: the places not claimed passed to the next ten in line, none twice, none skipped.
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = Vec::new();
        for token in &tokens[10..] {
            seen.push(status(&first, token).await);
        }
        if seen[..10].iter().all(|s| s != "offered") && seen[10..].iter().filter(|s| *s == "offered").count() == 10 - won {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for (i, (seen, answer)) in seen[..5].iter().zip(&claimed).enumerate() {
        let want = if *answer == StatusCode::OK { "confirmed" } else { "cancelled" };
        assert_eq!(seen, want, "claimant {i}");
    }
    assert!(seen[5..10].iter().all(|s| s == "cancelled"), "lapsed: {seen:?}");
    let offered_to: Vec<usize> = (10..30).filter(|i| seen[*i] == "offered").collect();
    assert_eq!(offered_to, (10..20 - won).collect::<Vec<_>>(), "passed on in order: {seen:?}");
    assert_eq!(holding(&first, &organiser, &event).await, 10);
    // The counters agree on both servers: every place is held, so newcomers wait.
    for (i, app) in servers.iter().enumerate() {
        let newcomer = app.register(&event, person("New", &format!("new{i}@example.org"))).await;
        assert_eq!(newcomer.json["status"], "waitlisted", "{}", newcomer.text);
    }
}

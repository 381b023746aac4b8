//! Limits and truths a careful probe checks: parallel password guesses, body sizes and stalled
//! requests, public writes per address, names, time rules, erasure and retention, caching,
//! pages for browsers, and the small things a user notices.

use std::time::Duration;

use chrono::Duration as Days;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, id_of, manage_token, person};

#[tokio::test]
async fn forty_parallel_guesses_meet_the_lock_after_five() {
    let app = TestApp::spawn().await;
    let guesses =
        (0..40).map(|i| app.post("/api/v1/auth/login", None, json!({"email": ADMIN_EMAIL, "password": format!("guess-{i}-wrong")})));
    let answers = join_all(guesses).await;
    let checked = answers.iter().filter(|a| a.status == StatusCode::UNAUTHORIZED).count();
    let refused = answers.iter().filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, refused), (5, 35), "five guesses are checked, the rest meet the lock");
    assert!(answers.iter().filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS).all(|a| a.headers.contains_key("retry-after")));
    let right = app.post("/api/v1/auth/login", None, json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})).await;
    right.assert_problem(StatusCode::TOO_MANY_REQUESTS);

    // An email no account can have is answered without a check and without being recorded.
    let huge = format!("{}@example.org", "a".repeat(900 * 1024));
    for _ in 0..5 {
        app.post("/api/v1/auth/login", None, json!({"email": huge, "password": "whatever-it-is"}))
            .await
            .assert_problem(StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn a_form_body_over_the_limit_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (event, _) = app.published_fair(10).await;
    let path = format!("/events/{event}/register");
    let big = format!("csrf=x&name={}&email=a%40example.org", "a".repeat(200 * 1024));
    let answer = app.client.post(app.url(&path)).header("content-type", "application/x-www-form-urlencoded").body(big).send().await;
    assert_eq!(answer.map(|r| r.status()).ok(), Some(StatusCode::PAYLOAD_TOO_LARGE));
    // Without a length, streamed: read up to the limit, then refused.
    let chunks = futures::stream::iter((0..4096).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'a'; 16 * 1024]))));
    let answer = app
        .client
        .post(app.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await;
    assert!(answer.as_ref().map_or(true, |r| r.status() == StatusCode::PAYLOAD_TOO_LARGE), "{:?}", answer.map(|r| r.status()));
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registrations").await, 0);
    // JSON keeps its own limit.
    let json_body = json!({"name": "a".repeat(2 * 1024 * 1024), "email": "a@example.org", "consent_marketing": false});
    app.register(&event, json_body).await.assert_problem(StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_request_left_half_sent_is_dropped() {
    let app = TestApp::spawn_with(|s| s.server.read_timeout_secs = 1).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    for (what, start) in [
        ("headers", &b"POST /employers/signup HTTP/1.1\r\nHost: x\r\nContent-Le"[..]),
        ("a form", &b"POST /employers/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nname="[..]),
        ("JSON", &b"POST /api/v1/employers/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"name\""[..]),
    ] {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap_or_else(|e| panic!("{e}"));
        stream.write_all(start).await.unwrap_or_else(|e| panic!("{e}"));
        let mut answer = Vec::new();
        // The server answers (400 or 408: the body never came) and closes, or just closes, well
        // before this.
        let closed = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut answer)).await;
        assert!(closed.is_ok(), "half-sent {what} still held open after 15 s");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408") || answer.starts_with("HTTP/1.1 400"), "{what}: {answer}");
    }
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM employers").await, 0);
}

#[tokio::test]
async fn public_writes_are_limited_per_client_address() {
    let app = TestApp::spawn_with(|s| s.limits.public_writes_per_minute = 3).await;
    let (event, _) = app.published_fair(100).await;
    for i in 0..3 {
        app.register(&event, person("Ann Smith", &format!("ann{i}@example.org"))).await.assert_status(StatusCode::CREATED);
    }
    let fourth = app.register(&event, person("Ann Smith", "ann3@example.org")).await;
    fourth.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    assert!(
        fourth
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.parse::<u64>().is_ok_and(|s| (1..=60).contains(&s)))
    );
    // X-Forwarded-For from a peer that is not a trusted proxy is not believed.
    let spoofed = app
        .client
        .post(app.url(&format!("/api/v1/events/{event}/registrations")))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&person("Ann Smith", "ann4@example.org"))
        .send()
        .await
        .map(|r| r.status());
    assert_eq!(spoofed.ok(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registrations").await, 3);
    // A minute later the address may write again.
    app.clock.advance(Days::seconds(61));
    app.register(&event, person("Ann Smith", "ann5@example.org")).await.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let app = TestApp::spawn_with(|s| {
        s.limits.public_writes_per_minute = 2;
        s.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))];
    })
    .await;
    let (event, _) = app.published_fair(100).await;
    let from = |client: &'static str, n: usize| {
        let req = app
            .client
            .post(app.url(&format!("/api/v1/events/{event}/registrations")))
            // The proxy appends the address it saw; a client may have sent its own value first.
            .header("x-forwarded-for", format!("198.51.100.77, {client}"))
            .json(&person("Ann Smith", &format!("{client}-{n}@example.org")));
        async move { req.send().await.map(|r| r.status()).ok() }
    };
    assert_eq!(from("203.0.113.1", 0).await, Some(StatusCode::CREATED));
    assert_eq!(from("203.0.113.1", 1).await, Some(StatusCode::CREATED));
    assert_eq!(from("203.0.113.1", 2).await, Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(from("203.0.113.2", 0).await, Some(StatusCode::CREATED), "another client behind the proxy");
}

#[tokio::test]
async fn a_name_is_a_name() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(10).await;
    for name in ["Prize at https://evil.example", "see www.evil.example", "ann@example.org", &"a".repeat(101), "Ann\r\nBcc: x@y.z"] {
        app.register(&event, person(name, "ann@example.org")).await.assert_invalid(&["name"]);
    }
    app.register(&event, person("Siobhán Ní Bhriain", "sio@example.org")).await.assert_status(StatusCode::CREATED);
    let invite = json!({"recipients": [{"name": "Go to evil.com now", "email": "x@example.org"}]});
    app.post(&format!("/api/v1/events/{event}/invitations"), Some(&organiser), invite).await.assert_invalid(&["recipients[0].name"]);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registrations").await, 1);
}

#[tokio::test]
async fn time_rules_hold() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let past = app.create_event(&organiser, json!({"starts_at": "2026-12-01T10:00:00Z", "ends_at": "2026-12-01T12:00:00Z"})).await;
    let refused = app.post(&format!("/api/v1/events/{}/publish", id_of(&past)), Some(&organiser), json!({})).await;
    refused.assert_problem(StatusCode::CONFLICT);
    assert_eq!(app.get(&format!("/api/v1/events/{}", id_of(&past)), Some(&organiser)).await.json["status"], "draft");
    for (starts, ends, field) in [
        ("+10000-01-01T10:00:00Z", "+10000-01-01T12:00:00Z", "starts_at"),
        ("1999-12-31T10:00:00Z", "1999-12-31T12:00:00Z", "starts_at"),
        ("2100-12-31T22:00:00Z", "2101-01-01T01:00:00Z", "ends_at"),
    ] {
        let answer = app
            .post(
                "/api/v1/events",
                Some(&organiser),
                crate::helpers::merge(crate::helpers::fair_body(), json!({"starts_at": starts, "ends_at": ends})),
            )
            .await;
        if answer.status == StatusCode::BAD_REQUEST {
            continue; // a year the date parser itself refuses
        }
        answer.assert_invalid(&[field]);
    }
    app.get("/api/v1/events?from=2150-01-01T00:00:00Z", None).await.assert_invalid(&["from"]);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM events").await, 1, "only the draft");
    let campaign = json!({"slug": "far", "name": "Far", "starts_on": "2027-01-01", "ends_on": "2999-01-01", "objectives": []});
    app.post("/api/v1/campaigns", Some(&organiser), campaign).await.assert_invalid(&["ends_on"]);
}

#[tokio::test]
async fn erasure_leaves_no_replayable_answer_and_old_mail_loses_its_links() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(10).await;
    let path = format!("/api/v1/events/{event}/registrations");
    let body = person("Ann Smith", "ann@example.org");
    let first = app.client.post(app.url(&path)).header("Idempotency-Key", "k-1").json(&body).send().await;
    let first: serde_json::Value = first.unwrap_or_else(|e| panic!("{e}")).json().await.unwrap_or_default();
    let manage = manage_token(&first);
    let candidate = app.get(&format!("{path}?limit=1"), Some(&organiser)).await.json["items"][0]["candidate_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM idempotency_keys").await, 1);
    app.delete(&format!("/api/v1/candidates/{candidate}"), Some(&organiser)).await.assert_status(StatusCode::NO_CONTENT);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM idempotency_keys").await, 0);
    let replay = app.client.post(app.url(&path)).header("Idempotency-Key", "k-1").json(&body).send().await;
    let replay: serde_json::Value = replay.unwrap_or_else(|e| panic!("{e}")).json().await.unwrap_or_default();
    assert!(!replay.to_string().contains(&manage), "the erased person's answer was replayed: {replay}");

    // Sent mail keeps its links for mail.retention_days (30), then only its record.
    let bob = app.register(&event, person("Bob Jones", "bob@example.org")).await;
    let bob_token = manage_token(&bob.json);
    let sent_with = |token: String| format!("SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent' AND payload LIKE '%{token}%'");
    for _ in 0..100 {
        if app.count_rows(&sent_with(bob_token.clone())).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.count_rows(&sent_with(bob_token.clone())).await, 1, "Bob's confirmation was sent");
    assert!(app.count_rows("SELECT COUNT(*) AS n FROM auth_tokens").await > 0);
    app.clock.advance(Days::days(31));
    let mut cleared = 0;
    for _ in 0..50 {
        cleared = app.count_rows(&sent_with(bob_token.clone())).await;
        if cleared == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cleared, 0, "the payload of month-old sent mail still holds the manage link");
    assert!(app.count_rows("SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent'").await >= 1, "the record stays");
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM auth_tokens").await, 0, "expired login tokens are purged");
}

#[tokio::test]
async fn private_answers_are_not_cached() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(10).await;
    let token = manage_token(&app.register(&event, person("Ann Smith", "ann@example.org")).await.json);
    for (path, bearer) in [
        (format!("/api/v1/registrations/{token}"), None),
        (format!("/r/{token}"), None),
        (format!("/calendar/registrations/{token}.ics"), None),
        ("/api/v1/me".to_owned(), Some(organiser.as_str())),
        (format!("/api/v1/events/{event}/registrations"), Some(organiser.as_str())),
        (format!("/api/v1/events/{event}/registrations.csv"), Some(organiser.as_str())),
    ] {
        let answer = app.get(&path, bearer).await;
        answer.assert_status(StatusCode::OK);
        let cache = answer.headers.get("cache-control").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(cache.contains("no-store"), "{path}: Cache-Control {cache:?}");
    }
    let http = app.get("/", None).await;
    assert!(http.headers.get("strict-transport-security").is_none(), "no HSTS over plain http");
}

#[tokio::test]
async fn a_browser_asking_for_a_missing_page_gets_a_page() {
    let app = TestApp::spawn().await;
    let page = app.client.get(app.url("/nothing-here")).header("accept", "text/html,application/xhtml+xml").send().await;
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html")));
    assert!(page.text().await.unwrap_or_default().contains("Page not found"));
    let api = app.client.get(app.url("/api/v1/nothing-here")).header("accept", "text/html").send().await;
    let api = api.unwrap_or_else(|e| panic!("{e}"));
    assert!(api.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/problem+json")));
    app.get("/nothing-here", None).await.assert_problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_are_only_for_the_configured_token() {
    let app = TestApp::spawn().await;
    app.get("/metrics", None).await.assert_status(StatusCode::NOT_FOUND);
    app.get("/metrics", Some("not-the-token")).await.assert_status(StatusCode::NOT_FOUND);
    app.get("/metrics", Some(crate::helpers::METRICS_TOKEN)).await.assert_status(StatusCode::OK);
    let unset = TestApp::spawn_with(|s| s.server.metrics_token = None).await;
    unset.get("/metrics", Some(crate::helpers::METRICS_TOKEN)).await.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn under_https_pages_say_so_and_forms_refuse_other_origins() {
    let app = TestApp::spawn_with(|s| s.server.public_url = "https://events.example.org".into()).await;
    let (event, _) = app.published_fair(10).await;
    let page = app.client.get(app.url(&format!("/events/{event}"))).send().await.unwrap_or_else(|e| panic!("{e}"));
    let headers = page.headers().clone();
    let html = page.text().await.unwrap_or_default();
    assert!(headers.get("strict-transport-security").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("max-age=")));
    let cookie = headers.get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(cookie.starts_with("__Host-carefair_csrf=") && cookie.contains("; Secure") && cookie.contains("Path=/"), "{cookie}");
    let pair = cookie.split(';').next().unwrap_or_default().to_owned();
    let csrf = html.split(r#"name="csrf" value=""#).nth(1).and_then(|s| s.split('"').next()).unwrap_or_default().to_owned();
    let form = [("csrf", csrf.as_str()), ("name", "Ann Smith"), ("email", "ann@example.org")];
    let post = |origin: &'static str| {
        let req =
            app.client.post(app.url(&format!("/events/{event}/register"))).header("cookie", &pair).header("origin", origin).form(&form);
        async move { req.send().await.map(|r| r.status()).ok() }
    };
    assert_eq!(post("https://evil.example").await, Some(StatusCode::FORBIDDEN));
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registrations").await, 0);
    assert_eq!(post("https://events.example.org").await, Some(StatusCode::CREATED));
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registrations").await, 1);
}

#[tokio::test]
async fn users_belong_to_organisations_that_exist() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for (role, key) in [("employer", "employer_id"), ("school", "school_id")] {
        let body = json!({"email": format!("{role}@example.org"), "name": "Pat", "role": role, "password": "a-long-password", key: uuid::Uuid::now_v7()});
        app.post("/api/v1/users", Some(&admin), body).await.assert_invalid(&[key]);
    }
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM users").await, 1, "only the admin");
}

#[tokio::test]
async fn small_truths() {
    let app = TestApp::spawn().await;
    let (fair, organiser) = app.published_fair(2).await;

    // Stands in floor-plan order.
    for (i, label) in ["A10", "A2", "A1"].iter().enumerate() {
        let employer = id_of(&app.create_employer(&organiser, &format!("Care {i}"), (51.7, 0.4)).await);
        let stand = app
            .post(&format!("/api/v1/events/{fair}/exhibitors"), Some(&organiser), json!({"employer_id": employer, "staff_count": 1}))
            .await;
        app.post(
            &format!("/api/v1/events/{fair}/exhibitors/{}/confirm", id_of(&stand.json)),
            Some(&organiser),
            json!({"stand_label": label}),
        )
        .await
        .assert_status(StatusCode::OK);
    }
    let stands = app.get(&format!("/api/v1/events/{fair}/exhibitors"), None).await;
    let labels: Vec<&str> = stands.json.as_array().into_iter().flatten().filter_map(|x| x["stand_label"].as_str()).collect();
    assert_eq!(labels, ["A1", "A2", "A10"]);

    // The cancel page promises the place to the waiting list only when someone waits.
    let ann = manage_token(&app.register(&fair, person("Ann Smith", "ann@example.org")).await.json);
    let asks = app.get(&format!("/r/{ann}/cancel"), None).await;
    assert!(asks.text.contains("Cancel your place?") && !asks.text.contains("waiting list"), "{}", asks.text);
    app.register(&fair, person("Ben Jones", "ben@example.org")).await.assert_status(StatusCode::CREATED);
    app.register(&fair, person("Cy Patel", "cy@example.org")).await.assert_status(StatusCode::CREATED);
    let asks = app.get(&format!("/r/{ann}/cancel"), None).await;
    assert!(asks.text.contains("next person on the waiting list"), "{}", asks.text);

    // ?q= searches names and emails.
    let found = app.get(&format!("/api/v1/events/{fair}/registrations?q=PATEL"), Some(&organiser)).await;
    assert_eq!((found.json["total"].as_u64(), found.json["items"][0]["name"].as_str()), (Some(1), Some("Cy Patel")));
    let by_email = app.get(&format!("/api/v1/events/{fair}/registrations?q=ben%40"), Some(&organiser)).await;
    assert_eq!(by_email.json["total"], 1);
    assert_eq!(app.get(&format!("/api/v1/events/{fair}/registrations?q=nobody"), Some(&organiser)).await.json["total"], 0);

    // A cancelled event offers no places and no calendar entry.
    let live = app.get(&format!("/events/{fair}"), None).await;
    assert!(live.text.contains("Add to calendar"), "{}", live.text);
    app.post(&format!("/api/v1/events/{fair}/cancel"), Some(&organiser), json!({"reason": "Storm"})).await.assert_status(StatusCode::OK);
    let cancelled = app.get(&format!("/events/{fair}"), None).await;
    assert!(cancelled.text.contains("This event is cancelled"), "{}", cancelled.text);
    assert!(
        !cancelled.text.contains("Add to calendar") && !cancelled.text.contains(" left<") && !cancelled.text.contains("Full:"),
        "{}",
        cancelled.text
    );

    // And a past one says it has taken place.
    let held = app
        .create_past_event(
            &organiser,
            json!({"title": "Last month", "starts_at": "2026-12-01T10:00:00Z", "ends_at": "2026-12-01T12:00:00Z"}),
        )
        .await;
    let past = app.get(&format!("/events/{}", id_of(&held)), None).await;
    assert!(
        past.text.contains("This event has taken place") && !past.text.contains("Add to calendar") && !past.text.contains(" left<"),
        "{}",
        past.text
    );
}

#[tokio::test]
async fn accepting_an_invitation_with_a_place_already_held_says_so() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(10).await;
    app.register(&event, person("Ann Smith", "ann@example.org")).await.assert_status(StatusCode::CREATED);
    let invite = json!({"recipients": [{"name": "Ann Smith", "email": "ann@example.org"}]});
    app.post(&format!("/api/v1/events/{event}/invitations"), Some(&organiser), invite).await.assert_status(StatusCode::ACCEPTED);
    let mail = app.wait_for_mail("/rsvp/").await;
    let token = mail.split("/rsvp/").nth(1).and_then(|rest| rest.split('?').next()).unwrap_or_default().to_owned();
    let api = app.post(&format!("/api/v1/rsvp/{token}"), None, json!({"answer": "accept"})).await;
    api.assert_problem(StatusCode::CONFLICT);
    assert!(api.json["detail"].as_str().is_some_and(|d| d.contains("already registered")), "{}", api.text);

    let page = app.client.get(app.url(&format!("/rsvp/{token}"))).send().await.unwrap_or_else(|e| panic!("{e}"));
    let cookie =
        page.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().split(';').next().unwrap_or_default().to_owned();
    let html = page.text().await.unwrap_or_default();
    let csrf = html.split(r#"name="csrf" value=""#).nth(1).and_then(|s| s.split('"').next()).unwrap_or_default().to_owned();
    let answer = app
        .client
        .post(app.url(&format!("/rsvp/{token}")))
        .header("cookie", cookie)
        .form(&[("csrf", csrf.as_str()), ("answer", "accept")])
        .send()
        .await;
    let answer = answer.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.status(), StatusCode::CONFLICT);
    assert!(answer.text().await.unwrap_or_default().contains("already has a place"));
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registrations").await, 1);
}

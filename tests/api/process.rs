//! The real binary under the conditions a deployment meets: what its log holds after every
//! token-bearing address has been used, and a mail worker killed in the middle of a batch.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{carefair, listening_address, listening_address_logged, terminate};
use crate::helpers::{database_url, fair_body, mail_texts_in, person};
use crate::smtp::TestSmtp;

const ADMIN: (&str, &str) = ("admin@essex.test", "a-long-password");

/// Calls the server at `base` (`http://host:port`) and reads the answer as JSON.
async fn call(client: &reqwest::Client, method: Method, url: String, token: Option<&str>, body: Option<Value>) -> (u16, Value, String) {
    let mut req = client.request(method, url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

fn with_admin(cmd: &mut Command) -> &mut Command {
    cmd.env("CAREFAIR__AUTH__BOOTSTRAP_ADMIN_EMAIL", ADMIN.0).env("CAREFAIR__AUTH__BOOTSTRAP_ADMIN_PASSWORD", ADMIN.1)
}

/// The token at the end of a link such as `…/r/TOKEN`.
fn token_of(url: &str, marker: &str) -> String {
    url.split_once(marker).map(|(_, rest)| rest.split(['?', '.', '"', '<', ' ']).next().unwrap_or_default().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn no_token_or_password_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (db, _guard) = database_url(dir.path()).await;
    let mail_dir = dir.path().join("mail");
    let metrics_token = "metrics-secret-0f3a9c";
    let mut cmd = carefair(&db);
    with_admin(&mut cmd)
        .env("CAREFAIR__MAIL__FILE_DIR", &mail_dir)
        .env("CAREFAIR__SERVER__METRICS_TOKEN", metrics_token)
        .env("RUST_LOG", "debug,sea_orm_migration=warn,hyper=info,h2=info,rustls=info")
        .stderr(Stdio::piped());
    let mut server = cmd.spawn().unwrap_or_else(|e| panic!("{e}"));
    let log = Arc::new(Mutex::new(String::new()));
    let base = format!("http://{}", listening_address_logged(&mut server, Some(log.clone())));
    let api = format!("{base}/api/v1");
    let client = reqwest::Client::new();

    let wrong_password = "wrong-password-7d1e";
    assert_eq!(
        call(&client, Method::POST, format!("{api}/auth/login"), None, Some(json!({"email": ADMIN.0, "password": wrong_password}))).await.0,
        401
    );
    let (_, login, _) =
        call(&client, Method::POST, format!("{api}/auth/login"), None, Some(json!({"email": ADMIN.0, "password": ADMIN.1}))).await;
    let bearer = login["token"].as_str().unwrap_or_default().to_owned();
    let auth = Some(bearer.as_str());
    let (_, event, _) = call(&client, Method::POST, format!("{api}/events"), auth, Some(fair_body())).await;
    let event = event["id"].as_str().unwrap_or_default().to_owned();
    call(&client, Method::POST, format!("{api}/events/{event}/publish"), auth, Some(json!({}))).await;
    let (_, registered, _) =
        call(&client, Method::POST, format!("{api}/events/{event}/registrations"), None, Some(person("Ann", "ann@essex.test"))).await;
    let manage = token_of(registered["manage_url"].as_str().unwrap_or_default(), "/r/");
    assert_eq!(manage.len(), 64, "{registered}");
    for path in [
        format!("/r/{manage}"),
        format!("/r/{manage}/cancel"),
        format!("/api/v1/registrations/{manage}"),
        format!("/calendar/registrations/{manage}.ics"),
    ] {
        assert_eq!(call(&client, Method::GET, format!("{base}{path}"), None, None).await.0, 200, "{path}");
    }

    call(
        &client,
        Method::POST,
        format!("{api}/events/{event}/invitations"),
        auth,
        Some(json!({"recipients": [{"name": "Bo", "email": "bo@essex.test"}]})),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let rsvp = loop {
        if let Some(text) = mail_texts_in(&mail_dir).iter().find(|t| t.contains("/rsvp/")) {
            break token_of(text, "/rsvp/");
        }
        assert!(Instant::now() < deadline, "no invitation written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(call(&client, Method::GET, format!("{base}/rsvp/{rsvp}?answer=accept"), None, None).await.0, 200);
    assert_eq!(call(&client, Method::POST, format!("{api}/rsvp/{rsvp}"), None, Some(json!({"answer": "decline"}))).await.0, 200);

    let employer = json!({
        "name": "Alder Care", "provider_type": "residential", "address": "1 High Street, Chelmsford", "postcode": "CM1 1AA",
        "contact_name": "Pat Jones", "contact_email": "pat@alder.test"
    });
    let (_, employer, _) = call(&client, Method::POST, format!("{api}/employers"), auth, Some(employer)).await;
    let (_, feed, _) =
        call(&client, Method::POST, format!("{api}/employers/{}/feed", employer["id"].as_str().unwrap_or_default()), auth, Some(json!({})))
            .await;
    let feed_token = token_of(feed["feed_url"].as_str().unwrap_or_default(), "/employers/");
    assert_eq!(call(&client, Method::GET, format!("{base}/calendar/employers/{feed_token}.ics"), None, None).await.0, 200);
    assert_eq!(call(&client, Method::GET, format!("{base}/metrics"), Some(metrics_token), None).await.0, 200);
    call(&client, Method::POST, format!("{api}/auth/logout"), auth, Some(json!({}))).await;

    let status = terminate(&mut server);
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let log = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(log.contains("route=/r/{token}") && log.contains("route=/calendar/employers/{token}.ics"), "the requests were logged:\n{log}");
    for (what, secret) in [
        ("manage", &manage),
        ("RSVP", &rsvp),
        ("feed", &feed_token),
        ("bearer", &bearer),
        ("metrics", &metrics_token.to_owned()),
        ("password", &ADMIN.1.to_owned()),
        ("wrong password", &wrong_password.to_owned()),
    ] {
        assert!(!secret.is_empty(), "{what}");
        assert!(!log.contains(secret.as_str()), "the {what} token is in the log");
    }
}

#[tokio::test]
async fn a_worker_killed_mid_batch_leaves_no_mail_waiting_long() {
    let smtp = TestSmtp::start();
    smtp.set_delay(Duration::from_millis(100));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (db, _guard) = database_url(dir.path()).await;
    let postgres = db.starts_with("postgres");
    let mailing = |cmd: &mut Command| {
        with_admin(cmd)
            .env("CAREFAIR__MAIL__TRANSPORT", "smtp")
            .env("CAREFAIR__MAIL__SMTP__HOST", "127.0.0.1")
            .env("CAREFAIR__MAIL__SMTP__PORT", smtp.port.to_string())
            .env("CAREFAIR__MAIL__POLL_INTERVAL_MS", "100");
    };
    let mut cmd = carefair(&db);
    mailing(&mut cmd);
    let mut first = cmd.stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("{e}"));
    let api = format!("http://{}/api/v1", listening_address(&mut first));
    // On PostgreSQL a second worker shares the database from the start, as another process
    // would; on SQLite (one process per database) the binary is started again after the kill.
    let start_worker = || {
        let mut cmd = carefair(&db);
        mailing(&mut cmd);
        cmd.arg("worker").stderr(Stdio::null()).spawn().unwrap_or_else(|e| panic!("{e}"))
    };
    let mut second = postgres.then(start_worker);

    let client = reqwest::Client::new();
    let (_, login, _) =
        call(&client, Method::POST, format!("{api}/auth/login"), None, Some(json!({"email": ADMIN.0, "password": ADMIN.1}))).await;
    let token = login["token"].as_str().map(str::to_owned);
    let (_, event, _) = call(&client, Method::POST, format!("{api}/events"), token.as_deref(), Some(fair_body())).await;
    let event = event["id"].as_str().unwrap_or_default().to_owned();
    call(&client, Method::POST, format!("{api}/events/{event}/publish"), token.as_deref(), Some(json!({}))).await;
    let recipients: Vec<Value> = (0..300).map(|i| json!({"name": format!("Person {i}"), "email": format!("p{i}@essex.test")})).collect();
    let (status, _, text) =
        call(&client, Method::POST, format!("{api}/events/{event}/invitations"), token.as_deref(), Some(json!({"recipients": recipients})))
            .await;
    assert_eq!(status, 202, "{text}");

    let deadline = Instant::now() + Duration::from_secs(30);
    while smtp.received().len() < 10 {
        assert!(Instant::now() < deadline, "nothing was sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL mid-batch: its claimed messages are left `sending`.
    let _ = first.kill();
    let _ = first.wait();
    let killed = Instant::now();
    let sent_before = smtp.received().len();
    assert!(sent_before < 300, "the kill came too late to test anything: {sent_before} sent");
    smtp.set_delay(Duration::ZERO);
    if second.is_none() {
        second = Some(start_worker());
    }

    // Every invitation arrives within a minute of the kill (at least once, with one Message-ID).
    let mut ids: HashMap<String, Vec<String>> = HashMap::new();
    while Instant::now() < killed + Duration::from_secs(60) {
        ids.clear();
        for m in smtp.received() {
            ids.entry(m.to.first().cloned().unwrap_or_default().to_lowercase()).or_default().push(m.message_id());
        }
        if ids.len() == 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let waited = killed.elapsed();
    if let Some(mut worker) = second {
        terminate(&mut worker);
    }
    assert_eq!(ids.len(), 300, "{} of 300 recipients reached within 60 s of the kill ({sent_before} before it)", ids.len());
    for (to, copies) in &ids {
        assert!(copies.iter().all(|id| id == &copies[0] && !id.is_empty()), "{to} got different Message-IDs: {copies:?}");
    }
    eprintln!("all 300 delivered {:.1} s after the kill; {sent_before} before it", waited.as_secs_f64());
}

//! The `carefair` binary itself: settings errors, migrations, user creation, serving and a clean
//! stop on SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{count_in_file_alone, database_url, sqlite_file};

pub fn carefair(db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_carefair"));
    cmd.arg("--config-dir")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("config"))
        .env("CAREFAIR__DATABASE__URL", db_url)
        .env("CAREFAIR__SERVER__BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info,sea_orm_migration=warn")
        .env_remove("CAREFAIR_ENV");
    cmd
}

#[tokio::test]
async fn invalid_settings_stop_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
    for (key, value, named) in [
        ("CAREFAIR__SERVER__BIND", "nonsense", "server.bind"),
        ("CAREFAIR__MAIL__SMTP__PORT", "abc", "mail.smtp.port"),
        ("CAREFAIR__MAIL__TRANSPORT", "pigeon", "mail.transport"),
        ("CAREFAIR__AUTH__TOKEN_TTL_HOURS", "0", "auth.token_ttl_hours"),
        ("CAREFAIR__DATABASE__URL", "mysql://somewhere", "database.url"),
    ] {
        let out = carefair(&db).env(key, value).arg("serve").output().unwrap_or_else(|e| panic!("{e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key}={value} started");
        assert!(stderr.contains(named), "{key}={value}: {stderr}");
    }
}

#[tokio::test]
async fn migrations_go_up_down_and_report_their_status() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (db, _guard) = database_url(dir.path()).await;
    let status = || {
        let out = carefair(&db).args(["migrate", "status"]).output().unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(|l| l.split_whitespace().next().unwrap_or("").to_owned()).collect::<Vec<_>>()
    };
    let fresh = status();
    assert!(fresh.len() >= 2 && fresh.iter().all(|s| s == "pending"), "{fresh:?}");
    assert!(carefair(&db).args(["migrate", "up"]).status().is_ok_and(|s| s.success()));
    let up = status();
    assert!(up.iter().all(|s| s == "applied") && up.len() == fresh.len(), "{up:?}");
    assert!(carefair(&db).args(["migrate", "down"]).status().is_ok_and(|s| s.success()));
    let down = status();
    assert_eq!(down.last().map(String::as_str), Some("pending"), "the latest migration was rolled back");
    assert_eq!(down.iter().filter(|s| *s == "applied").count(), fresh.len() - 1);
}

#[tokio::test]
async fn user_add_reads_the_password_from_standard_input() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (db, _guard) = database_url(dir.path()).await;
    let mut child = carefair(&db)
        .args(["user", "add", "--email", "Olu@Essex.test", "--role", "organiser"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"a-long-password\n");
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("created olu@essex.test (organiser)"));

    let short = carefair(&db).args(["user", "add", "--email", "x@essex.test", "--role", "admin"]).stdin(Stdio::piped()).output();
    let short = short.unwrap_or_else(|e| panic!("{e}"));
    assert!(!short.status.success(), "an empty password is refused");
    assert!(String::from_utf8_lossy(&short.stderr).contains("password"));

    // The new user can sign in to a server on the same database.
    let mut server = carefair(&db).arg("serve").stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("{e}"));
    let address = listening_address(&mut server);
    let client = reqwest::Client::new();
    let login = client
        .post(format!("http://{address}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "olu@essex.test", "password": "a-long-password"}))
        .send()
        .await
        .map(|r| r.status());
    let _ = server.kill();
    assert_eq!(login.ok(), Some(reqwest::StatusCode::OK));
}

#[tokio::test]
async fn serve_logs_its_address_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (db, _guard) = database_url(dir.path()).await;
    let mut server = carefair(&db).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("{e}"));
    let address = listening_address(&mut server);
    let health = reqwest::get(format!("http://{address}/healthz")).await.map(|r| r.status());
    assert_eq!(health.ok(), Some(reqwest::StatusCode::OK));

    let status = terminate(&mut server);
    assert!(status.is_some_and(|s| s.success()), "exit status {status:?}");
}

#[tokio::test]
async fn the_worker_alone_sends_what_a_server_without_one_queued_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (db, _guard) = database_url(dir.path()).await;
    let mail_dir = dir.path().join("mail");
    let with_mail = |cmd: &mut Command| {
        cmd.env("CAREFAIR__MAIL__FILE_DIR", &mail_dir)
            .env("CAREFAIR__AUTH__BOOTSTRAP_ADMIN_EMAIL", "admin@essex.test")
            .env("CAREFAIR__AUTH__BOOTSTRAP_ADMIN_PASSWORD", "a-long-password");
    };
    let mut cmd = carefair(&db);
    with_mail(&mut cmd);
    let mut server = cmd.env("CAREFAIR__MAIL__RUN_WORKER", "false").stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("{e}"));
    let base = format!("http://{}/api/v1", listening_address(&mut server));
    let client = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut req = client.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        async move { req.send().await.unwrap_or_else(|e| panic!("{e}")).json::<serde_json::Value>().await.unwrap_or_default() }
    };
    let login = post("/auth/login", None, serde_json::json!({"email": "admin@essex.test", "password": "a-long-password"})).await;
    let token = login["token"].as_str().unwrap_or_default().to_owned();
    let event = post("/events", Some(&token), crate::helpers::fair_body()).await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    post(&format!("/events/{id}/publish"), Some(&token), serde_json::json!({})).await;
    let registered = post(&format!("/events/{id}/registrations"), None, crate::helpers::person("Ann", "ann@essex.test")).await;
    assert_eq!(registered["status"], serde_json::json!("confirmed"), "{registered}");
    let _ = server.kill();
    let _ = server.wait();
    assert!(std::fs::read_dir(&mail_dir).map(|d| d.count()).unwrap_or(0) == 0, "the server sent nothing itself");

    let mut cmd = carefair(&db);
    with_mail(&mut cmd);
    let mut worker = cmd.arg("worker").stderr(Stdio::null()).spawn().unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_dir(&mail_dir).map(|d| d.count()).unwrap_or(0) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let files: Vec<_> = std::fs::read_dir(&mail_dir).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
    assert_eq!(files.len(), 1, "the worker wrote the confirmation");
    assert!(std::fs::read_to_string(&files[0]).unwrap_or_default().contains("To: Ann <ann@essex.test>"));
    // On SQLite the worker also copies the log back into the database file while it runs (the
    // write connection never does): the file alone shows the message sent.
    let sent_in_file = match sqlite_file(&db) {
        Some(file) => Some(count_in_file_alone(&file, "SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent'", 1).await),
        None => None,
    };

    let status = terminate(&mut worker);
    assert!(status.is_some_and(|s| s.success()), "exit status {status:?}");
    assert!(sent_in_file.is_none_or(|n| n == 1), "the database file itself records the message as sent: {sent_in_file:?}");
}

/// Sends SIGTERM and waits (up to 20 s) for the process to end; `None` if it did not.
pub fn terminate(child: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().is_ok_and(|s| s.success()));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads the server's log until it says where it listens.
pub fn listening_address(server: &mut std::process::Child) -> String {
    listening_address_logged(server, None)
}

/// As [`listening_address`], keeping every line of the log in `log` when given.
pub fn listening_address_logged(server: &mut std::process::Child, log: Option<std::sync::Arc<std::sync::Mutex<String>>>) -> String {
    let Some(stderr) = server.stderr.take() else { panic!("stderr not piped") };
    let mut lines = BufReader::new(stderr).lines();
    let address = loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = server.kill();
            panic!("the server stopped before it listened");
        };
        if let Some(log) = &log {
            log.lock().unwrap_or_else(|e| e.into_inner()).push_str(&(line.clone() + "\n"));
        }
        if let Some((_, addr)) = line.split_once("listening on ") {
            break addr.trim().to_owned();
        }
    };
    // Keep draining the log so the server never blocks writing to a full pipe.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Some(log) = &log {
                log.lock().unwrap_or_else(|e| e.into_inner()).push_str(&(line + "\n"));
            }
        }
    });
    address
}

#[tokio::test]
async fn demo_loads_a_believable_set_once() {
    let app = crate::helpers::TestApp::spawn().await;
    let out = carefair(&app.database_url).arg("demo").output().unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("4 fairs, 12 schools, 72 employers, 12 school links"), "{stdout}");
    let (email, password) = stdout
        .split_once("sign in as ")
        .and_then(|(_, rest)| rest.trim().split_once(" with password "))
        .unwrap_or_else(|| panic!("no sign-in in {stdout}"));
    let organiser = app.login(email, password).await;

    let campaign = app.get("/api/v1/campaigns", None).await;
    assert_eq!(campaign.json["items"][0]["slug"], "gift-of-care");
    let fairs = app.get("/api/v1/events?kind=recruitment_fair", None).await;
    assert_eq!(fairs.json["total"], 4);
    let first = fairs.json["items"][0]["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(app.get(&format!("/api/v1/events/{first}/exhibitors"), None).await.json.as_array().map(Vec::len), Some(10));
    let employers = app.get("/api/v1/employers?provider_type=home_care", Some(&organiser)).await;
    assert_eq!(employers.json["total"], 12);
    let someone = employers.json["items"][0]["id"].as_str().unwrap_or_default().to_owned();
    let suggested = app.get(&format!("/api/v1/employers/{someone}/school-suggestions?limit=3"), Some(&organiser)).await;
    assert_eq!(suggested.json.as_array().map(Vec::len), Some(3), "{}", suggested.text);
    let links = app.get("/api/v1/school-links?status=active", Some(&organiser)).await;
    assert_eq!(links.json["total"], 12);
    let report = app
        .get(&format!("/api/v1/reports/campaigns/{}", campaign.json["items"][0]["id"].as_str().unwrap_or_default()), Some(&organiser))
        .await;
    assert_eq!(report.json["registrations"]["confirmed"], 40);

    let again = carefair(&app.database_url).arg("demo").output().unwrap_or_else(|e| panic!("{e}"));
    assert!(String::from_utf8_lossy(&again.stdout).contains("already loaded"));
    assert_eq!(app.get("/api/v1/events?kind=recruitment_fair", None).await.json["total"], 4);
}

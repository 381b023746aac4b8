use std::path::Path;
use std::sync::Arc;

use carefair::clock::ManualClock;
use carefair::config::Settings;
use carefair::startup::Application;
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "admin@carefair.test";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "a-long-password";
/// `server.metrics_token` in every test server.
pub const METRICS_TOKEN: &str = "metrics-token-for-tests";

/// The instant every test starts at: a Monday morning in January 2027.
pub fn start_of_tests() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-01-04T09:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

/// A running server with its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub database_url: String,
    /// The server's use cases, for the few tests that call one directly (start-up's, say).
    pub services: carefair::service::Services,
    _dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

/// A PostgreSQL database made for one test and dropped after it.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with its own
        // runtime can.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(conn) = connect(&admin_url).await {
                    let _ = conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}

/// A database for one test: a SQLite file in `dir`, or a fresh PostgreSQL database when
/// DATABASE_URL is set (dropped with the returned guard).
pub async fn database_url(dir: &Path) -> (String, Option<PgDatabase>) {
    match std::env::var("DATABASE_URL") {
        Ok(admin_url) if admin_url.starts_with("postgres") => {
            let name = format!("carefair_test_{}", uuid::Uuid::now_v7().simple());
            let conn = connect(&admin_url).await.unwrap_or_else(|e| panic!("connecting to DATABASE_URL: {e}"));
            conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap_or_else(|e| panic!("creating {name}: {e}"));
            let _ = conn.close().await;
            let base = admin_url.split('?').next().unwrap_or(&admin_url);
            let (server, _) = base.rsplit_once('/').unwrap_or((base, ""));
            (format!("{server}/{name}"), Some(PgDatabase { admin_url, name }))
        }
        _ => (format!("sqlite://{}?mode=rwc", dir.join("carefair.db").display()), None),
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A second server on the same database as `self`, as a second carefair process would be.
    pub async fn spawn_sharing(&self) -> Self {
        self.spawn_sharing_with(|_| {}).await
    }

    /// A second server on the same database and clock, after `adjust` has changed its settings.
    pub async fn spawn_sharing_with(&self, adjust: impl FnOnce(&mut Settings)) -> Self {
        let url = self.database_url.clone();
        Self::start(
            move |s| {
                s.database.url = url;
                adjust(s);
            },
            self.clock.clone(),
        )
        .await
    }

    /// Starts a server after `adjust` has changed the test settings.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::start(adjust, ManualClock::new(start_of_tests())).await
    }

    async fn start(adjust: impl FnOnce(&mut Settings), clock: ManualClock) -> Self {
        if std::env::var("TEST_LOG").is_ok() {
            carefair::telemetry::init();
        }
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut settings = Settings::load_with(&config_dir, Some("test"), false).unwrap_or_else(|e| panic!("{e}"));
        let (url, pg) = database_url(dir.path()).await;
        settings.database.url = url.clone();
        let mut pg = pg;
        settings.database.max_connections = 4;
        settings.server.bind = "127.0.0.1:0".into();
        settings.mail.file_dir = dir.path().join("mail").display().to_string();
        settings.auth.bootstrap_admin_email = Some(ADMIN_EMAIL.into());
        settings.auth.bootstrap_admin_password = Some(ADMIN_PASSWORD.to_owned().into());
        settings.server.metrics_token = Some(METRICS_TOKEN.to_owned().into());
        adjust(&mut settings);
        if settings.database.url != url {
            // Sharing another app's database: that app owns (and drops) it.
            pg = None;
        }
        let database_url = settings.database.url.clone();

        let app = Application::build(settings, Arc::new(clock.clone())).await.unwrap_or_else(|e| panic!("building the app: {e:#}"));
        let address = format!("http://{}", app.address());
        let services = app.services().clone();
        tokio::spawn(app.run_until(std::future::pending()));
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap_or_else(|e| panic!("{e}"));
        Self { address, client, clock, database_url, services, _dir: dir, _pg: pg }
    }

    /// The text parts of the messages the file transport has written so far (test servers
    /// write mail under their own directory unless sent through SMTP).
    pub fn mail_texts(&self) -> Vec<String> {
        mail_texts_in(&self._dir.path().join("mail"))
    }

    /// The messages the file transport has written so far, as raw MIME.
    pub fn mail_raw(&self) -> Vec<Vec<u8>> {
        std::fs::read_dir(self._dir.path().join("mail"))
            .map(|d| d.filter_map(Result::ok).filter_map(|e| std::fs::read(e.path()).ok()).collect())
            .unwrap_or_default()
    }

    /// Waits (up to 20 s) for a written message whose text holds `needle`, and returns its text.
    pub async fn wait_for_mail(&self, needle: &str) -> String {
        for _ in 0..200 {
            if let Some(text) = self.mail_texts().into_iter().find(|t| t.contains(needle)) {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no message with {needle:?} was written");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends a request with an optional bearer token and JSON body, and reads the answer.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        Answer::read(req.send().await.unwrap_or_else(|e| panic!("sending to {path}: {e}"))).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::DELETE, path, token, None).await
    }

    /// Sends a raw body with a content type, for malformed-input tests.
    pub async fn post_raw(&self, path: &str, token: Option<&str>, content_type: &str, body: &'static str) -> Answer {
        let mut req = self.client.post(self.url(path)).header("content-type", content_type).body(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        Answer::read(req.send().await.unwrap_or_else(|e| panic!("sending to {path}: {e}"))).await
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let answer = self.post("/api/v1/auth/login", None, json!({"email": email, "password": password})).await;
        answer.assert_status(StatusCode::OK);
        answer.json["token"].as_str().unwrap_or_else(|| panic!("no token in {}", answer.json)).to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a user with `role` (through the admin API) and signs them in.
    pub async fn user_token(&self, role: &str) -> String {
        let admin = self.admin_token().await;
        let email = format!("{role}-{}@carefair.test", uuid::Uuid::now_v7().simple());
        let mut body = json!({"email": email, "name": format!("A {role}"), "role": role, "password": PASSWORD});
        // An organisation of its own, that nothing else in the test refers to.
        match role {
            "employer" => body["employer_id"] = json!(id_of(&self.create_employer(&admin, "Own Care", (51.7, 0.4)).await)),
            "school" => {
                let urn = format!("9{:05}", rand_digits());
                body["school_id"] = json!(id_of(&self.create_school(&admin, &urn, "Own School", (51.7, 0.4)).await));
            }
            _ => {}
        }
        self.post("/api/v1/users", Some(&admin), body).await.assert_status(StatusCode::CREATED);
        self.login(&email, PASSWORD).await
    }

    pub async fn organiser_token(&self) -> String {
        self.user_token("organiser").await
    }

    pub async fn create_venue(&self, token: &str, capacity: Option<i64>) -> Value {
        let answer = self
            .post(
                "/api/v1/venues",
                Some(token),
                json!({"name": "Chelmsford City Hall", "address": "Duke Street, Chelmsford", "postcode": "cm1 1je", "capacity": capacity}),
            )
            .await;
        answer.assert_status(StatusCode::CREATED);
        answer.json
    }

    pub async fn create_campaign(&self, token: &str, slug: &str) -> Value {
        let answer = self
            .post(
                "/api/v1/campaigns",
                Some(token),
                json!({"slug": slug, "name": "Gift of Care", "description": "Care work is a gift.", "starts_on": "2027-01-01", "ends_on": "2027-12-31", "objectives": ["recruitment_retention"]}),
            )
            .await;
        answer.assert_status(StatusCode::CREATED);
        answer.json
    }

    /// Creates a draft event from `fair_body()` with `changes` merged in.
    pub async fn create_event(&self, token: &str, changes: Value) -> Value {
        let answer = self.post("/api/v1/events", Some(token), merge(fair_body(), changes)).await;
        answer.assert_status(StatusCode::CREATED);
        answer.json
    }

    /// An event already held (or under way): a past event cannot be published, so it is
    /// published at the fair's dates and then moved to `changes`' `starts_at` and `ends_at`.
    pub async fn create_past_event(&self, token: &str, changes: Value) -> Value {
        let moved = json!({"starts_at": changes["starts_at"], "ends_at": changes["ends_at"]});
        let future = merge(changes, json!({"starts_at": fair_body()["starts_at"], "ends_at": fair_body()["ends_at"]}));
        let event = self.create_published_event(token, future).await;
        let answer = self.patch(&format!("/api/v1/events/{}", id_of(&event)), Some(token), moved).await;
        answer.assert_status(StatusCode::OK);
        answer.json
    }

    pub async fn create_published_event(&self, token: &str, changes: Value) -> Value {
        let event = self.create_event(token, changes).await;
        let id = event["id"].as_str().unwrap_or_default();
        let answer = self.post(&format!("/api/v1/events/{id}/publish"), Some(token), json!({})).await;
        answer.assert_status(StatusCode::OK);
        answer.json
    }
}

/// A recruitment fair in Chelmsford, on a Tuesday in January 2027.
pub fn fair_body() -> Value {
    json!({
        "kind": "recruitment_fair",
        "title": "Chelmsford Care Jobs Fair",
        "description": "Meet care employers from across Essex.",
        "starts_at": "2027-01-05T10:00:00Z",
        "ends_at": "2027-01-05T13:00:00Z",
        "timezone": "Europe/London",
        "capacity": 200,
        "max_exhibitors": 20
    })
}

/// `base` with the keys of `changes` set over it (null removes a key).
pub fn merge(mut base: Value, changes: Value) -> Value {
    if let (Some(base), Value::Object(changes)) = (base.as_object_mut(), changes) {
        for (k, v) in changes {
            if v.is_null() {
                base.remove(&k);
            } else {
                base.insert(k, v);
            }
        }
    }
    base
}

/// A status, headers and JSON body, read in full.
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Answer {
    async fn read(resp: reqwest::Response) -> Self {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self { status, headers, json, text }
    }

    pub fn assert_status(&self, want: StatusCode) -> &Self {
        assert_eq!(self.status, want, "unexpected status; body: {}", self.text);
        self
    }

    /// Asserts an RFC 9457 problem document with this status.
    pub fn assert_problem(&self, want: StatusCode) -> &Self {
        self.assert_status(want);
        let content_type = self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(content_type.starts_with("application/problem+json"), "content type {content_type}; body {}", self.text);
        assert_eq!(self.json["status"], json!(want.as_u16()), "{}", self.text);
        assert!(self.json["title"].is_string() && self.json["type"].is_string() && self.json["detail"].is_string(), "{}", self.text);
        self
    }

    /// Asserts a 422 naming exactly these fields.
    pub fn assert_invalid(&self, fields: &[&str]) {
        self.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
        let mut named: Vec<&str> = self.json["errors"].as_array().into_iter().flatten().filter_map(|e| e["field"].as_str()).collect();
        named.sort_unstable();
        let mut want = fields.to_vec();
        want.sort_unstable();
        assert_eq!(named, want, "{}", self.text);
    }
}

/// A candidate's registration body.
pub fn person(name: &str, email: &str) -> Value {
    json!({"name": name, "email": email, "consent_marketing": false})
}

impl TestApp {
    pub async fn register(&self, event_id: &str, body: Value) -> Answer {
        self.post(&format!("/api/v1/events/{event_id}/registrations"), None, body).await
    }

    /// A published fair with `capacity` places: its id, and an organiser's token.
    pub async fn published_fair(&self, capacity: i64) -> (String, String) {
        let organiser = self.organiser_token().await;
        let event = self.create_published_event(&organiser, json!({"capacity": capacity})).await;
        (id_of(&event), organiser)
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    /// What `count` (`SELECT COUNT(*) AS n …`) reads from the app's database, for what the API
    /// does not show (rows that must not exist).
    pub async fn count_rows(&self, count: &str) -> i64 {
        let db = connect(&self.database_url).await.unwrap_or_else(|e| panic!("connecting to the app's database: {e}"));
        let statement = sea_orm::Statement::from_string(db.get_database_backend(), count.to_owned());
        let row = db.query_one_raw(statement).await.unwrap_or_else(|e| panic!("{count}: {e}"));
        let _ = db.close().await;
        row.and_then(|row| row.try_get::<i64>("", "n").ok()).unwrap_or_else(|| panic!("{count}: no count"))
    }
}

/// Settings that send mail through the test SMTP server on `port`.
pub fn smtp_on(settings: &mut Settings, port: u16) {
    settings.mail.transport = carefair::config::MailTransportKind::Smtp;
    settings.mail.smtp.host = "127.0.0.1".into();
    settings.mail.smtp.port = port;
}

impl TestApp {
    /// A user of one employer or school (`role` is `employer` or `school`), signed in.
    pub async fn member_token(&self, role: &str, organisation_id: &str) -> String {
        let admin = self.admin_token().await;
        let email = format!("{role}-{}@carefair.test", uuid::Uuid::now_v7().simple());
        let key = if role == "employer" { "employer_id" } else { "school_id" };
        let body = json!({"email": email, "name": format!("A {role}"), "role": role, "password": PASSWORD, key: organisation_id});
        self.post("/api/v1/users", Some(&admin), body).await.assert_status(StatusCode::CREATED);
        self.login(&email, PASSWORD).await
    }

    /// An approved employer (organisers' employers are approved at once) at this position.
    pub async fn create_employer(&self, token: &str, name: &str, position: (f64, f64)) -> Value {
        let body = json!({
            "name": name, "provider_type": "residential", "address": "1 High Street, Chelmsford", "postcode": "CM1 1AA",
            "latitude": position.0, "longitude": position.1, "contact_name": "Pat Jones",
            "contact_email": format!("{}@employer.test", uuid::Uuid::now_v7().simple()),
        });
        let answer = self.post("/api/v1/employers", Some(token), body).await;
        answer.assert_status(StatusCode::CREATED);
        answer.json
    }

    pub async fn create_school(&self, token: &str, urn: &str, name: &str, position: (f64, f64)) -> Value {
        let body = json!({
            "urn": urn, "name": name, "address": "School Lane, Chelmsford", "postcode": "CM2 0AA",
            "latitude": position.0, "longitude": position.1, "careers_leader_name": "Sam Lee",
            "careers_leader_email": format!("careers-{urn}@school.test"),
        });
        let answer = self.post("/api/v1/schools", Some(token), body).await;
        answer.assert_status(StatusCode::CREATED);
        answer.json
    }

    /// An active link between an employer and a school, made by an organiser.
    pub async fn link(&self, organiser: &str, employer_id: &str, school_id: &str) -> Value {
        let asked = self.post("/api/v1/school-links", Some(organiser), json!({"employer_id": employer_id, "school_id": school_id})).await;
        asked.assert_status(StatusCode::CREATED);
        let id = asked.json["id"].as_str().unwrap_or_default().to_owned();
        let accepted = self.post(&format!("/api/v1/school-links/{id}/accept"), Some(organiser), json!({})).await;
        accepted.assert_status(StatusCode::OK);
        accepted.json
    }

    /// The kinds of the messages in the outbox, oldest first.
    pub async fn outbox_kinds(&self) -> Vec<(String, String)> {
        self.outbox_by_kind("to").await
    }

    /// Every outbox message as (kind, `field`), sorted.
    pub async fn outbox_by_kind(&self, field: &str) -> Vec<(String, String)> {
        let admin = self.admin_token().await;
        let answer = self.get("/api/v1/outbox?limit=200", Some(&admin)).await;
        answer.assert_status(StatusCode::OK);
        let mut items: Vec<(String, String)> = answer.json["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| (m["kind"].as_str().unwrap_or("").to_owned(), m[field].as_str().unwrap_or("").to_owned()))
            .collect();
        items.sort();
        items
    }
}

/// A connection of the tests' own to a database, with the options of the server's pools.
pub async fn connect(url: &str) -> Result<sea_orm::DatabaseConnection, sea_orm::DbErr> {
    Database::connect(carefair::store::pool_options(url, 1)).await
}

/// The SQLite database file of a `sqlite://` URL; `None` on PostgreSQL.
pub fn sqlite_file(database_url: &str) -> Option<String> {
    database_url.strip_prefix("sqlite://").and_then(|rest| rest.split('?').next()).map(str::to_owned)
}

/// Copies a SQLite database file alone, without its write-ahead log (what a backup of the file
/// would hold), until `count` (`SELECT COUNT(*) AS n …`) reads `want` from the copy or 10 s
/// have passed; returns the last count read.
pub async fn count_in_file_alone(file: &str, count: &str, want: i64) -> i64 {
    let copy_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let copy = copy_dir.path().join("copy.db");
    let mut counted = 0;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        std::fs::copy(file, &copy).unwrap_or_else(|e| panic!("copying {file}: {e}"));
        let Ok(db) = connect(&format!("sqlite://{}?mode=ro", copy.display())).await else { continue };
        let row = db.query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, count.to_owned())).await;
        counted = row.ok().flatten().and_then(|row| row.try_get::<i64>("", "n").ok()).unwrap_or(0);
        let _ = db.close().await;
        if counted == want {
            break;
        }
    }
    counted
}

/// The text parts of the `.eml` files the file transport wrote into `dir`.
pub fn mail_texts_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).filter_map(|e| std::fs::read(e.path()).ok()).collect::<Vec<_>>())
        .unwrap_or_default()
        .iter()
        .filter_map(|raw| mail_parser::MessageParser::default().parse(raw).and_then(|m| m.body_text(0).map(|t| t.into_owned())))
        .collect()
}

/// The manage token at the end of a registration answer's `manage_url`.
pub fn manage_token(registered: &Value) -> String {
    registered["manage_url"].as_str().and_then(|u| u.rsplit('/').next()).unwrap_or_default().to_owned()
}

/// Five digits that differ from call to call, for URNs that must be unique.
fn rand_digits() -> u32 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 100_000
}

/// The `id` of a created resource.
pub fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_owned()
}

//! A browser without a browser, for the pages over HTTP: it keeps cookies, follows nothing and
//! reads the CSRF field; and the users and mailed links the page tests start from.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, id_of};

/// A browser without a browser: it keeps cookies, follows nothing, reads the CSRF field.
pub struct Visitor<'a> {
    pub app: &'a TestApp,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: String,
    pub set_cookies: Vec<String>,
    pub html: String,
}

impl Page {
    pub fn csrf(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let start = self.html.find(marker).unwrap_or_else(|| panic!("no csrf field in {}", self.html)) + marker.len();
        self.html[start..].split('"').next().unwrap_or_default().to_owned()
    }
}

impl<'a> Visitor<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self { app, cookies: HashMap::new() }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub async fn read(&mut self, resp: reqwest::Response) -> Page {
        let status = resp.status();
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let set_cookies: Vec<String> =
            resp.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok().map(str::to_owned)).collect();
        for set in &set_cookies {
            if let Some((name, value)) = set.split(';').next().and_then(|kv| kv.split_once('=')) {
                if value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let html = resp.text().await.unwrap_or_default();
        Page { status, location, set_cookies, html }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let resp = self.app.client.get(self.app.url(path)).header("cookie", self.cookie_header()).send().await;
        self.read(resp.unwrap_or_else(|e| panic!("{e}"))).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let resp = self.app.client.post(self.app.url(path)).header("cookie", self.cookie_header()).form(form).send().await;
        self.read(resp.unwrap_or_else(|e| panic!("{e}"))).await
    }

    /// Signs in through the form; the answer is the POST's.
    pub async fn sign_in(&mut self, email: &str, password: &str, next: &str) -> Page {
        let form = self.get("/sign-in").await;
        let csrf = form.csrf();
        self.post("/sign-in", &[("csrf", &csrf), ("email", email), ("password", password), ("next", next)]).await
    }

    /// A CSRF token from a page of the back office.
    pub async fn csrf(&mut self) -> String {
        self.get("/manage").await.csrf()
    }
}

/// A user of `role` with the test password; for employer and school users, a new organisation.
/// A new user of the employer or school `organisation_id` (`role` is `employer` or `school`),
/// with [`PASSWORD`]: their email address.
pub async fn member(app: &TestApp, role: &str, organisation_id: &str) -> String {
    let admin = app.admin_token().await;
    let email = format!("{role}-{}@carefair.test", uuid::Uuid::now_v7().simple());
    let key = if role == "employer" { "employer_id" } else { "school_id" };
    let body = json!({"email": email, "name": format!("Pat {role}"), "role": role, "password": PASSWORD, key: organisation_id});
    app.post("/api/v1/users", Some(&admin), body).await.assert_status(StatusCode::CREATED);
    email
}

pub async fn user(app: &TestApp, role: &str) -> String {
    let admin = app.admin_token().await;
    let email = format!("{role}-{}@carefair.test", uuid::Uuid::now_v7().simple());
    let mut body = json!({"email": email, "name": format!("Pat {role}"), "role": role, "password": PASSWORD});
    match role {
        "employer" => body["employer_id"] = json!(id_of(&app.create_employer(&admin, "Oak Lodge Care", (51.7, 0.4)).await)),
        "school" => body["school_id"] = json!(id_of(&app.create_school(&admin, "123456", "Chelmer Valley High", (51.7, 0.4)).await)),
        _ => {}
    }
    app.post("/api/v1/users", Some(&admin), body).await.assert_status(StatusCode::CREATED);
    email
}

/// The link a password mail to `email` carries, as a path.
pub async fn link_in_mail(app: &TestApp, email: &str) -> String {
    let mail = app.wait_for_mail(email).await;
    let link = mail.split_whitespace().find(|w| w.contains("/password/reset/")).unwrap_or_else(|| panic!("no link in {mail}"));
    link.split_once("/password/reset/").map(|(_, token)| format!("/password/reset/{}", token.trim_end_matches('.'))).unwrap_or_default()
}

//! The pages in headless Chromium, driven over the WebDriver protocol (a small client of our own
//! on reqwest: a session, navigation, typing, clicking and screenshots are all it needs). A
//! candidate books a place at a fair, sees the confirmation, opens the manage page and cancels;
//! an employer signs up with one field wrong, fixes it and succeeds. Each page is saved as a PNG
//! under `SCREENSHOT_OUT` when that is set.
//!
//! Needs `chromedriver` and `chromium` (Debian's `chromium-driver` and `chromium`), which
//! `.ci/run` installs. Without them the test says so and passes, unless `BROWSER_TESTS=required`
//! (as `.ci/run` sets), when it fails.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{TestApp, id_of};

/// A running chromedriver, stopped on drop.
struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
struct Browser {
    http: reqwest::Client,
    session: String,
    shots: Option<std::path::PathBuf>,
    _driver: Driver,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// axe-core's script, read once. Missing, the audit is skipped with a word, unless
/// `BROWSER_TESTS=required` (as in `.ci/run`), when that is a failure.
fn axe_source() -> Option<&'static str> {
    static AXE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    AXE.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&path).ok();
        if source.is_none() {
            assert!(
                std::env::var("BROWSER_TESTS").as_deref() != Ok("required"),
                "axe-core is not installed (npm install in tests/browser)"
            );
            eprintln!("accessibility audit skipped: axe-core is not installed (npm install in tests/browser)");
        }
        source
    })
    .as_deref()
}

impl Browser {
    /// A phone-sized (360 px, by Chrome's device emulation) or desktop-sized browser.
    async fn start(phone: bool) -> Option<Self> {
        let Some(chromedriver) =
            ["chromedriver", "/usr/bin/chromedriver"].into_iter().find(|p| Command::new(p).arg("--version").output().is_ok())
        else {
            assert!(std::env::var("BROWSER_TESTS").as_deref() != Ok("required"), "chromedriver is not installed");
            eprintln!("browser tests skipped: chromedriver is not installed (apt-get install chromium chromium-driver)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(9515);
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting chromedriver: {e}"));
        let driver = Driver { child, base: format!("http://127.0.0.1:{port}") };
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{}/status", driver.base)).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut options =
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"]});
        if phone {
            options["mobileEmulation"] = json!({"deviceMetrics": {"width": 360, "height": 780, "pixelRatio": 1.0}});
        }
        if std::path::Path::new("/usr/bin/chromium").exists() {
            options["binary"] = json!("/usr/bin/chromium");
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}});
        let answer: Value = http
            .post(format!("{}/session", driver.base))
            .json(&caps)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let session = answer["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {answer}")).to_owned();
        let shots = std::env::var("SCREENSHOT_OUT").ok().map(std::path::PathBuf::from);
        Some(Self { http, session, shots, _driver: driver })
    }

    async fn try_command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let url = format!("{}/session/{}{path}", self._driver.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let answer: Value = req.send().await.unwrap_or_else(|e| panic!("{e}")).json().await.unwrap_or_else(|e| panic!("{e}"));
        if answer["value"]["error"].is_string() { Err(answer) } else { Ok(answer["value"].clone()) }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_command(method, path, body).await.unwrap_or_else(|answer| panic!("webdriver {path}: {answer}"))
    }

    async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    /// The element `css` selects, waiting up to five seconds for a page still loading.
    async fn find(&self, css: &str) -> String {
        let query = json!({"using": "css selector", "value": css});
        for _ in 0..50 {
            if let Ok(found) = self.try_command(reqwest::Method::POST, "/element", Some(query.clone())).await
                && let Some(id) = found[ELEMENT].as_str()
            {
                return id.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no element {css} on the page")
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.command(reqwest::Method::POST, &format!("/element/{element}/clear"), Some(json!({}))).await;
        self.command(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({"text": text}))).await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.command(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    async fn source(&self) -> String {
        self.command(reqwest::Method::GET, "/source", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// The page's visible text once it holds `needle` (a click that submits a form starts a
    /// navigation the browser may not have finished), or after five seconds whatever it holds.
    async fn text_with(&self, needle: &str) -> String {
        let mut text = String::new();
        for _ in 0..50 {
            let body = self.try_command(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": "body"}))).await;
            if let Ok(body) = body
                && let Some(id) = body[ELEMENT].as_str()
                && let Ok(found) = self.try_command(reqwest::Method::GET, &format!("/element/{id}/text"), None).await
            {
                text = found.as_str().unwrap_or_default().to_owned();
                if text.contains(needle) {
                    return text;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        text
    }

    /// Saves the page as `name.png` and audits it with axe-core: no serious or critical
    /// violation of WCAG 2.2 A/AA may be found. Every page the test reaches goes through here.
    async fn screenshot(&self, name: &str) {
        let png = self.command(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        if let Some(dir) = &self.shots {
            let _ = std::fs::create_dir_all(dir);
            std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap_or_else(|e| panic!("{e}"));
        }
        self.audit(name).await;
    }

    /// Injects axe-core (npm `axe-core`, installed under `tests/browser/` by `.ci/run`) and runs
    /// it with the WCAG 2 A and AA rules; fails on any serious or critical violation.
    async fn audit(&self, name: &str) {
        let Some(axe) = axe_source() else { return };
        self.command(reqwest::Method::POST, "/execute/sync", Some(json!({"script": format!("{axe}\n;return true;"), "args": []}))).await;
        let run = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})
              .then(r => done({
                ran: r.passes.length + r.violations.length,
                bad: r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                       .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))
              }))
              .catch(e => done({ran: 0, bad: ['axe failed: ' + e]}));
        "#;
        let result = self.command(reqwest::Method::POST, "/execute/async", Some(json!({"script": run, "args": []}))).await;
        let bad: Vec<String> = result["bad"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect();
        assert!(result["ran"].as_u64().is_some_and(|n| n > 0), "axe ran no rule on {name}: {result}");
        assert!(bad.is_empty(), "axe on {name}:\n{}", bad.join("\n"));
    }

    async fn close(self) {
        let _ = self.http.delete(format!("{}/session/{}", self._driver.base, self.session)).send().await;
    }
}

#[tokio::test]
async fn a_candidate_books_and_cancels_and_an_employer_signs_up_in_a_browser() {
    let Some(browser) = Browser::start(true).await else { return };
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let campaign = id_of(&app.create_campaign(&organiser, "gift-of-care").await);
    let venue = app.create_venue(&organiser, Some(300)).await;
    let fair = id_of(&app.create_published_event(&organiser, json!({"venue_id": id_of(&venue), "campaign_id": campaign})).await);
    let employer = id_of(&app.create_employer(&organiser, "Oak Lodge Care", (51.7, 0.4)).await);
    let stand = app
        .post(
            &format!("/api/v1/events/{fair}/exhibitors"),
            Some(&organiser),
            json!({"employer_id": employer, "staff_count": 2, "roles_offered": ["Care assistant", "Night carer"]}),
        )
        .await;
    app.post(&format!("/api/v1/events/{fair}/exhibitors/{}/confirm", id_of(&stand.json)), Some(&organiser), json!({"stand_label": "A4"}))
        .await;

    browser.goto(&app.url("/")).await;
    assert!(browser.text_with("Chelmsford Care Jobs Fair").await.contains("Chelmsford Care Jobs Fair"));
    browser.screenshot("home").await;
    browser.goto(&app.url("/campaigns/gift-of-care")).await;
    assert!(browser.text_with("Subscribe in your calendar").await.contains("Subscribe in your calendar"));
    browser.screenshot("campaign").await;

    // Book a place.
    browser.goto(&app.url(&format!("/events/{fair}"))).await;
    let page = browser.text_with("Oak Lodge Care").await;
    assert!(page.contains("Oak Lodge Care") && page.contains("Tuesday 5 January 2027, 10:00 to 13:00"), "{page}");
    browser.screenshot("event").await;
    browser.type_into("#f-name", "Ann Lee").await;
    browser.type_into("#f-email", "ann@example.org").await;
    browser.click("#f-consent_marketing").await;
    browser.click("form[action$='/register'] button[type=submit]").await;
    let booked = browser.text_with("Your place is booked").await;
    assert!(booked.contains("Your place is booked"), "{booked}");
    browser.screenshot("registered").await;

    // Manage it, and cancel.
    browser.click("a[href^='/r/']").await;
    assert!(browser.text_with("Your booking").await.contains("Booked"));
    browser.screenshot("manage").await;
    browser.click("a[href$='/cancel']").await;
    assert!(browser.text_with("Cancel your place?").await.contains("Yes, cancel my place"));
    browser.screenshot("cancel").await;
    browser.click("button.warning").await;
    let cancelled = browser.text_with("Your place is cancelled").await;
    assert!(cancelled.contains("Your place is cancelled"), "{cancelled}");
    let listed = app.get(&format!("/api/v1/events/{fair}/registrations?status=cancelled"), Some(&organiser)).await;
    assert_eq!(listed.json["total"], 1);

    // Answer an invitation: its link opens a page that asks.
    let invite = json!({"recipients": [{"name": "Dee Ray", "email": "dee@example.org"}]});
    app.post(&format!("/api/v1/events/{fair}/invitations"), Some(&organiser), invite).await.assert_status(reqwest::StatusCode::ACCEPTED);
    let mail = app.wait_for_mail("Dee Ray").await;
    let link = mail.split_whitespace().find(|w| w.contains("/rsvp/") && w.ends_with("answer=accept")).unwrap_or_default();
    let path = link.split_once("/rsvp/").map(|(_, rest)| format!("/rsvp/{rest}")).unwrap_or_else(|| panic!("no RSVP link in {mail}"));
    browser.goto(&app.url(&path)).await;
    assert!(browser.text_with("Will you come").await.contains("Yes, book me a place"));
    browser.screenshot("rsvp").await;
    browser.click("form[action^='/rsvp/'] button[type=submit]").await;
    let answered = browser.text_with("Your place is booked").await;
    assert!(answered.contains("Your place is booked"), "{answered}");
    browser.screenshot("rsvp-done").await;

    // Sign up as an employer, with the postcode wrong first.
    browser.goto(&app.url("/employers/signup")).await;
    browser.type_into("#f-name", "Willow Care").await;
    let select = browser.find("#f-provider_type").await;
    let option = browser
        .command(
            reqwest::Method::POST,
            &format!("/element/{select}/element"),
            Some(json!({"using": "css selector", "value": "option[value=home_care]"})),
        )
        .await;
    let option = option[ELEMENT].as_str().unwrap_or_default().to_owned();
    browser.command(reqwest::Method::POST, &format!("/element/{option}/click"), Some(json!({}))).await;
    browser.type_into("#f-address", "3 Mill Lane, Witham").await;
    browser.type_into("#f-postcode", "WRONG").await;
    browser.type_into("#f-contact_name", "Sam Patel").await;
    browser.type_into("#f-contact_email", "sam@willow.example").await;
    browser.type_into("[id='f-user.name']", "Sam Patel").await;
    browser.type_into("[id='f-user.email']", "sam.login@willow.example").await;
    browser.type_into("[id='f-user.password']", "a-long-password").await;
    browser.click("form[action='/employers/signup'] button[type=submit]").await;
    let wrong = browser.text_with("There is a problem").await;
    assert!(wrong.contains("There is a problem") && wrong.contains("valid UK postcode"), "{wrong}");
    assert!(browser.source().await.contains(r#"value="Willow Care""#), "what was typed is kept");
    browser.screenshot("signup-error").await;
    browser.type_into("#f-postcode", "CM8 2AA").await;
    browser.type_into("[id='f-user.password']", "a-long-password").await;
    browser.click("form[action='/employers/signup'] button[type=submit]").await;
    let done = browser.text_with("Thank you for signing up").await;
    assert!(done.contains("Thank you for signing up"), "{done}");
    browser.screenshot("signed-up").await;
    browser.goto(&app.url("/no-such-page")).await;
    assert!(browser.text_with("Page not found").await.contains("Page not found"));
    browser.screenshot("not-found").await;
    browser.close().await;
    app.login("sam.login@willow.example", "a-long-password").await;

    // The same pages read on a desktop.
    let Some(desktop) = Browser::start(false).await else { return };
    desktop.goto(&app.url(&format!("/events/{fair}"))).await;
    assert!(desktop.text_with("Who will be there").await.contains("Who will be there"));
    desktop.screenshot("desktop-event").await;
    desktop.goto(&app.url("/")).await;
    desktop.screenshot("desktop-home").await;
    desktop.goto(&app.url(&path)).await;
    assert!(desktop.text_with("You have already answered").await.contains("You have already answered"));
    desktop.screenshot("desktop-rsvp-answered").await;
    app.post(&format!("/api/v1/events/{fair}/cancel"), Some(&organiser), json!({"reason": "The hall is flooded."})).await;
    desktop.goto(&app.url(&format!("/events/{fair}"))).await;
    let cancelled = desktop.text_with("This event is cancelled").await;
    assert!(cancelled.contains("The hall is flooded.") && !cancelled.contains("Add to calendar"), "{cancelled}");
    desktop.screenshot("desktop-cancelled").await;
    desktop.close().await;
}

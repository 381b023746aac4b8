//! Real Chromium, driven over WebDriver by the `fantoccini` crate: the pages as a person with a
//! phone (360 px wide, by Chrome's device emulation) or a desktop sees them. Every page a test
//! reaches is saved as a PNG under `SCREENSHOT_OUT` when that is set, and audited by axe-core
//! (npm `axe-core`, injected into the page): no serious or critical WCAG 2.2 A/AA violation.
//!
//! Needs `chromedriver` and `chromium` (Debian's `chromium-driver` and `chromium`), which
//! `.ci/run` installs. Without them a test says so and passes, unless `BROWSER_TESTS=required`
//! (as `.ci/run` sets), when it fails.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// A running chromedriver, stopped on drop.
struct Driver {
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
pub struct Browser {
    client: Client,
    shots: Option<std::path::PathBuf>,
    _driver: Driver,
}

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
    /// A phone-sized or desktop-sized browser; `None` (the test passes with a word) when there
    /// is no chromedriver on this machine and browser tests are not required.
    pub async fn start(phone: bool) -> Option<Self> {
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
        let driver = Driver { child };
        let mut options =
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"]});
        if phone {
            options["mobileEmulation"] = json!({"deviceMetrics": {"width": 360, "height": 780, "pixelRatio": 1.0}});
        }
        if std::path::Path::new("/usr/bin/chromium").exists() {
            options["binary"] = json!("/usr/bin/chromium");
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let mut client = None;
        // chromedriver takes a moment to listen.
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let client = client.unwrap_or_else(|| panic!("no WebDriver session at {url}"));
        let shots = std::env::var("SCREENSHOT_OUT").ok().map(std::path::PathBuf::from);
        Some(Self { client, shots, _driver: driver })
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The element `css` selects, waiting up to five seconds for a page still loading.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css} on the page: {e}"))
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        element.clear().await.unwrap_or_else(|e| panic!("clearing {css}: {e}"));
        element.send_keys(text).await.unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Signs out with the button in the menu, opening the menu first where a phone folds it away.
    /// Signs in on the sign-in page at `url` and waits until the page it lands on holds `landed`.
    pub async fn sign_in(&self, url: &str, email: &str, password: &str, landed: &str) -> String {
        self.goto(url).await;
        self.type_into("#f-email", email).await;
        self.type_into("#f-password", password).await;
        self.click("form[action='/sign-in'] button[type=submit]").await;
        self.text_with(landed).await
    }

    pub async fn sign_out(&self) {
        if let Ok(toggle) = self.client.find(Locator::Css(".govuk-service-navigation__toggle")).await
            && toggle.is_displayed().await.unwrap_or(false)
        {
            toggle.click().await.unwrap_or_else(|e| panic!("opening the menu: {e}"));
        }
        self.click("form[action='/sign-out'] button").await;
    }

    /// Chooses the option with `value` in the select `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css).await.select_by_value(value).await.unwrap_or_else(|e| panic!("choosing {value} in {css}: {e}"));
    }

    pub async fn source(&self) -> String {
        self.client.source().await.unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn current_path(&self) -> String {
        self.client.current_url().await.map(|u| u.path().to_owned()).unwrap_or_default()
    }

    /// The page's visible text once it holds `needle` (a click that submits a form starts a
    /// navigation the browser may not have finished), or after five seconds whatever it holds.
    pub async fn text_with(&self, needle: &str) -> String {
        let mut text = String::new();
        for _ in 0..50 {
            if let Ok(body) = self.client.find(Locator::Css("body")).await
                && let Ok(found) = body.text().await
            {
                text = found;
                if text.contains(needle) {
                    return text;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        text
    }

    /// Saves the page as `name.png` and audits it with axe-core. Every page a test reaches goes
    /// through here.
    pub async fn screenshot(&self, name: &str) {
        let bytes = self.client.screenshot().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        if let Some(dir) = &self.shots {
            let _ = std::fs::create_dir_all(dir);
            std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap_or_else(|e| panic!("{e}"));
        }
        self.audit(name).await;
        // Every page has a plain title of its own (a template that closed the wrong block once
        // put a whole section into one).
        let title: Value = self.client.execute("return document.title", vec![]).await.unwrap_or_else(|e| panic!("{e}"));
        let title = title.as_str().unwrap_or_default();
        assert!(!title.trim().is_empty() && !title.contains('<') && title.len() < 200, "the title of {name}: {title:?}");
    }

    /// Injects axe-core and runs it with the WCAG 2 A and AA rules (2.0 to 2.2); fails on any
    /// serious or critical violation.
    async fn audit(&self, name: &str) {
        let Some(axe) = axe_source() else { return };
        self.client.execute(&format!("{axe}\n;return true;"), vec![]).await.unwrap_or_else(|e| panic!("injecting axe: {e}"));
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
        let result: Value = self.client.execute_async(run, vec![]).await.unwrap_or_else(|e| panic!("running axe: {e}"));
        let bad: Vec<String> = result["bad"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect();
        assert!(result["ran"].as_u64().is_some_and(|n| n > 0), "axe ran no rule on {name}: {result}");
        assert!(bad.is_empty(), "axe on {name}:\n{}", bad.join("\n"));
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

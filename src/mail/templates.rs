//! The email templates of `templates/email/`, built into the binary so it runs from any folder.
//! `.html` templates escape every value; `.txt` ones do not.

use std::sync::LazyLock;

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The kinds of message there are templates for, each with `subject.txt`, `body.txt` and
/// `body.html`.
macro_rules! kinds {
    ($($kind:literal),* $(,)?) => {
        &[$(
            (concat!($kind, "/subject.txt"), include_str!(concat!("../../templates/email/", $kind, "/subject.txt"))),
            (concat!($kind, "/body.txt"), include_str!(concat!("../../templates/email/", $kind, "/body.txt"))),
            (concat!($kind, "/body.html"), include_str!(concat!("../../templates/email/", $kind, "/body.html"))),
        )*]
    };
}

const SOURCES: &[(&str, &str)] = kinds![
    "invitation",
    "registration_confirmed",
    "registration_waitlisted",
    "registration_promoted",
    "registration_cancelled",
    "event_updated",
    "event_cancelled",
    "reminder",
    "employer_approved",
    "link_requested",
    "link_accepted",
    "link_declined",
    "stand_confirmed",
    "password_reset",
    "account_invitation",
    "employer_signup_received",
    "organiser_employer_signed_up",
    "organiser_stand_requested",
    "interview_booked",
    "interview_cancelled",
    "feedback",
    "place_offered",
    "offer_lapsed",
];

const SHARED: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/email/layout.html")),
    ("details.txt", include_str!("../../templates/email/details.txt")),
];

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
}

static TEMPLATES: LazyLock<Result<Templates, String>> = LazyLock::new(Templates::load);

/// The templates, compiled once. A template that does not compile is a build defect; the unit
/// tests compile every one.
pub fn templates() -> Result<&'static Templates, String> {
    TEMPLATES.as_ref().map_err(Clone::clone)
}

impl Templates {
    fn load() -> Result<Self, String> {
        let mut env = Environment::new();
        // Optional values (a location, a position) may be missing and read as empty; a missing
        // object (`event`) is an error.
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        for (name, source) in SHARED.iter().chain(SOURCES) {
            env.add_template(name, source).map_err(|e| format!("template {name}: {e}"))?;
        }
        Ok(Self { env })
    }

    /// Renders `{kind}/{file}` with `context`.
    pub fn render(&self, kind: &str, file: &str, context: &impl Serialize) -> Result<String, String> {
        let name = format!("{kind}/{file}");
        let template = self.env.get_template(&name).map_err(|e| format!("template {name}: {e}"))?;
        template.render(Serde(context)).map_err(|e| format!("rendering {name}: {e}"))
    }

    /// The subject line of a message of `kind`, on one line.
    pub fn subject(&self, kind: &str, context: &impl Serialize) -> Result<String, String> {
        let subject = self.render(kind, "subject.txt", context)?;
        Ok(subject.split(['\r', '\n']).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_template_compiles_and_renders() {
        let templates = templates().unwrap_or_else(|e| panic!("{e}"));
        let context = json!({
            "person": {"name": "Jane"},
            "event": {"title": "Care Jobs Fair", "when": "Tuesday 5 January 2027, 10:00 to 13:00", "location": "City Hall", "url": "https://x.test/e"},
            "manage_url": "https://x.test/r/abc", "position": 3, "accept_url": "https://x.test/a", "decline_url": "https://x.test/d",
            "employer": {"name": "Oak Lodge Care", "town": "Chelmsford"}, "school": {"name": "Chelmer Valley Academy"},
            "stand_label": "A12", "sign_in_url": "https://x.test/sign-in", "link_url": "https://x.test/password/reset/t", "valid_for": "one hour",
            "next_url": "https://x.test/employer",
        });
        // Messages about organisations name one of them; the rest name the event.
        let about_organisations = [
            "employer_approved",
            "link_requested",
            "link_accepted",
            "link_declined",
            "employer_signup_received",
            "organiser_employer_signed_up",
        ];
        for (name, _) in SOURCES {
            let (kind, file) = name.split_once('/').unwrap_or_default();
            let text = templates.render(kind, file, &context).unwrap_or_else(|e| panic!("{e}"));
            let named = if about_organisations.contains(&kind) {
                "Oak Lodge Care"
            } else if ["password_reset", "account_invitation"].contains(&kind) {
                "Gift of Care"
            } else {
                "Care Jobs Fair"
            };
            assert!(text.contains(named), "{name} does not name {named}: {text}");
        }
    }

    #[test]
    fn html_escapes_and_subject_is_one_line() {
        let templates = templates().unwrap_or_else(|e| panic!("{e}"));
        let context = json!({
            "person": {"name": "<script>alert(1)</script>"},
            "event": {"title": "Fair\r\nBcc: x@y.test", "when": "w", "url": "u"},
            "manage_url": "m",
        });
        let html = templates.render("registration_confirmed", "body.html", &context).unwrap_or_else(|e| panic!("{e}"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        let subject = templates.subject("registration_confirmed", &context).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(subject, "Your place is booked: Fair Bcc: x@y.test");
    }
}

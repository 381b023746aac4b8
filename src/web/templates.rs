//! The page templates of `templates/web/`, built into the binary. Every `.html` template escapes
//! every value it shows.

use std::sync::LazyLock;

use minijinja::Environment;
use minijinja::value::Serde;
use serde::Serialize;

const SOURCES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/web/layout.html")),
    ("form.html", include_str!("../../templates/web/form.html")),
    ("index.html", include_str!("../../templates/web/index.html")),
    ("event.html", include_str!("../../templates/web/event.html")),
    ("registered.html", include_str!("../../templates/web/registered.html")),
    ("manage.html", include_str!("../../templates/web/manage.html")),
    ("cancel.html", include_str!("../../templates/web/cancel.html")),
    ("campaign.html", include_str!("../../templates/web/campaign.html")),
    ("signup.html", include_str!("../../templates/web/signup.html")),
    ("signed_up.html", include_str!("../../templates/web/signed_up.html")),
    ("message.html", include_str!("../../templates/web/message.html")),
    ("rsvp.html", include_str!("../../templates/web/rsvp.html")),
    ("pagination.html", include_str!("../../templates/web/pagination.html")),
    ("sign_in.html", include_str!("../../templates/web/sign_in.html")),
    ("password_forgot.html", include_str!("../../templates/web/password_forgot.html")),
    ("password_reset.html", include_str!("../../templates/web/password_reset.html")),
    ("manage/dashboard.html", include_str!("../../templates/web/manage/dashboard.html")),
    ("manage/events.html", include_str!("../../templates/web/manage/events.html")),
    ("manage/event.html", include_str!("../../templates/web/manage/event.html")),
    ("employer/status.html", include_str!("../../templates/web/employer/status.html")),
    ("employer/home.html", include_str!("../../templates/web/employer/home.html")),
    ("employer/profile.html", include_str!("../../templates/web/employer/profile.html")),
    ("employer/users.html", include_str!("../../templates/web/employer/users.html")),
    ("employer/stands.html", include_str!("../../templates/web/employer/stands.html")),
    ("employer/schools.html", include_str!("../../templates/web/employer/schools.html")),
    ("employer/engagements.html", include_str!("../../templates/web/employer/engagements.html")),
    ("employer/calendar.html", include_str!("../../templates/web/employer/calendar.html")),
    ("school/home.html", include_str!("../../templates/web/school/home.html")),
    ("school/engagement.html", include_str!("../../templates/web/school/engagement.html")),
    ("school/encounters.html", include_str!("../../templates/web/school/encounters.html")),
    ("manage/engagement_form.html", include_str!("../../templates/web/manage/engagement_form.html")),
    ("manage/engagement_outcome.html", include_str!("../../templates/web/manage/engagement_outcome.html")),
    ("manage/engagements.html", include_str!("../../templates/web/manage/engagements.html")),
    ("manage/event_form.html", include_str!("../../templates/web/manage/event_form.html")),
    ("manage/registrations.html", include_str!("../../templates/web/manage/registrations.html")),
    ("manage/employers.html", include_str!("../../templates/web/manage/employers.html")),
    ("manage/users.html", include_str!("../../templates/web/manage/users.html")),
    ("manage/schools.html", include_str!("../../templates/web/manage/schools.html")),
    ("manage/school.html", include_str!("../../templates/web/manage/school.html")),
    ("manage/school_links.html", include_str!("../../templates/web/manage/school_links.html")),
    ("manage/school_links_rows.html", include_str!("../../templates/web/manage/school_links_rows.html")),
    ("manage/invitations.html", include_str!("../../templates/web/manage/invitations.html")),
    ("manage/reports.html", include_str!("../../templates/web/manage/reports.html")),
    ("manage/outbox.html", include_str!("../../templates/web/manage/outbox.html")),
    ("manage/campaigns.html", include_str!("../../templates/web/manage/campaigns.html")),
    ("manage/campaign_form.html", include_str!("../../templates/web/manage/campaign_form.html")),
    ("manage/venues.html", include_str!("../../templates/web/manage/venues.html")),
    ("manage/venue_form.html", include_str!("../../templates/web/manage/venue_form.html")),
    ("door.html", include_str!("../../templates/web/door.html")),
    ("employer/interviews.html", include_str!("../../templates/web/employer/interviews.html")),
    ("interview_cut.html", include_str!("../../templates/web/interview_cut.html")),
    ("manage/interviews.html", include_str!("../../templates/web/manage/interviews.html")),
    ("manage/door_links.html", include_str!("../../templates/web/manage/door_links.html")),
    ("manage/questions.html", include_str!("../../templates/web/manage/questions.html")),
    ("ticket.html", include_str!("../../templates/web/ticket.html")),
    ("feedback.html", include_str!("../../templates/web/feedback.html")),
    ("employer/people.html", include_str!("../../templates/web/employer/people.html")),
    ("manage/feedback.html", include_str!("../../templates/web/manage/feedback.html")),
    ("manage/outcomes.html", include_str!("../../templates/web/manage/outcomes.html")),
];

/// The files served under `/static/`: name, content type, contents. GOV.UK Frontend's are
/// compiled from its npm package (see `templates/web/static/govuk-frontend.scss` and its
/// licence beside it), so running the server needs no npm.
pub const STATIC_FILES: &[(&str, &str, &str)] = &[
    ("govuk-frontend.min.css", "text/css; charset=utf-8", include_str!("../../templates/web/static/govuk-frontend.min.css")),
    ("govuk-frontend.min.js", "text/javascript; charset=utf-8", include_str!("../../templates/web/static/govuk-frontend.min.js")),
    ("carefair.css", "text/css; charset=utf-8", include_str!("../../templates/web/static/carefair.css")),
    ("init.js", "text/javascript; charset=utf-8", include_str!("../../templates/web/static/init.js")),
    ("door.js", "text/javascript; charset=utf-8", include_str!("../../templates/web/static/door.js")),
    // jsQR 1.4.0 from npm (Apache-2.0, LICENSE.jsqr.txt beside it): the door page's QR decoder
    // where the browser has no BarcodeDetector.
    ("jsQR.js", "text/javascript; charset=utf-8", include_str!("../../templates/web/static/jsQR.js")),
    ("LICENSE.jsqr.txt", "text/plain; charset=utf-8", include_str!("../../templates/web/static/LICENSE.jsqr.txt")),
];

static PAGES: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in SOURCES {
        env.add_template(name, source).map_err(|e| format!("template {name}: {e}"))?;
    }
    Ok(env)
});

/// Renders one page.
pub fn render(name: &str, context: &impl Serialize) -> Result<String, String> {
    let env = PAGES.as_ref().map_err(Clone::clone)?;
    let template = env.get_template(name).map_err(|e| format!("{name}: {e}"))?;
    template.render(Serde(context)).map_err(|e| format!("rendering {name}: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_page_template_compiles() {
        for (name, _) in super::SOURCES {
            let env = super::PAGES.as_ref().unwrap_or_else(|e| panic!("{e}"));
            env.get_template(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

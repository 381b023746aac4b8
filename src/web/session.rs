//! Signed-in pages: the session cookie and who it belongs to. A session is a login token, the
//! same as the API's bearer tokens (random, stored hashed, the same lifetime), carried in an
//! `HttpOnly`, `SameSite=Lax` cookie (`__Host-`-prefixed and `Secure` under https). Which area a
//! user may enter is the policy's decision; this module only asks it.

use poem::http::{StatusCode, header};
use poem::{Request, Response};
use serde_json::{Value, json};

use super::csrf;
use super::pages::{failed, not_found, page};
use crate::domain::Actor;
use crate::service::auth::{self, User};
use crate::service::policy::{self, Area};
use crate::service::{ServiceError, Services};

const COOKIE: &str = "carefair_session";
const HOST_COOKIE: &str = "__Host-carefair_session";

fn cookie_name(secure: bool) -> &'static str {
    if secure { HOST_COOKIE } else { COOKIE }
}

/// The session token the request carries, if any.
pub(super) fn token_of(req: &Request, secure: bool) -> Option<String> {
    csrf::cookie(req, cookie_name(secure)).filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value that starts a session.
pub(super) fn start_cookie(token: &str, secure: bool, ttl_secs: i64) -> String {
    let flag = if secure { "; Secure" } else { "" };
    format!("{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={ttl_secs}{flag}", cookie_name(secure))
}

/// The `Set-Cookie` value that ends one.
pub(super) fn end_cookie(secure: bool) -> String {
    let flag = if secure { "; Secure" } else { "" };
    format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{flag}", cookie_name(secure))
}

/// A 303 to `location`, optionally setting a cookie.
pub(super) fn see_other(location: &str, set_cookie: Option<String>) -> Response {
    let mut builder =
        Response::builder().status(StatusCode::SEE_OTHER).header(header::LOCATION, location).header(header::CACHE_CONTROL, "no-store");
    if let Some(cookie) = set_cookie {
        builder = builder.header(header::SET_COOKIE, cookie);
    }
    builder.finish()
}

/// Where to go back to after signing in: a path on this site, never another site's address.
pub(super) fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() <= 1_000 && !n.chars().any(char::is_control))
}

/// `value` percent-encoded for a query string: only unreserved characters are left as they are.
pub(super) fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 2);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The person signed in, on a page of their area.
pub struct Viewer {
    pub actor: Actor,
    pub user: User,
    csrf: csrf::CsrfToken,
    area: Area,
}

impl Viewer {
    /// Renders a page of the area with its navigation, `section` marking the current item.
    pub fn render(&self, status: StatusCode, template: &str, mut context: Value, section: &str) -> Response {
        context["signed_in"] = json!({"name": self.user.name, "email": self.user.email});
        context["csrf"] = json!(self.csrf.token);
        context["nav"] = json!(navigation(self.area, &self.actor, section));
        context["nav_home"] = json!(self.area.home());
        context["nav_title"] = json!(match self.area {
            Area::Manage => "Back office",
            Area::Employer => "Employer portal",
            Area::School => "School portal",
        });
        page(status, template, context, self.csrf.set_cookie.clone())
    }
}

fn navigation(area: Area, actor: &Actor, section: &str) -> Vec<Value> {
    let items: Vec<(&str, &str, &str)> = match area {
        Area::Manage => {
            let mut items = vec![
                ("dashboard", "Dashboard", "/manage"),
                ("events", "Events", "/manage/events"),
                ("campaigns", "Campaigns", "/manage/campaigns"),
                ("venues", "Venues", "/manage/venues"),
                ("employers", "Employers", "/manage/employers"),
                ("schools", "Schools", "/manage/schools"),
                ("reports", "Reports", "/manage/reports"),
            ];
            if policy::admin(actor).is_ok() {
                items.push(("users", "Users", "/manage/users"));
                items.push(("outbox", "Mail", "/manage/outbox"));
            }
            items
        }
        Area::Employer => vec![
            ("home", "Home", "/employer"),
            ("stands", "Stands", "/employer/stands"),
            ("interviews", "Interviews", "/employer/interviews"),
            ("schools", "Schools", "/employer/schools"),
            ("engagements", "Engagements", "/employer/engagements"),
            ("profile", "Profile", "/employer/profile"),
            ("users", "Users", "/employer/users"),
            ("calendar", "Calendar", "/employer/calendar"),
        ],
        Area::School => vec![("home", "Home", "/school"), ("encounters", "Encounters", "/school/encounters")],
    };
    items.into_iter().map(|(key, label, href)| json!({"label": label, "href": href, "active": key == section})).collect()
}

/// The signed-in viewer of a page in `area`. Signed out, the answer is a redirect to the
/// sign-in page and back; signed in as a role that does not use the area, a 404.
pub async fn require(req: &Request, svc: &Services, area: Area) -> Result<Viewer, Response> {
    let secure = svc.settings.public_url().starts_with("https://");
    let back = || {
        let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
        see_other(&format!("/sign-in?next={}", query_value(target)), None)
    };
    let Some(token) = token_of(req, secure) else { return Err(back()) };
    let (actor, user) = match auth::authenticate(svc, &token).await {
        Ok(found) => found,
        Err(ServiceError::Unauthorized) => return Err(back()),
        Err(err) => return Err(failed(&err)),
    };
    if policy::area(&actor, area).is_err() {
        return Err(not_found());
    }
    let csrf = csrf::token(req, secure);
    Ok(Viewer { actor, user, csrf, area })
}

//! Cross-site request forgery protection for the forms: the double-submit cookie. A page with a
//! form sets a random token in a `SameSite=Strict`, `HttpOnly` cookie and in a hidden field; a
//! submission is taken only when the two agree. Another site can make a browser post to us, but
//! it can neither read nor set our cookie, so it cannot know the value to put in the field.
//! Under https the cookie is `__Host-`-prefixed and `Secure`, so no subdomain can set it; and a
//! post whose `Origin` is another site is refused whatever it carries.

use poem::Request;
use sha2::{Digest, Sha256};

const COOKIE: &str = "carefair_csrf";
/// The name under https: browsers take a `__Host-` cookie only from a secure origin's own host.
const HOST_COOKIE: &str = "__Host-carefair_csrf";

fn cookie_name(secure: bool) -> &'static str {
    if secure { HOST_COOKIE } else { COOKIE }
}

/// The caller's token, and the `Set-Cookie` value when a new one was made.
pub struct CsrfToken {
    pub token: String,
    pub set_cookie: Option<String>,
}

/// The value of the cookie `wanted`, if the request carries it.
pub(super) fn cookie(req: &Request, wanted: &str) -> Option<String> {
    let header = req.headers().get(poem::http::header::COOKIE)?.to_str().ok()?;
    header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(name, _)| *name == wanted).map(|(_, value)| value.to_owned())
}

fn from_cookie(req: &Request, secure: bool) -> Option<String> {
    cookie(req, cookie_name(secure)).filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The token for a page with a form: the caller's, or a new one with its cookie.
pub fn token(req: &Request, secure: bool) -> CsrfToken {
    if let Some(token) = from_cookie(req, secure) {
        return CsrfToken { token, set_cookie: None };
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    let name = cookie_name(secure);
    let flag = if secure { "; Secure" } else { "" };
    let set_cookie = Some(format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict{flag}"));
    CsrfToken { token, set_cookie }
}

/// Whether a form post may be taken: its `Origin`, when sent, is `public_url`'s, and the
/// submitted field matches the cookie (compared by digest, so the time taken says nothing about
/// how much of it matched).
pub fn verify(req: &Request, submitted: &str, public_url: &str) -> bool {
    // Our own origin is `public_url`'s, or the host the request was sent to (a server reached
    // at another address than its public one, as in tests).
    let host = req.headers().get(poem::http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_ok = match req.headers().get(poem::http::header::ORIGIN).and_then(|v| v.to_str().ok()) {
        // Browsers send `null` for a page served with `Referrer-Policy: no-referrer`, as ours are;
        // the token still decides.
        Some("null") => true,
        Some(origin) => {
            let origin = origin.trim_end_matches('/');
            let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
            origin.eq_ignore_ascii_case(origin_of(public_url)) || (!host.is_empty() && origin_host.eq_ignore_ascii_case(host))
        }
        None => true,
    };
    if !origin_ok {
        return false;
    }
    match from_cookie(req, public_url.starts_with("https://")) {
        Some(cookie) => Sha256::digest(cookie.as_bytes()) == Sha256::digest(submitted.as_bytes()),
        None => false,
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..].find('/').map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_origin_is_scheme_host_and_port() {
        assert_eq!(super::origin_of("https://events.example.org/path"), "https://events.example.org");
        assert_eq!(super::origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}

//! Cross-site request forgery protection for the forms: the double-submit cookie. A page with a
//! form sets a random token in a `SameSite=Strict`, `HttpOnly` cookie and in a hidden field; a
//! submission is taken only when the two agree. Another site can make a browser post to us, but
//! it can neither read nor set our cookie, so it cannot know the value to put in the field.

use poem::Request;
use sha2::{Digest, Sha256};

const COOKIE: &str = "carefair_csrf";

/// The caller's token, and the `Set-Cookie` value when a new one was made.
pub struct CsrfToken {
    pub token: String,
    pub set_cookie: Option<String>,
}

fn from_cookie(req: &Request) -> Option<String> {
    let header = req.headers().get(poem::http::header::COOKIE)?.to_str().ok()?;
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The token for a page with a form: the caller's, or a new one with its cookie.
pub fn token(req: &Request, secure: bool) -> CsrfToken {
    if let Some(token) = from_cookie(req) {
        return CsrfToken { token, set_cookie: None };
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    let secure = if secure { "; Secure" } else { "" };
    let set_cookie = Some(format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"));
    CsrfToken { token, set_cookie }
}

/// Whether a submitted field matches the cookie; compared by digest, so the time taken says
/// nothing about how much of it matched.
pub fn verify(req: &Request, submitted: &str) -> bool {
    match from_cookie(req) {
        Some(cookie) => Sha256::digest(cookie.as_bytes()) == Sha256::digest(submitted.as_bytes()),
        None => false,
    }
}

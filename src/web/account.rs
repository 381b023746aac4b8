//! Signing in and out, and setting a password from a mailed link (SPEC §5a "Signing in").
//! Each handler reads the form and calls the same use case the API does.

use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::Deserialize;
use serde_json::json;

use super::csrf;
use super::pages::{client, errors_by_field, expired_form, failed, page, secure};
use super::session::{self, end_cookie, safe_next, see_other, start_cookie};
use crate::service::accounts;
use crate::service::auth::{self, Password};
use crate::service::policy::{self, Area};
use crate::service::{ServiceError, Services};

#[derive(Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    signed_out: Option<String>,
    password_set: Option<String>,
}

/// `GET /sign-in`: the form; someone already signed in goes home.
#[handler]
pub async fn sign_in_form(req: &Request, svc: Data<&Services>, Query(q): Query<SignInQuery>) -> Response {
    if let Some(token) = session::token_of(req, secure(&svc))
        && let Ok((actor, _)) = auth::authenticate(&svc, &token).await
    {
        return see_other(policy::home(&actor).home(), None);
    }
    let flash = if q.signed_out.is_some() {
        Some("You have signed out.")
    } else if q.password_set.is_some() {
        Some("Your password is set. Sign in with it now.")
    } else {
        None
    };
    sign_in_page(req, &svc, StatusCode::OK, json!({"next": safe_next(q.next.as_deref()), "flash": flash}))
}

fn sign_in_page(req: &Request, svc: &Services, status: StatusCode, mut context: serde_json::Value) -> Response {
    let csrf = csrf::token(req, secure(svc));
    context["csrf"] = json!(csrf.token);
    if context.get("values").is_none() {
        context["values"] = json!({});
        context["errors"] = json!({});
    }
    page(status, "sign_in.html", context, csrf.set_cookie)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /sign-in`: the API's login (its throttling included); the session cookie on success.
#[handler]
pub async fn sign_in(req: &Request, svc: Data<&Services>, Form(form): Form<SignInForm>) -> Response {
    if !csrf::verify(req, &form.csrf, svc.settings.public_url()) {
        return expired_form();
    }
    let next = safe_next(Some(form.next.as_str()).filter(|n| !n.is_empty()));
    let again = |status: StatusCode, problem: &str| {
        // What was typed is kept, except the password.
        let context = json!({
            "next": next, "values": {"email": form.email}, "errors": {"email": problem},
            "summary": [{"field": "email", "label": "", "message": problem}],
        });
        sign_in_page(req, &svc, status, context)
    };
    match auth::login(&svc, &form.email, &form.password, client(req)).await {
        Ok(login) => {
            let actor = match auth::actor_of(&login.user) {
                Ok(actor) => actor,
                Err(err) => return failed(&err),
            };
            let home = policy::home(&actor);
            // Back to the page that sent them here, if it is in their area; else home.
            let target = next.filter(|n| Area::of_path(n).is_none_or(|area| area == home)).unwrap_or(home.home());
            let ttl = (login.expires_at - svc.clock.now()).num_seconds().max(0);
            see_other(target, Some(start_cookie(&login.token, secure(&svc), ttl)))
        }
        Err(ServiceError::Unauthorized) => {
            again(StatusCode::UNAUTHORIZED, "Enter the email address and password of your account: those did not match one")
        }
        Err(ServiceError::TooManyRequests { retry_after_secs }) => {
            let minutes = retry_after_secs.div_ceil(60);
            let mut resp = again(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many tries to sign in. Wait {minutes} minute(s) and try again, or set a new password"),
            );
            if let Ok(value) = poem::http::HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert(poem::http::header::RETRY_AFTER, value);
            }
            resp
        }
        Err(err) => failed(&err),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /sign-out`: ends the session.
#[handler]
pub async fn sign_out(req: &Request, svc: Data<&Services>, Form(form): Form<CsrfForm>) -> Response {
    if !csrf::verify(req, &form.csrf, svc.settings.public_url()) {
        return expired_form();
    }
    let secure = secure(&svc);
    if let Some(token) = session::token_of(req, secure)
        && let Err(err) = auth::logout(&svc, &token).await
    {
        return failed(&err);
    }
    see_other("/sign-in?signed_out=1", Some(end_cookie(secure)))
}

/// `GET /password/forgot`
#[handler]
pub async fn forgot_form(req: &Request, svc: Data<&Services>) -> Response {
    let csrf = csrf::token(req, secure(&svc));
    page(StatusCode::OK, "password_forgot.html", json!({"csrf": csrf.token, "values": {}, "errors": {}}), csrf.set_cookie)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// `POST /password/forgot`: the same answer whether or not the address has an account.
#[handler]
pub async fn forgot(req: &Request, svc: Data<&Services>, Form(form): Form<ForgotForm>) -> Response {
    if !csrf::verify(req, &form.csrf, svc.settings.public_url()) {
        return expired_form();
    }
    match accounts::request_reset(&svc, &form.email, client(req)).await {
        Ok(()) => page(StatusCode::OK, "password_forgot.html", json!({"sent": true, "email": form.email.trim()}), None),
        Err(ServiceError::Invalid(errors)) => {
            let csrf = csrf::token(req, secure(&svc));
            let errors = errors_by_field(&errors);
            let summary: Vec<_> = errors.iter().map(|(f, m)| json!({"field": f, "label": "Email address", "message": m})).collect();
            let context = json!({"csrf": csrf.token, "values": {"email": form.email}, "errors": errors, "summary": summary});
            page(StatusCode::UNPROCESSABLE_ENTITY, "password_forgot.html", context, csrf.set_cookie)
        }
        Err(err) => failed(&err),
    }
}

/// `GET /password/reset/{token}`: the form to choose a password, while the link works.
#[handler]
pub async fn reset_form(req: &Request, svc: Data<&Services>, Path(token): Path<String>) -> Response {
    reset_page(req, &svc, &token, StatusCode::OK, json!({})).await
}

async fn reset_page(req: &Request, svc: &Services, token: &str, status: StatusCode, errors: serde_json::Value) -> Response {
    let link = match accounts::link(svc, token).await {
        Ok(link) => link,
        Err(ServiceError::NotFound) => {
            let context = json!({"expired": true});
            return page(StatusCode::NOT_FOUND, "password_reset.html", context, None);
        }
        Err(err) => return failed(&err),
    };
    let csrf = csrf::token(req, secure(svc));
    let summary: Vec<_> =
        errors.as_object().into_iter().flatten().map(|(f, m)| json!({"field": f, "label": "New password", "message": m})).collect();
    let context = json!({
        "csrf": csrf.token, "token": token, "invitation": link.purpose == accounts::Purpose::Invitation,
        "name": link.name, "email": link.email, "errors": errors, "summary": summary, "values": {},
    });
    page(status, "password_reset.html", context, csrf.set_cookie)
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /password/reset/{token}`: sets the password and ends every session of that user.
#[handler]
pub async fn reset(req: &Request, svc: Data<&Services>, Path(token): Path<String>, Form(form): Form<ResetForm>) -> Response {
    if !csrf::verify(req, &form.csrf, svc.settings.public_url()) {
        return expired_form();
    }
    let password = match Password::parse(&form.password) {
        Ok(password) => password,
        Err(message) => return reset_page(req, &svc, &token, StatusCode::UNPROCESSABLE_ENTITY, json!({"password": message})).await,
    };
    if form.password != form.confirm {
        let errors = json!({"confirm": "must be the same password as the first one"});
        return reset_page(req, &svc, &token, StatusCode::UNPROCESSABLE_ENTITY, errors).await;
    }
    match accounts::set_password(&svc, &token, &password).await {
        Ok(_) => see_other("/sign-in?password_set=1", Some(end_cookie(secure(&svc)))),
        Err(ServiceError::NotFound) => page(StatusCode::NOT_FOUND, "password_reset.html", json!({"expired": true}), None),
        Err(err) => failed(&err),
    }
}

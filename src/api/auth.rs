//! `POST /auth/login`, `POST /auth/logout`, `GET /me`.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::common::ApiTags;
use super::json::JsonBody;
use super::problem::can::*;
use super::problem::{ApiError, Refused};
use super::security::BearerAuth;
use super::users::UserView;
use crate::service::auth::Password;
use crate::service::{Services, accounts, auth};

pub struct AuthApi {
    pub svc: Services,
}

/// Credentials.
#[derive(Object, serde::Deserialize)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A bearer token for `Authorization: Bearer TOKEN`.
#[derive(Object)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserView,
}

#[derive(ApiResponse)]
pub enum LoginAnswer {
    /// Signed in.
    #[oai(status = 200)]
    Ok(Json<LoginResponse>),
}

#[derive(ApiResponse)]
pub enum LogoutAnswer {
    /// The token no longer works.
    #[oai(status = 204)]
    LoggedOut,
}

/// Whose password to reset.
#[derive(Object, serde::Deserialize)]
pub struct ResetRequest {
    pub email: String,
}

/// The new password.
#[derive(Object, serde::Deserialize)]
pub struct NewPassword {
    /// At least 8 characters.
    pub password: String,
}

#[derive(ApiResponse)]
pub enum ResetAnswer {
    /// Taken: if the address belongs to a user, a link is on its way.
    #[oai(status = 202)]
    Accepted,
}

#[derive(ApiResponse)]
pub enum PasswordSetAnswer {
    /// The password is set; every session and token of the user has ended.
    #[oai(status = 204)]
    Set,
}

#[derive(ApiResponse)]
pub enum MeAnswer {
    /// The signed-in user.
    #[oai(status = 200)]
    Ok(Json<UserView>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Sign in with email and password. Unknown email and wrong password get the same 401; after
    /// five failures for one email within 15 minutes that email gets 429 for 15 minutes.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        req: &Request,
        body: JsonBody<LoginRequest>,
    ) -> Result<LoginAnswer, Refused<{ INPUT | UNAUTHORIZED | TOO_MANY }>> {
        let address = req.data::<crate::middleware::ClientAddress>().and_then(|c| c.0);
        let login = auth::login(&self.svc, &body.0.email, &body.0.password, address).await?;
        Ok(LoginAnswer::Ok(Json(LoginResponse { token: login.token, expires_at: login.expires_at, user: login.user.into() })))
    }

    /// Revoke the token this request carries.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, auth: BearerAuth) -> Result<LogoutAnswer, Refused<{ UNAUTHORIZED }>> {
        auth::logout(&self.svc, &auth.0.token).await?;
        Ok(LogoutAnswer::LoggedOut)
    }

    /// The signed-in user.
    #[oai(path = "/me", method = "get", operation_id = "me")]
    async fn me(&self, auth: BearerAuth) -> Result<MeAnswer, Refused<{ UNAUTHORIZED }>> {
        Ok(MeAnswer::Ok(Json(auth.0.user.into())))
    }

    /// Ask for a password reset. Always 202, whether or not the address has an account; a user's
    /// address is mailed a single-use link `{public_url}/password/reset/{token}`, valid one hour.
    #[oai(path = "/auth/password-reset", method = "post", operation_id = "request_password_reset")]
    async fn request_reset(&self, req: &Request, body: JsonBody<ResetRequest>) -> Result<ResetAnswer, Refused<{ INPUT | TOO_MANY }>> {
        let client = req.data::<crate::middleware::ClientAddress>().and_then(|c| c.0);
        accounts::request_reset(&self.svc, &body.0.email, client).await?;
        Ok(ResetAnswer::Accepted)
    }

    /// Set the password with a reset or invitation link's token. A used or expired link is 404.
    #[oai(path = "/auth/password-reset/:token", method = "post", operation_id = "reset_password")]
    async fn reset(&self, token: Path<String>, body: JsonBody<NewPassword>) -> Result<PasswordSetAnswer, Refused<{ INPUT | NOT_FOUND }>> {
        let password = Password::parse(&body.0.password).map_err(|m| ApiError::invalid_field("password", &m))?;
        accounts::set_password(&self.svc, &token.0, &password).await?;
        Ok(PasswordSetAnswer::Set)
    }
}

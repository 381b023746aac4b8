//! `POST /users`, `GET /users` (admins).

use chrono::{DateTime, Utc};
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::common::{ApiTags, list_of, page};
use super::json::JsonBody;
use super::problem::Refused;
use super::problem::can::*;
use super::security::BearerAuth;
use crate::domain::{EmailAddress, Role, Text, Validation, ValidationErrors};
use crate::service::Services;
use crate::service::accounts::{self, NewInvitation};
use crate::service::auth::{Password, User};
use crate::service::users::{self, NewUser};

pub struct UsersApi {
    pub svc: Services,
}

/// A user, without anything secret.
#[derive(Object)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// `admin`, `organiser`, `employer` or `school`.
    pub role: String,
    pub employer_id: Option<Uuid>,
    pub school_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role.as_str().to_owned(),
            employer_id: u.employer_id,
            school_id: u.school_id,
            created_at: u.created_at,
        }
    }
}

list_of!(UserList, UserView);

/// A new user. Employer users name their employer, school users their school.
#[derive(Object, serde::Deserialize)]
pub struct UserCreate {
    pub email: String,
    pub name: String,
    /// `admin`, `organiser`, `employer` or `school`.
    pub role: String,
    /// At least 8 characters.
    pub password: String,
    pub employer_id: Option<Uuid>,
    pub school_id: Option<Uuid>,
}

impl TryFrom<UserCreate> for NewUser {
    type Error = ValidationErrors;

    fn try_from(input: UserCreate) -> Result<Self, Self::Error> {
        let mut v = Validation::new();
        let email = v.check("email", EmailAddress::parse(&input.email));
        let name = v.check("name", Text::name(&input.name));
        let role = v.check("role", Role::parse(&input.role));
        let password = v.check("password", Password::parse(&input.password));
        let (Some(email), Some(name), Some(role), Some(password)) = (email, name, role, password) else {
            return Err(v.into_errors());
        };
        Ok(NewUser { email, name: name.into_string(), role, employer_id: input.employer_id, school_id: input.school_id, password })
    }
}

#[derive(ApiResponse)]
pub enum CreateUserAnswer {
    /// Created.
    #[oai(status = 201)]
    Created(Json<UserView>),
}

/// Someone to invite: they get a mail with a link to choose their password (valid 7 days).
#[derive(Object, serde::Deserialize)]
pub struct InvitationCreate {
    pub email: String,
    pub name: String,
    /// `admin`, `organiser`, `employer` or `school`; organisers may invite `employer` and `school` users.
    pub role: String,
    pub employer_id: Option<Uuid>,
    pub school_id: Option<Uuid>,
}

#[derive(ApiResponse)]
pub enum ListUsersAnswer {
    /// One page of users.
    #[oai(status = 200)]
    Ok(Json<UserList>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Users")]
impl UsersApi {
    /// Create a user (admins only).
    #[oai(path = "/users", method = "post", operation_id = "create_user")]
    async fn create(
        &self,
        auth: BearerAuth,
        body: JsonBody<UserCreate>,
    ) -> Result<CreateUserAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let user = users::create(&self.svc, &auth.0.actor, body.0.try_into()?).await?;
        Ok(CreateUserAnswer::Created(Json(user.into())))
    }

    /// List users (admins only).
    #[oai(path = "/users", method = "get", operation_id = "list_users")]
    async fn list(
        &self,
        auth: BearerAuth,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> Result<ListUsersAnswer, Refused<{ SIGNED_IN | INPUT }>> {
        let users = users::list(&self.svc, &auth.0.actor, page(limit.0, offset.0)?).await?;
        Ok(ListUsersAnswer::Ok(Json(users.into())))
    }

    /// Invite a user by email (admins: any role; organisers: employer and school users). The
    /// user is created without a password and mailed a single-use link to choose one.
    #[oai(path = "/users/invitations", method = "post", operation_id = "invite_user")]
    async fn invite(
        &self,
        auth: BearerAuth,
        body: JsonBody<InvitationCreate>,
    ) -> Result<CreateUserAnswer, Refused<{ SIGNED_IN | INPUT | CONFLICT }>> {
        let b = body.0;
        let new = NewInvitation::parse(&b.email, &b.name, &b.role, b.employer_id, b.school_id)?;
        Ok(CreateUserAnswer::Created(Json(accounts::invite(&self.svc, &auth.0.actor, new).await?.into())))
    }
}

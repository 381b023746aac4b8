//! Passwords set by mail: a reset a user asks for (valid one hour) and an invitation an admin or
//! organiser sends (valid seven days). Each is a single-use link whose token is stored hashed;
//! setting the password ends every session and token of that user.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::auth::{Password, User, hash_password, hash_token, new_token};
use super::outbox::{self, MessageKind};
use super::users::{self, Account};
use super::{ServiceError, ServiceResult, Services, admit_public_write};
use crate::domain::{Actor, EmailAddress, Role, Text, Validation, ValidationErrors, new_id};
use crate::store::entity::{auth_token, password_link, user};

/// How long a reset link works.
pub const RESET_HOURS: i64 = 1;
/// How long an invitation's link works.
pub const INVITATION_DAYS: i64 = 7;

/// Why a link was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Reset,
    Invitation,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Reset => "reset",
            Purpose::Invitation => "invitation",
        }
    }
}

/// An unused, unexpired link, as its page shows it.
#[derive(Debug, Clone)]
pub struct PasswordLink {
    pub purpose: Purpose,
    pub name: String,
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

/// The address of a link's page.
pub fn link_url(public_url: &str, token: &str) -> String {
    format!("{public_url}/password/reset/{token}")
}

/// The sign-in page, where mail that asks people to sign in points.
pub fn sign_in_url(public_url: &str) -> String {
    format!("{public_url}/sign-in")
}

async fn queue_link(
    conn: &impl sea_orm::ConnectionTrait,
    svc: &Services,
    user: &User,
    purpose: Purpose,
    now: DateTime<Utc>,
    invited_by: Option<&str>,
) -> ServiceResult<()> {
    let (token, token_hash) = new_token();
    let expires_at = now + if purpose == Purpose::Reset { Duration::hours(RESET_HOURS) } else { Duration::days(INVITATION_DAYS) };
    password_link::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user.id),
        token_hash: Set(token_hash),
        purpose: Set(purpose.as_str().to_owned()),
        expires_at: Set(expires_at),
        used_at: Set(None),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    let public_url = svc.settings.public_url();
    let context = json!({
        "person": {"name": user.name},
        "link_url": link_url(public_url, &token),
        "sign_in_url": sign_in_url(public_url),
        "email": user.email,
        "invited_by": invited_by,
        "valid_for": if purpose == Purpose::Reset { "one hour".to_owned() } else { format!("{INVITATION_DAYS} days") },
    });
    let kind = if purpose == Purpose::Reset { MessageKind::PasswordReset } else { MessageKind::AccountInvitation };
    outbox::queue(conn, vec![outbox::notice(public_url, now, &user.email, kind, context)]).await
}

/// Someone asks for a reset. The answer is the same whether or not the address has an account
/// (only a mail to an active user's address is sent); counted as a public write.
#[tracing::instrument(skip_all)]
pub async fn request_reset(svc: &Services, email: &str, client: Option<std::net::IpAddr>) -> ServiceResult<()> {
    admit_public_write(svc, client)?;
    let email = EmailAddress::parse(email).map_err(|m| ServiceError::invalid("email", m))?;
    let Some(found) = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(&svc.db.read).await? else {
        return Ok(());
    };
    if !found.active {
        return Ok(());
    }
    let txn = svc.db.write.begin().await?;
    queue_link(&txn, svc, &found.into(), Purpose::Reset, svc.clock.now(), None).await?;
    txn.commit().await?;
    svc.mail_wake.notify_one();
    Ok(())
}

/// What a new user is invited as.
pub struct NewInvitation {
    pub email: EmailAddress,
    pub name: String,
    pub role: Role,
    pub employer_id: Option<Uuid>,
    pub school_id: Option<Uuid>,
}

impl NewInvitation {
    /// Checks the fields as any face received them.
    pub fn parse(
        email: &str,
        name: &str,
        role: &str,
        employer_id: Option<Uuid>,
        school_id: Option<Uuid>,
    ) -> Result<Self, ValidationErrors> {
        let mut v = Validation::new();
        let email = v.check("email", EmailAddress::parse(email));
        let name = v.check("name", Text::person_name(name));
        let role = v.check("role", Role::parse(role));
        let (Some(email), Some(name), Some(role)) = (email, name, role) else {
            return Err(v.into_errors());
        };
        Ok(NewInvitation { email, name: name.into_string(), role, employer_id, school_id })
    }
}

/// Creates a user without a password and mails them a link to set one. Admins invite any role;
/// organisers invite employer and school users.
#[tracing::instrument(skip_all, fields(role = new.role.as_str()))]
pub async fn invite(svc: &Services, actor: &Actor, new: NewInvitation) -> ServiceResult<User> {
    super::policy::invite(actor, new.role, new.employer_id)?;
    let account = Account { email: new.email, name: new.name, role: new.role, employer_id: new.employer_id, school_id: new.school_id };
    users::check(svc, &account).await?;
    let now = svc.clock.now();
    let inviter = user::Entity::find_by_id(actor.user_id).one(&svc.db.read).await?.map(|u| u.name);
    let txn = svc.db.write.begin().await?;
    let invited = users::insert(&txn, account, String::new(), now).await?;
    queue_link(&txn, svc, &invited, Purpose::Invitation, now, inviter.as_deref()).await?;
    txn.commit().await?;
    svc.mail_wake.notify_one();
    Ok(invited)
}

/// Invites a colleague of the caller's own employer: an `employer` user of it, by the same
/// set-password mail.
pub async fn invite_colleague(svc: &Services, actor: &Actor, email: &str, name: &str) -> ServiceResult<User> {
    let Some(employer_id) = actor.employer_id.filter(|_| actor.role == Role::Employer) else { return Err(ServiceError::Forbidden) };
    let new = NewInvitation::parse(email, name, Role::Employer.as_str(), Some(employer_id), None).map_err(ServiceError::Invalid)?;
    invite(svc, actor, new).await
}

async fn find_link(conn: &impl sea_orm::ConnectionTrait, token: &str, now: DateTime<Utc>) -> ServiceResult<password_link::Model> {
    password_link::Entity::find()
        .filter(password_link::Column::TokenHash.eq(hash_token(token)))
        .filter(password_link::Column::UsedAt.is_null())
        .filter(password_link::Column::ExpiresAt.gt(now))
        .one(conn)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The link behind `token`, if it is unused and unexpired.
pub async fn link(svc: &Services, token: &str) -> ServiceResult<PasswordLink> {
    let found = find_link(&svc.db.read, token, svc.clock.now()).await?;
    let owner = user::Entity::find_by_id(found.user_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    let purpose = if found.purpose == Purpose::Invitation.as_str() { Purpose::Invitation } else { Purpose::Reset };
    Ok(PasswordLink { purpose, name: owner.name, email: owner.email, expires_at: found.expires_at })
}

/// Sets the password of the link's user, uses the link up (and every other link of theirs),
/// and ends every session and token they had. A used or expired link is not found.
#[tracing::instrument(skip_all)]
pub async fn set_password(svc: &Services, token: &str, password: &Password) -> ServiceResult<User> {
    let password_hash = hash_password(password).await?;
    let now = svc.clock.now();
    let txn = svc.db.write.begin().await?;
    let found = find_link(&txn, token, now).await?;
    // Used once: a second request with the same link finds nothing to update.
    let used = password_link::Entity::update_many()
        .col_expr(password_link::Column::UsedAt, sea_orm::sea_query::Expr::value(now))
        .filter(password_link::Column::UserId.eq(found.user_id))
        .filter(password_link::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if used.rows_affected == 0 {
        return Err(ServiceError::NotFound);
    }
    let owner = user::Entity::find_by_id(found.user_id).one(&txn).await?.ok_or(ServiceError::NotFound)?;
    let mut model: user::ActiveModel = owner.into();
    model.password_hash = Set(password_hash);
    let updated = model.update(&txn).await?;
    auth_token::Entity::delete_many().filter(auth_token::Column::UserId.eq(found.user_id)).exec(&txn).await?;
    txn.commit().await?;
    svc.login_limiter.succeeded(&updated.email);
    Ok(updated.into())
}

//! Passwords, logins and bearer tokens.

use std::net::IpAddr;
use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{ServiceError, ServiceResult, Services, limiter};
use crate::domain::{Actor, EmailAddress, Role, new_id};
use crate::store::entity::{auth_token, user};

/// A user as the use cases hand it out: never with their password's hash.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub employer_id: Option<Uuid>,
    pub school_id: Option<Uuid>,
    /// A deactivated user cannot sign in.
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<user::Model> for User {
    fn from(u: user::Model) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            employer_id: u.employer_id,
            school_id: u.school_id,
            active: u.active,
            created_at: u.created_at,
        }
    }
}

/// A password as typed: long enough to resist guessing, short enough not to be a hashing DoS.
pub struct Password(SecretString);

/// The longest password, in characters.
pub const PASSWORD_MAX: usize = 256;
/// The same limit in bytes (four to a character at most), checked before hashing a guess.
const PASSWORD_MAX_BYTES: usize = PASSWORD_MAX * 4;

impl Password {
    pub fn parse(input: &str) -> Result<Self, String> {
        let len = input.chars().count();
        if len < 8 {
            return Err("must be at least 8 characters".into());
        }
        if len > PASSWORD_MAX {
            return Err(format!("must be at most {PASSWORD_MAX} characters"));
        }
        Ok(Self(SecretString::from(input.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Hashes with Argon2id and a fresh salt, off the async runtime (it takes tens of milliseconds).
pub async fn hash_password(password: &Password) -> ServiceResult<String> {
    let password = password.expose().to_owned();
    let hash = tokio::task::spawn_blocking(move || Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    Ok(hash)
}

async fn verify_password(password: String, hash: Option<String>) -> ServiceResult<bool> {
    let ok = tokio::task::spawn_blocking(move || {
        let hash = hash.as_deref().unwrap_or(DUMMY_HASH.as_str());
        Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
    })
    .await
    .map_err(anyhow::Error::from)?;
    Ok(ok)
}

/// Verified against when the email is unknown, so that both failures cost the same time.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| Argon2::default().hash_password(b"no such user, but the same work").map(|h| h.to_string()).unwrap_or_default());

/// A new opaque token (256 random bits, hex) and the hash under which it is stored.
pub fn new_token() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let token = hex::encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

/// Tokens are stored as their SHA-256: a leaked table grants nothing. They are random, so no
/// salt or slow hash is needed.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub struct Login {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// Signs a user in. Unknown email and wrong password answer the same.
#[tracing::instrument(skip_all)]
pub async fn login(svc: &Services, email: &str, password: &str, address: Option<IpAddr>) -> ServiceResult<Login> {
    let now = svc.clock.now();
    let key = email.trim().to_ascii_lowercase();
    // Counted as a failure before the check, so parallel guesses meet the lock.
    svc.login_limiter.admit(&key, address, now).map_err(|retry_after_secs| ServiceError::TooManyRequests { retry_after_secs })?;
    if key.len() > limiter::EMAIL_MAX || password.len() > PASSWORD_MAX_BYTES {
        // No account has such an email or password: nothing to check.
        return Err(ServiceError::Unauthorized);
    }

    let found = match EmailAddress::parse(email) {
        Ok(email) => user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(&svc.db.read).await?,
        Err(_) => None,
    };
    let hash = found.as_ref().map(|u| u.password_hash.clone());
    let password_ok = {
        let _permit = svc.login_limiter.password_checks.acquire().await.map_err(anyhow::Error::from)?;
        verify_password(password.to_owned(), hash).await?
    };
    let Some(user) = found.filter(|u| password_ok && u.active) else {
        return Err(ServiceError::Unauthorized);
    };
    svc.login_limiter.succeeded(&key);

    let (token, token_hash) = new_token();
    let expires_at = now + Duration::hours(i64::from(svc.settings.auth.token_ttl_hours));
    auth_token::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user.id),
        token_hash: Set(token_hash),
        expires_at: Set(expires_at),
        created_at: Set(now),
    }
    .insert(&svc.db.write)
    .await?;
    Ok(Login { token, expires_at, user: user.into() })
}

/// The user a bearer token belongs to, if the token is known and unexpired.
pub async fn authenticate(svc: &Services, token: &str) -> ServiceResult<(Actor, User)> {
    let now = svc.clock.now();
    let found = auth_token::Entity::find()
        .filter(auth_token::Column::TokenHash.eq(hash_token(token)))
        .filter(auth_token::Column::ExpiresAt.gt(now))
        .one(&svc.db.read)
        .await?;
    let Some(found) = found else { return Err(ServiceError::Unauthorized) };
    let user = user::Entity::find_by_id(found.user_id).one(&svc.db.read).await?.ok_or(ServiceError::Unauthorized)?;
    let user = User::from(user);
    if !user.active {
        return Err(ServiceError::Unauthorized);
    }
    Ok((actor_of(&user)?, user))
}

pub fn actor_of(user: &User) -> ServiceResult<Actor> {
    Ok(Actor { user_id: user.id, role: user.role, employer_id: user.employer_id, school_id: user.school_id })
}

/// Revokes one token. Revoking a token twice is not an error.
pub async fn logout(svc: &Services, token: &str) -> ServiceResult<()> {
    auth_token::Entity::delete_many().filter(auth_token::Column::TokenHash.eq(hash_token(token))).exec(&svc.db.write).await?;
    Ok(())
}

/// Creates the admin named in the settings when there is no admin yet.
pub async fn bootstrap_admin(svc: &Services) -> ServiceResult<()> {
    let (Some(email), Some(password)) = (&svc.settings.auth.bootstrap_admin_email, &svc.settings.auth.bootstrap_admin_password) else {
        return Ok(());
    };
    let any_admin = user::Entity::find().filter(user::Column::Role.eq(Role::Admin.as_str())).one(&svc.db.read).await?;
    if any_admin.is_some() {
        return Ok(());
    }
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("auth.bootstrap_admin_email {e}"))?;
    let password = Password::parse(password.expose_secret()).map_err(|e| anyhow::anyhow!("auth.bootstrap_admin_password {e}"))?;
    let new =
        super::users::NewUser { email, name: "Administrator".into(), role: Role::Admin, employer_id: None, school_id: None, password };
    super::users::create(svc, &Actor::system(), new).await?;
    tracing::info!("created the bootstrap admin");
    Ok(())
}

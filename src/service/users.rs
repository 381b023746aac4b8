//! Accounts for organisers, admins, employers' staff and school contacts.

use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use super::auth::{Password, User, hash_password};
use super::{Page, PageRequest, ServiceError, ServiceResult, Services};
use crate::domain::{Actor, EmailAddress, Role, new_id};
use crate::store::entity::user;
use crate::store::is_unique_violation;

pub struct NewUser {
    pub email: EmailAddress,
    pub name: String,
    pub role: Role,
    pub employer_id: Option<Uuid>,
    pub school_id: Option<Uuid>,
    pub password: Password,
}

/// Creates a user; an email already in use is a conflict.
#[tracing::instrument(skip_all, fields(role = new.role.as_str()))]
pub async fn create(svc: &Services, actor: &Actor, new: NewUser) -> ServiceResult<User> {
    super::policy::admin(actor)?;
    match (new.role, new.employer_id, new.school_id) {
        (Role::Employer, None, _) => return Err(ServiceError::invalid("employer_id", "is required for an employer user")),
        (Role::School, _, None) => return Err(ServiceError::invalid("school_id", "is required for a school user")),
        (Role::Admin | Role::Organiser | Role::School, Some(_), _) => {
            return Err(ServiceError::invalid("employer_id", "is only for employer users"));
        }
        (Role::Admin | Role::Organiser | Role::Employer, _, Some(_)) => {
            return Err(ServiceError::invalid("school_id", "is only for school users"));
        }
        _ => {}
    }
    // A user scoped to an organisation that does not exist would see nothing and could be tied
    // later to whatever takes that id.
    if let Some(id) = new.employer_id
        && crate::store::entity::employer::Entity::find_by_id(id).one(&svc.db.read).await?.is_none()
    {
        return Err(ServiceError::invalid("employer_id", "is not an employer we hold"));
    }
    if let Some(id) = new.school_id
        && crate::store::entity::school::Entity::find_by_id(id).one(&svc.db.read).await?.is_none()
    {
        return Err(ServiceError::invalid("school_id", "is not a school we hold"));
    }
    let password_hash = hash_password(&new.password).await?;
    let model = user::ActiveModel {
        id: Set(new_id()),
        email: Set(new.email.as_str().to_owned()),
        name: Set(new.name),
        role: Set(new.role),
        employer_id: Set(new.employer_id),
        school_id: Set(new.school_id),
        password_hash: Set(password_hash),
        created_at: Set(svc.clock.now()),
    };
    match model.insert(&svc.db.write).await {
        Ok(user) => Ok(user.into()),
        Err(err) if is_unique_violation(&err) => Err(ServiceError::AlreadyExists("a user with this email")),
        Err(err) => Err(err.into()),
    }
}

pub async fn list(svc: &Services, actor: &Actor, page: PageRequest) -> ServiceResult<Page<User>> {
    super::policy::admin(actor)?;
    let total = user::Entity::find().count(&svc.db.read).await?;
    let rows = user::Entity::find().order_by_asc(user::Column::Email).limit(page.limit).offset(page.offset).all(&svc.db.read).await?;
    let items = rows.into_iter().map(User::from).collect();
    Ok(Page { items, total, limit: page.limit, offset: page.offset })
}

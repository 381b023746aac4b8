//! Accounts for organisers, admins, employers' staff and school contacts.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
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
    let account = Account { email: new.email, name: new.name, role: new.role, employer_id: new.employer_id, school_id: new.school_id };
    check(svc, &account).await?;
    let password_hash = hash_password(&new.password).await?;
    insert(&svc.db.write, account, password_hash, svc.clock.now()).await
}

/// Who a new user is, before they have a password.
pub struct Account {
    pub email: EmailAddress,
    pub name: String,
    pub role: Role,
    pub employer_id: Option<Uuid>,
    pub school_id: Option<Uuid>,
}

/// The rules of a new account: an employer user names an employer we hold, a school user a
/// school, and no one else names either.
pub(crate) async fn check(svc: &Services, account: &Account) -> ServiceResult<()> {
    match (account.role, account.employer_id, account.school_id) {
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
    if let Some(id) = account.employer_id
        && crate::store::entity::employer::Entity::find_by_id(id).one(&svc.db.read).await?.is_none()
    {
        return Err(ServiceError::invalid("employer_id", "is not an employer we hold"));
    }
    if let Some(id) = account.school_id
        && crate::store::entity::school::Entity::find_by_id(id).one(&svc.db.read).await?.is_none()
    {
        return Err(ServiceError::invalid("school_id", "is not a school we hold"));
    }
    Ok(())
}

/// Stores a checked account. An empty `password_hash` is an account that cannot sign in until
/// its password is set by a link.
pub(crate) async fn insert(
    conn: &impl sea_orm::ConnectionTrait,
    account: Account,
    password_hash: String,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<User> {
    let model = user::ActiveModel {
        id: Set(new_id()),
        email: Set(account.email.as_str().to_owned()),
        name: Set(account.name),
        role: Set(account.role),
        employer_id: Set(account.employer_id),
        school_id: Set(account.school_id),
        password_hash: Set(password_hash),
        active: Set(true),
        created_at: Set(now),
    };
    match model.insert(conn).await {
        Ok(user) => Ok(user.into()),
        Err(err) if is_unique_violation(&err) => Err(ServiceError::AlreadyExists("a user with this email")),
        Err(err) => Err(err.into()),
    }
}

/// An admin changes a user's role. Scoped roles keep their organisation; moving a user into or
/// out of one is done by inviting them again.
pub async fn change_role(svc: &Services, actor: &Actor, id: Uuid, role: Role) -> ServiceResult<User> {
    super::policy::admin(actor)?;
    let current = user::Entity::find_by_id(id).one(&svc.db.write).await?.ok_or(ServiceError::NotFound)?;
    if current.role != role && super::policy::swapped_staff_role(current.role) != Some(role) {
        return Err(ServiceError::invalid("role", "only admins and organisers can swap roles; invite an employer or school user"));
    }
    if current.id == actor.user_id && role != Role::Admin {
        return Err(ServiceError::conflict("you cannot take away your own admin role"));
    }
    let mut model: user::ActiveModel = current.into();
    model.role = Set(role);
    let updated = model.update(&svc.db.write).await?;
    // Their sessions carry the old role: they sign in again.
    end_sessions(svc, id).await?;
    Ok(updated.into())
}

/// Ends every session and API token of a user.
async fn end_sessions(svc: &Services, id: Uuid) -> ServiceResult<()> {
    crate::store::entity::auth_token::Entity::delete_many()
        .filter(crate::store::entity::auth_token::Column::UserId.eq(id))
        .exec(&svc.db.write)
        .await?;
    Ok(())
}

/// An admin deactivates a user: they can no longer sign in, and their sessions end.
pub async fn deactivate(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<User> {
    super::policy::admin(actor)?;
    if id == actor.user_id {
        return Err(ServiceError::conflict("you cannot deactivate yourself"));
    }
    let current = user::Entity::find_by_id(id).one(&svc.db.write).await?.ok_or(ServiceError::NotFound)?;
    let mut model: user::ActiveModel = current.into();
    model.active = Set(false);
    let updated = model.update(&svc.db.write).await?;
    end_sessions(svc, id).await?;
    Ok(updated.into())
}

pub async fn list(svc: &Services, actor: &Actor, page: PageRequest) -> ServiceResult<Page<User>> {
    super::policy::admin(actor)?;
    let total = user::Entity::find().count(&svc.db.read).await?;
    let rows = user::Entity::find().order_by_asc(user::Column::Email).limit(page.limit).offset(page.offset).all(&svc.db.read).await?;
    let items = rows.into_iter().map(User::from).collect();
    Ok(Page { items, total, limit: page.limit, offset: page.offset })
}

/// The users of the caller's own employer or school, by name: who else can sign in for it.
pub async fn colleagues(svc: &Services, actor: &Actor) -> ServiceResult<Vec<User>> {
    let query = match super::policy::listed(actor, true, true)? {
        super::policy::Listed::Employer(id) => user::Entity::find().filter(user::Column::EmployerId.eq(id)),
        super::policy::Listed::School(id) => user::Entity::find().filter(user::Column::SchoolId.eq(id)),
        super::policy::Listed::All => return Err(ServiceError::Forbidden),
    };
    let rows = query.order_by_asc(user::Column::Name).order_by_asc(user::Column::Id).all(&svc.db.read).await?;
    Ok(rows.into_iter().map(User::from).collect())
}

//! Care employers: signing up, approval and suspension, and their calendar feed's token.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::auth::{Password, hash_password, new_token};
use super::outbox::{self, MessageKind};
use super::venues::check_coordinates;
use super::{Page, PageRequest, ServiceError, ServiceResult, Services, scope_employer};
use crate::domain::{
    Actor, CqcLocationId, EmailAddress, EmployerStatus, Postcode, ProviderType, Role, Text, Url, Validation, ValidationErrors, new_id,
};
use crate::store::entity::{employer, user};
use crate::store::is_unique_violation;

/// A care employer as the use cases hand it out: whether it has a calendar feed, never the
/// feed token's hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Employer {
    pub id: Uuid,
    pub name: String,
    pub provider_type: ProviderType,
    pub cqc_location_id: Option<String>,
    pub address: String,
    pub postcode: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub website: Option<String>,
    pub contact_name: String,
    pub contact_email: String,
    pub status: EmployerStatus,
    pub has_feed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<employer::Model> for Employer {
    fn from(e: employer::Model) -> Self {
        Self {
            id: e.id,
            name: e.name,
            provider_type: e.provider_type,
            cqc_location_id: e.cqc_location_id,
            address: e.address,
            postcode: e.postcode,
            latitude: e.latitude,
            longitude: e.longitude,
            website: e.website,
            contact_name: e.contact_name,
            contact_email: e.contact_email,
            status: e.status,
            has_feed: e.feed_token_hash.is_some(),
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

pub struct NewEmployer {
    pub name: Text,
    pub provider_type: ProviderType,
    pub cqc_location_id: Option<CqcLocationId>,
    pub address: Text,
    pub postcode: Postcode,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub website: Option<Url>,
    pub contact_name: Text,
    pub contact_email: EmailAddress,
}

/// The first user of an employer that signs itself up.
pub struct NewEmployerUser {
    pub email: EmailAddress,
    pub name: Text,
    pub password: Password,
}

/// An employer's details as typed, before they are checked: the same from the API and the
/// signup page.
#[derive(Debug, Clone, Default)]
pub struct EmployerInput {
    pub name: String,
    pub provider_type: String,
    pub cqc_location_id: Option<String>,
    pub address: String,
    pub postcode: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub website: Option<String>,
    pub contact_name: String,
    pub contact_email: String,
}

/// A signup as typed: the employer and its first user.
#[derive(Debug, Clone, Default)]
pub struct SignupInput {
    pub employer: EmployerInput,
    pub user_email: String,
    pub user_name: String,
    pub password: String,
}

impl NewEmployer {
    /// Checks every field, naming each that breaks a rule.
    pub fn parse(input: EmployerInput) -> Result<Self, ValidationErrors> {
        let mut v = Validation::new();
        match Self::check(input, &mut v) {
            Some(new) if v.is_ok() => Ok(new),
            _ => Err(v.into_errors()),
        }
    }

    fn check(input: EmployerInput, v: &mut Validation) -> Option<Self> {
        use crate::domain::geo::{latitude, longitude};
        let name = v.check("name", Text::name(&input.name));
        let provider_type = v.check("provider_type", ProviderType::parse(&input.provider_type));
        let cqc = v.check_opt("cqc_location_id", input.cqc_location_id, |s| CqcLocationId::parse(&s));
        let address = v.check("address", Text::address(&input.address));
        let postcode = v.check("postcode", Postcode::parse(&input.postcode));
        let lat = v.check_opt("latitude", input.latitude, latitude);
        let lon = v.check_opt("longitude", input.longitude, longitude);
        let website = v.check_opt("website", input.website, |s| Url::parse(&s));
        let contact_name = v.check("contact_name", Text::person_name(&input.contact_name));
        let contact_email = v.check("contact_email", EmailAddress::parse(&input.contact_email));
        Some(Self {
            name: name?,
            provider_type: provider_type?,
            cqc_location_id: cqc?,
            address: address?,
            postcode: postcode?,
            latitude: lat?,
            longitude: lon?,
            website: website?,
            contact_name: contact_name?,
            contact_email: contact_email?,
        })
    }
}

/// Checks a signup whole: the employer's fields by their names, the user's as `user.email`,
/// `user.name` and `user.password`.
pub fn parse_signup(input: SignupInput) -> Result<(NewEmployer, NewEmployerUser), ValidationErrors> {
    let mut v = Validation::new();
    let employer = NewEmployer::check(input.employer, &mut v);
    let email = v.check("user.email", EmailAddress::parse(&input.user_email));
    let user_name = v.check("user.name", Text::person_name(&input.user_name));
    let password = v.check("user.password", Password::parse(&input.password));
    match (employer, email, user_name, password) {
        (Some(employer), Some(email), Some(name), Some(password)) if v.is_ok() => Ok((employer, NewEmployerUser { email, name, password })),
        _ => Err(v.into_errors()),
    }
}

/// The fields a PATCH may change (status changes through approve and suspend).
#[derive(Default)]
pub struct EmployerChanges {
    pub name: Option<Text>,
    pub provider_type: Option<ProviderType>,
    pub cqc_location_id: Option<Option<CqcLocationId>>,
    pub address: Option<Text>,
    pub postcode: Option<Postcode>,
    pub latitude: Option<Option<f64>>,
    pub longitude: Option<Option<f64>>,
    pub website: Option<Option<Url>>,
    pub contact_name: Option<Text>,
    pub contact_email: Option<EmailAddress>,
}

#[derive(Default)]
pub struct EmployerFilter {
    pub status: Option<EmployerStatus>,
    pub provider_type: Option<ProviderType>,
    pub q: Option<String>,
}

fn active_model(new: NewEmployer, status: EmployerStatus, now: chrono::DateTime<chrono::Utc>) -> employer::ActiveModel {
    employer::ActiveModel {
        id: Set(new_id()),
        name: Set(new.name.into_string()),
        provider_type: Set(new.provider_type),
        cqc_location_id: Set(new.cqc_location_id.map(|c| c.as_str().to_owned())),
        address: Set(new.address.into_string()),
        postcode: Set(new.postcode.as_str().to_owned()),
        latitude: Set(new.latitude),
        longitude: Set(new.longitude),
        website: Set(new.website.map(|u| u.as_str().to_owned())),
        contact_name: Set(new.contact_name.into_string()),
        contact_email: Set(new.contact_email.as_str().to_owned()),
        status: Set(status),
        feed_token_hash: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// `new` with the directory's coordinates for its postcode when it came without any.
async fn placed(svc: &Services, mut new: NewEmployer) -> ServiceResult<NewEmployer> {
    (new.latitude, new.longitude) =
        super::postcodes::settle(&svc.db.read, new.postcode.as_str(), (new.latitude, new.longitude), false).await?;
    Ok(new)
}

fn duplicate(err: sea_orm::DbErr) -> ServiceError {
    if is_unique_violation(&err) {
        ServiceError::AlreadyExists("an employer with this CQC location id, or a user with this email,")
    } else {
        err.into()
    }
}

/// An employer signs itself up: a `pending` employer and its first user, together or not at all.
#[tracing::instrument(skip_all)]
pub async fn sign_up(
    svc: &Services,
    new: NewEmployer,
    first_user: NewEmployerUser,
    client: Option<std::net::IpAddr>,
) -> ServiceResult<Employer> {
    super::admit_public_write(svc, client)?;
    check_coordinates(new.latitude, new.longitude)?;
    let new = placed(svc, new).await?;
    let password_hash = hash_password(&first_user.password).await?;
    let now = svc.clock.now();
    let txn = svc.db.write.begin().await?;
    let employer = active_model(new, EmployerStatus::Pending, now).insert(&txn).await.map_err(duplicate)?;
    user::ActiveModel {
        id: Set(new_id()),
        email: Set(first_user.email.as_str().to_owned()),
        name: Set(first_user.name.into_string()),
        role: Set(Role::Employer),
        employer_id: Set(Some(employer.id)),
        school_id: Set(None),
        password_hash: Set(password_hash),
        active: Set(true),
        created_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(duplicate)?;
    // The employer hears its signup arrived; the organisers, that someone waits for approval.
    let public_url = svc.settings.public_url();
    let mut notices = vec![outbox::notice(
        public_url,
        now,
        &employer.contact_email,
        MessageKind::EmployerSignupReceived,
        json!({"person": {"name": employer.contact_name}, "employer": {"name": employer.name}, "next_url": format!("{public_url}/employer")}),
    )];
    if let Some(to) = svc.organisers_to() {
        let context = json!({
            "person": {"name": "workforce team"},
            "employer": {"name": employer.name, "kind": employer.provider_type.as_str().replace('_', " "), "postcode": employer.postcode},
            "next_url": format!("{public_url}/manage/employers"),
        });
        notices.push(outbox::notice(public_url, now, to, MessageKind::OrganiserEmployerSignedUp, context));
    }
    outbox::queue(&txn, notices).await?;
    txn.commit().await?;
    svc.mail_wake.notify_one();
    Ok(employer.into())
}

/// An organiser adds an employer; it is approved at once, since an organiser vouches for it.
#[tracing::instrument(skip_all)]
pub async fn create(svc: &Services, actor: &Actor, new: NewEmployer) -> ServiceResult<Employer> {
    super::policy::organiser(actor)?;
    check_coordinates(new.latitude, new.longitude)?;
    let new = placed(svc, new).await?;
    active_model(new, EmployerStatus::Approved, svc.clock.now()).insert(&svc.db.write).await.map(Employer::from).map_err(duplicate)
}

pub async fn get(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<Employer> {
    scope_employer(actor, id)?;
    employer::Entity::find_by_id(id).one(&svc.db.read).await?.map(Employer::from).ok_or(ServiceError::NotFound)
}

/// Organisers list every employer; an employer's users see their own alone.
pub async fn list(svc: &Services, actor: &Actor, filter: EmployerFilter, page: PageRequest) -> ServiceResult<Page<Employer>> {
    let mut query = employer::Entity::find();
    if let super::policy::Listed::Employer(own) = super::policy::listed(actor, true, false)? {
        query = query.filter(employer::Column::Id.eq(own));
    }
    if let Some(status) = filter.status {
        query = query.filter(employer::Column::Status.eq(status.as_str()));
    }
    if let Some(provider_type) = filter.provider_type {
        query = query.filter(employer::Column::ProviderType.eq(provider_type.as_str()));
    }
    if let Some(q) = filter.q.filter(|q| !q.trim().is_empty()) {
        let pattern = crate::store::like_containing(&q.trim().to_lowercase());
        query = query.filter(Func::lower(Expr::col(employer::Column::Name)).like(LikeExpr::new(pattern).escape('\\')));
    }
    let total = query.clone().count(&svc.db.read).await?;
    let items = query
        .order_by_asc(employer::Column::Name)
        .order_by_asc(employer::Column::Id)
        .limit(page.limit)
        .offset(page.offset)
        .all(&svc.db.read)
        .await?;
    Ok(Page { items: items.into_iter().map(Employer::from).collect(), total, limit: page.limit, offset: page.offset })
}

#[tracing::instrument(skip_all, fields(employer_id = %id))]
pub async fn update(svc: &Services, actor: &Actor, id: Uuid, changes: EmployerChanges) -> ServiceResult<Employer> {
    scope_employer(actor, id)?;
    if !actor.is_organiser() {
        // Suggestions measure from the employer's position: an employer that could move it
        // would sweep the county's schools. Organisers keep positions.
        let mut v = crate::domain::Validation::new();
        for (field, given) in [("latitude", changes.latitude.is_some()), ("longitude", changes.longitude.is_some())] {
            if given {
                v.fail(field, "is kept by the council's organisers; ask them to change it");
            }
        }
        v.finish()?;
    }
    let current = employer::Entity::find_by_id(id).one(&svc.db.write).await?.ok_or(ServiceError::NotFound)?;
    check_coordinates(changes.latitude.unwrap_or(current.latitude), changes.longitude.unwrap_or(current.longitude))?;
    let (latitude, longitude) = super::postcodes::resettle(
        &svc.db.read,
        &current.postcode,
        (current.latitude, current.longitude),
        changes.postcode.as_ref(),
        (changes.latitude, changes.longitude),
    )
    .await?;
    let mut model: employer::ActiveModel = current.into();
    model.latitude = Set(latitude);
    model.longitude = Set(longitude);
    if let Some(v) = changes.name {
        model.name = Set(v.into_string());
    }
    if let Some(v) = changes.provider_type {
        model.provider_type = Set(v);
    }
    if let Some(v) = changes.cqc_location_id {
        model.cqc_location_id = Set(v.map(|c| c.as_str().to_owned()));
    }
    if let Some(v) = changes.address {
        model.address = Set(v.into_string());
    }
    if let Some(v) = changes.postcode {
        model.postcode = Set(v.as_str().to_owned());
    }
    if let Some(v) = changes.website {
        model.website = Set(v.map(|u| u.as_str().to_owned()));
    }
    if let Some(v) = changes.contact_name {
        model.contact_name = Set(v.into_string());
    }
    if let Some(v) = changes.contact_email {
        model.contact_email = Set(v.as_str().to_owned());
    }
    model.updated_at = Set(svc.clock.now());
    model.update(&svc.db.write).await.map(Employer::from).map_err(duplicate)
}

/// Approves an employer (also one that was suspended) and tells its contact; approving an
/// approved employer changes nothing and sends nothing.
#[tracing::instrument(skip_all, fields(employer_id = %id))]
pub async fn approve(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<Employer> {
    super::policy::organiser(actor)?;
    let txn = svc.db.write.begin().await?;
    let current = employer::Entity::find_by_id(id).one(&txn).await?.ok_or(ServiceError::NotFound)?;
    if current.status == EmployerStatus::Approved {
        return Ok(current.into());
    }
    let now = svc.clock.now();
    let mut model: employer::ActiveModel = current.into();
    model.status = Set(EmployerStatus::Approved);
    model.updated_at = Set(now);
    let approved = model.update(&txn).await?;
    if !approved.contact_email.is_empty() {
        let context = json!({
            "person": {"name": approved.contact_name},
            "employer": {"name": approved.name},
            "next_url": format!("{}/employer", svc.settings.public_url()),
        });
        let public_url = svc.settings.public_url();
        outbox::queue(&txn, vec![outbox::notice(public_url, now, &approved.contact_email, MessageKind::EmployerApproved, context)]).await?;
    }
    txn.commit().await?;
    svc.mail_wake.notify_one();
    Ok(approved.into())
}

/// Suspends an employer: it no longer appears publicly nor books stands or asks for links.
#[tracing::instrument(skip_all, fields(employer_id = %id))]
pub async fn suspend(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<Employer> {
    super::policy::organiser(actor)?;
    let current = employer::Entity::find_by_id(id).one(&svc.db.write).await?.ok_or(ServiceError::NotFound)?;
    let mut model: employer::ActiveModel = current.into();
    model.status = Set(EmployerStatus::Suspended);
    model.updated_at = Set(svc.clock.now());
    Ok(model.update(&svc.db.write).await?.into())
}

/// Makes a new calendar feed token for an employer, replacing any earlier one, and answers the
/// feed's address: the token is stored hashed, so this is the one time it can be shown.
#[tracing::instrument(skip_all, fields(employer_id = %id))]
pub async fn new_feed(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<String> {
    scope_employer(actor, id)?;
    let current = employer::Entity::find_by_id(id).one(&svc.db.write).await?.ok_or(ServiceError::NotFound)?;
    let (token, hash) = new_token();
    let mut model: employer::ActiveModel = current.into();
    model.feed_token_hash = Set(Some(hash));
    model.update(&svc.db.write).await?;
    Ok(format!("{}/calendar/employers/{token}.ics", svc.settings.public_url()))
}

/// An approved employer, for the things only approved employers may do.
pub(crate) async fn approved(conn: &impl sea_orm::ConnectionTrait, id: Uuid) -> ServiceResult<Employer> {
    let employer =
        employer::Entity::find_by_id(id).one(conn).await?.ok_or_else(|| ServiceError::invalid("employer_id", "no employer has this id"))?;
    if employer.status != EmployerStatus::Approved {
        return Err(ServiceError::conflict("the employer is not approved"));
    }
    Ok(employer.into())
}

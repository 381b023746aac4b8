//! Secondary schools, by their DfE URN.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use super::venues::check_coordinates;
use super::{Page, PageRequest, ServiceError, ServiceResult, Services, scope_school};
use crate::domain::{Actor, EmailAddress, Postcode, Text, Urn, new_id};
use crate::store::entity::school;
use crate::store::is_unique_violation;

/// A school as the use cases hand it out.
#[derive(Debug, Clone, PartialEq)]
pub struct School {
    pub id: Uuid,
    pub urn: String,
    pub name: String,
    pub address: String,
    pub postcode: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub district: Option<String>,
    pub careers_leader_name: Option<String>,
    pub careers_leader_email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<school::Model> for School {
    fn from(m: school::Model) -> Self {
        Self {
            id: m.id,
            urn: m.urn,
            name: m.name,
            address: m.address,
            postcode: m.postcode,
            latitude: m.latitude,
            longitude: m.longitude,
            district: m.district,
            careers_leader_name: m.careers_leader_name,
            careers_leader_email: m.careers_leader_email,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

pub struct NewSchool {
    pub urn: Urn,
    pub name: Text,
    pub address: Text,
    pub postcode: Postcode,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub district: Option<Text>,
    pub careers_leader_name: Option<Text>,
    pub careers_leader_email: Option<EmailAddress>,
}

#[derive(Default)]
pub struct SchoolChanges {
    pub urn: Option<Urn>,
    pub name: Option<Text>,
    pub address: Option<Text>,
    pub postcode: Option<Postcode>,
    pub latitude: Option<Option<f64>>,
    pub longitude: Option<Option<f64>>,
    pub district: Option<Option<Text>>,
    pub careers_leader_name: Option<Option<Text>>,
    pub careers_leader_email: Option<Option<EmailAddress>>,
}

fn duplicate(err: sea_orm::DbErr) -> ServiceError {
    if is_unique_violation(&err) { ServiceError::conflict("a school with this URN already exists") } else { err.into() }
}

#[tracing::instrument(skip_all)]
pub async fn create(svc: &Services, actor: &Actor, new: NewSchool) -> ServiceResult<School> {
    super::policy::organiser(actor)?;
    check_coordinates(new.latitude, new.longitude)?;
    let (latitude, longitude) = super::postcodes::settle(&svc.db.read, new.postcode.as_str(), (new.latitude, new.longitude), false).await?;
    let now = svc.clock.now();
    school::ActiveModel {
        id: Set(new_id()),
        urn: Set(new.urn.as_str().to_owned()),
        name: Set(new.name.into_string()),
        address: Set(new.address.into_string()),
        postcode: Set(new.postcode.as_str().to_owned()),
        latitude: Set(latitude),
        longitude: Set(longitude),
        district: Set(new.district.map(Text::into_string)),
        careers_leader_name: Set(new.careers_leader_name.map(Text::into_string)),
        careers_leader_email: Set(new.careers_leader_email.map(|e| e.as_str().to_owned())),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&svc.db.write)
    .await
    .map_err(duplicate)
    .map(Into::into)
}

pub async fn get(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<School> {
    scope_school(actor, id)?;
    school::Entity::find_by_id(id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound).map(Into::into)
}

/// Organisers list every school, by name (`q` matches the name or the URN); a school's users
/// see their own alone.
pub async fn list(svc: &Services, actor: &Actor, q: Option<String>, page: PageRequest) -> ServiceResult<Page<School>> {
    let mut query = school::Entity::find();
    if let super::policy::Listed::School(own) = super::policy::listed(actor, false, true)? {
        query = query.filter(school::Column::Id.eq(own));
    }
    if let Some(q) = q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty()) {
        let pattern = crate::store::like_containing(&q);
        query = query.filter(
            sea_orm::Condition::any()
                .add(Func::lower(Expr::col(school::Column::Name)).like(LikeExpr::new(pattern).escape('\\')))
                .add(school::Column::Urn.eq(q)),
        );
    }
    let total = query.clone().count(&svc.db.read).await?;
    let items = query
        .order_by_asc(school::Column::Name)
        .order_by_asc(school::Column::Id)
        .limit(page.limit)
        .offset(page.offset)
        .all(&svc.db.read)
        .await?;
    Ok(Page { items: items.into_iter().map(Into::into).collect(), total, limit: page.limit, offset: page.offset })
}

#[tracing::instrument(skip_all, fields(school_id = %id))]
pub async fn update(svc: &Services, actor: &Actor, id: Uuid, changes: SchoolChanges) -> ServiceResult<School> {
    super::policy::organiser(actor)?;
    let current = school::Entity::find_by_id(id).one(&svc.db.write).await?.ok_or(ServiceError::NotFound)?;
    check_coordinates(changes.latitude.unwrap_or(current.latitude), changes.longitude.unwrap_or(current.longitude))?;
    let (latitude, longitude) = super::postcodes::resettle(
        &svc.db.read,
        &current.postcode,
        (current.latitude, current.longitude),
        changes.postcode.as_ref(),
        (changes.latitude, changes.longitude),
    )
    .await?;
    let mut model: school::ActiveModel = current.into();
    model.latitude = Set(latitude);
    model.longitude = Set(longitude);
    if let Some(v) = changes.urn {
        model.urn = Set(v.as_str().to_owned());
    }
    if let Some(v) = changes.name {
        model.name = Set(v.into_string());
    }
    if let Some(v) = changes.address {
        model.address = Set(v.into_string());
    }
    if let Some(v) = changes.postcode {
        model.postcode = Set(v.as_str().to_owned());
    }
    if let Some(v) = changes.district {
        model.district = Set(v.map(Text::into_string));
    }
    if let Some(v) = changes.careers_leader_name {
        model.careers_leader_name = Set(v.map(Text::into_string));
    }
    if let Some(v) = changes.careers_leader_email {
        model.careers_leader_email = Set(v.map(|e| e.as_str().to_owned()));
    }
    model.updated_at = Set(svc.clock.now());
    model.update(&svc.db.write).await.map_err(duplicate).map(Into::into)
}

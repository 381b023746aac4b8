//! Venues: where fairs and events are held.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use super::{Page, PageRequest, ServiceError, ServiceResult, Services};
use crate::domain::{Actor, Postcode, Text, new_id};
use crate::store::entity::{event, venue};
use crate::store::is_foreign_key_violation;

/// A venue as the use cases hand it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    pub id: Uuid,
    pub name: String,
    pub address: String,
    pub postcode: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub capacity: Option<i32>,
    pub accessibility: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<venue::Model> for Venue {
    fn from(m: venue::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            address: m.address,
            postcode: m.postcode,
            latitude: m.latitude,
            longitude: m.longitude,
            capacity: m.capacity,
            accessibility: m.accessibility,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

pub struct NewVenue {
    pub name: Text,
    pub address: Text,
    pub postcode: Postcode,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub capacity: Option<i32>,
    pub accessibility: Option<Text>,
}

/// The longest access note of a venue.
pub const ACCESSIBILITY_MAX: usize = 2_000;

/// The rules of each venue field, for every face that takes one.
pub mod rules {
    use super::ACCESSIBILITY_MAX;
    use crate::domain::{ADDRESS_MAX, CAPACITY_MAX, NAME_MAX, Postcode, Text, int_in};

    pub fn name(s: &str) -> Result<Text, String> {
        Text::one_line(s, 1, NAME_MAX)
    }
    pub fn address(s: &str) -> Result<Text, String> {
        Text::parse(s, 1, ADDRESS_MAX)
    }
    pub fn postcode(s: &str) -> Result<Postcode, String> {
        Postcode::parse(s)
    }
    pub fn capacity(n: i64) -> Result<i32, String> {
        int_in(1, CAPACITY_MAX)(n)
    }
    pub fn accessibility(s: &str) -> Result<Text, String> {
        Text::parse(s, 0, ACCESSIBILITY_MAX)
    }
}

/// A new venue as a face received it.
pub struct VenueInput {
    pub name: String,
    pub address: String,
    pub postcode: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub capacity: Option<i64>,
    pub accessibility: Option<String>,
}

impl NewVenue {
    /// Checks every field; `v` may hold problems found before (fields a form could not read).
    pub fn parse(input: VenueInput, mut v: crate::domain::Validation) -> Result<Self, crate::domain::ValidationErrors> {
        use crate::domain::geo::{latitude, longitude};
        let name = v.check("name", rules::name(&input.name));
        let address = v.check("address", rules::address(&input.address));
        let postcode = v.check("postcode", rules::postcode(&input.postcode));
        let lat = v.check_opt("latitude", input.latitude, latitude);
        let lon = v.check_opt("longitude", input.longitude, longitude);
        let capacity = v.check_opt("capacity", input.capacity, rules::capacity);
        let accessibility = v.check_opt("accessibility", input.accessibility, |s| rules::accessibility(&s));
        let (Some(name), Some(address), Some(postcode), Some(latitude), Some(longitude), Some(capacity), Some(accessibility)) =
            (name, address, postcode, lat, lon, capacity, accessibility)
        else {
            return Err(v.into_errors());
        };
        v.finish()?;
        Ok(NewVenue { name, address, postcode, latitude, longitude, capacity, accessibility })
    }
}

impl From<NewVenue> for VenueChanges {
    /// Every field as `new` has it: a form that shows the whole venue and sends it back.
    fn from(new: NewVenue) -> Self {
        VenueChanges {
            name: Some(new.name),
            address: Some(new.address),
            postcode: Some(new.postcode),
            latitude: Some(new.latitude),
            longitude: Some(new.longitude),
            capacity: Some(new.capacity),
            accessibility: Some(new.accessibility),
        }
    }
}

/// The fields a PATCH may change: the outer `None` leaves a field as it is, an inner `None`
/// clears an optional one.
#[derive(Default)]
pub struct VenueChanges {
    pub name: Option<Text>,
    pub address: Option<Text>,
    pub postcode: Option<Postcode>,
    pub latitude: Option<Option<f64>>,
    pub longitude: Option<Option<f64>>,
    pub capacity: Option<Option<i32>>,
    pub accessibility: Option<Option<Text>>,
}

/// Latitude and longitude come as a pair (venues, employers and schools alike).
pub(crate) fn check_coordinates(latitude: Option<f64>, longitude: Option<f64>) -> ServiceResult<()> {
    if latitude.is_some() != longitude.is_some() {
        let missing = if latitude.is_none() { "latitude" } else { "longitude" };
        return Err(ServiceError::invalid(missing, "latitude and longitude go together"));
    }
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn create(svc: &Services, actor: &Actor, new: NewVenue) -> ServiceResult<Venue> {
    super::policy::organiser(actor)?;
    check_coordinates(new.latitude, new.longitude)?;
    let (latitude, longitude) = super::postcodes::settle(&svc.db.read, new.postcode.as_str(), (new.latitude, new.longitude), false).await?;
    let now = svc.clock.now();
    let model = venue::ActiveModel {
        id: Set(new_id()),
        name: Set(new.name.into_string()),
        address: Set(new.address.into_string()),
        postcode: Set(new.postcode.as_str().to_owned()),
        latitude: Set(latitude),
        longitude: Set(longitude),
        capacity: Set(new.capacity),
        accessibility: Set(new.accessibility.map(Text::into_string)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(model.insert(&svc.db.write).await?.into())
}

pub async fn get(svc: &Services, id: Uuid) -> ServiceResult<Venue> {
    venue::Entity::find_by_id(id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound).map(Into::into)
}

pub async fn list(svc: &Services, page: PageRequest) -> ServiceResult<Page<Venue>> {
    let total = venue::Entity::find().count(&svc.db.read).await?;
    let items = venue::Entity::find()
        .order_by_asc(venue::Column::Name)
        .order_by_asc(venue::Column::Id)
        .limit(page.limit)
        .offset(page.offset)
        .all(&svc.db.read)
        .await?;
    Ok(Page { items: items.into_iter().map(Into::into).collect(), total, limit: page.limit, offset: page.offset })
}

#[tracing::instrument(skip_all, fields(venue_id = %id))]
pub async fn update(svc: &Services, actor: &Actor, id: Uuid, changes: VenueChanges) -> ServiceResult<Venue> {
    super::policy::organiser(actor)?;
    let current = venue::Entity::find_by_id(id).one(&svc.db.write).await?.ok_or(ServiceError::NotFound)?;
    check_coordinates(changes.latitude.unwrap_or(current.latitude), changes.longitude.unwrap_or(current.longitude))?;
    if let Some(Some(capacity)) = changes.capacity {
        // An event may not hold more people than its venue, so shrinking the venue below an
        // event's capacity must not slip through here.
        let too_big = event::Entity::find()
            .filter(event::Column::VenueId.eq(id))
            .filter(event::Column::Capacity.gt(capacity))
            .count(&svc.db.write)
            .await?;
        if too_big > 0 {
            return Err(ServiceError::invalid("capacity", format!("{too_big} event(s) at this venue expect more than {capacity} people")));
        }
    }
    let (latitude, longitude) = super::postcodes::resettle(
        &svc.db.read,
        &current.postcode,
        (current.latitude, current.longitude),
        changes.postcode.as_ref(),
        (changes.latitude, changes.longitude),
    )
    .await?;
    let mut model: venue::ActiveModel = current.into();
    if let Some(name) = changes.name {
        model.name = Set(name.into_string());
    }
    if let Some(address) = changes.address {
        model.address = Set(address.into_string());
    }
    if let Some(postcode) = changes.postcode {
        model.postcode = Set(postcode.as_str().to_owned());
    }
    model.latitude = Set(latitude);
    model.longitude = Set(longitude);
    if let Some(capacity) = changes.capacity {
        model.capacity = Set(capacity);
    }
    if let Some(accessibility) = changes.accessibility {
        model.accessibility = Set(accessibility.map(Text::into_string));
    }
    model.updated_at = Set(svc.clock.now());
    let updated = model.update(&svc.db.write).await?;
    svc.feed_cache.invalidate_all();
    Ok(updated.into())
}

/// Deletes a venue no event uses.
#[tracing::instrument(skip_all, fields(venue_id = %id))]
pub async fn delete(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    super::policy::organiser(actor)?;
    let in_use = event::Entity::find().filter(event::Column::VenueId.eq(id)).count(&svc.db.write).await?;
    if in_use > 0 {
        return Err(ServiceError::conflict(format!("{in_use} event(s) are held at this venue")));
    }
    match venue::Entity::delete_by_id(id).exec(&svc.db.write).await {
        Ok(res) if res.rows_affected == 0 => Err(ServiceError::NotFound),
        Ok(_) => Ok(()),
        Err(err) if is_foreign_key_violation(&err) => Err(ServiceError::conflict("the venue is still in use")),
        Err(err) => Err(err.into()),
    }
}

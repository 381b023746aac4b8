//! `/venues`: organisers manage them, anyone reads them.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::campaigns::DeletedAnswer;
use super::common::{ApiTags, list_of, page, patch_optional, patch_required};
use super::json::JsonBody;
use super::problem::Refused;
use super::problem::can::*;
use super::security::BearerAuth;
use crate::domain::{Validation, ValidationErrors};
use crate::service::Services;
use crate::service::venues::{self, NewVenue, Venue, VenueChanges, VenueInput, rules};

pub struct VenuesApi {
    pub svc: Services,
}

/// A venue.
#[derive(Object)]
pub struct VenueView {
    pub id: Uuid,
    pub name: String,
    pub address: String,
    /// Normalised, like `CM1 1QH`.
    pub postcode: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub capacity: Option<i32>,
    pub accessibility: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Venue> for VenueView {
    fn from(v: Venue) -> Self {
        Self {
            id: v.id,
            name: v.name,
            address: v.address,
            postcode: v.postcode,
            latitude: v.latitude,
            longitude: v.longitude,
            capacity: v.capacity,
            accessibility: v.accessibility,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

list_of!(VenueList, VenueView);

/// A new venue.
#[derive(Object, serde::Deserialize)]
pub struct VenueCreate {
    pub name: String,
    pub address: String,
    /// A UK postcode in any spacing and case.
    pub postcode: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub capacity: Option<i64>,
    pub accessibility: Option<String>,
}

/// Changes to a venue; fields left out stay as they are, null clears an optional one.
#[derive(Object, serde::Deserialize)]
pub struct VenuePatch {
    #[serde(default)]
    pub name: MaybeUndefined<String>,
    #[serde(default)]
    pub address: MaybeUndefined<String>,
    #[serde(default)]
    pub postcode: MaybeUndefined<String>,
    #[serde(default)]
    pub latitude: MaybeUndefined<f64>,
    #[serde(default)]
    pub longitude: MaybeUndefined<f64>,
    #[serde(default)]
    pub capacity: MaybeUndefined<i64>,
    #[serde(default)]
    pub accessibility: MaybeUndefined<String>,
}

pub use crate::domain::geo::{latitude, longitude};

impl TryFrom<VenueCreate> for NewVenue {
    type Error = ValidationErrors;

    fn try_from(input: VenueCreate) -> Result<Self, Self::Error> {
        let fields = VenueInput {
            name: input.name,
            address: input.address,
            postcode: input.postcode,
            latitude: input.latitude,
            longitude: input.longitude,
            capacity: input.capacity,
            accessibility: input.accessibility,
        };
        NewVenue::parse(fields, Validation::new())
    }
}

impl TryFrom<VenuePatch> for VenueChanges {
    type Error = ValidationErrors;

    fn try_from(input: VenuePatch) -> Result<Self, Self::Error> {
        let mut v = Validation::new();
        let changes = VenueChanges {
            name: patch_required(&mut v, "name", input.name, |s| rules::name(&s)),
            address: patch_required(&mut v, "address", input.address, |s| rules::address(&s)),
            postcode: patch_required(&mut v, "postcode", input.postcode, |s| rules::postcode(&s)),
            latitude: patch_optional(&mut v, "latitude", input.latitude, latitude),
            longitude: patch_optional(&mut v, "longitude", input.longitude, longitude),
            capacity: patch_optional(&mut v, "capacity", input.capacity, rules::capacity),
            accessibility: patch_optional(&mut v, "accessibility", input.accessibility, |s| rules::accessibility(&s)),
        };
        v.finish()?;
        Ok(changes)
    }
}

#[derive(ApiResponse)]
pub enum VenueAnswer {
    /// The venue.
    #[oai(status = 200)]
    Ok(Json<VenueView>),
}

#[derive(ApiResponse)]
pub enum VenueCreated {
    /// The venue, created.
    #[oai(status = 201)]
    Created(Json<VenueView>),
}

#[derive(ApiResponse)]
pub enum VenueListAnswer {
    /// One page of venues.
    #[oai(status = 200)]
    Ok(Json<VenueList>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Venues")]
impl VenuesApi {
    /// Create a venue (organisers).
    #[oai(path = "/venues", method = "post", operation_id = "create_venue")]
    async fn create(&self, auth: BearerAuth, body: JsonBody<VenueCreate>) -> Result<VenueCreated, Refused<{ SIGNED_IN | INPUT }>> {
        let venue = venues::create(&self.svc, &auth.0.actor, body.0.try_into()?).await?;
        Ok(VenueCreated::Created(Json(venue.into())))
    }

    /// List venues by name.
    #[oai(path = "/venues", method = "get", operation_id = "list_venues")]
    async fn list(&self, limit: Query<Option<i64>>, offset: Query<Option<i64>>) -> Result<VenueListAnswer, Refused<{ INPUT }>> {
        let list = venues::list(&self.svc, page(limit.0, offset.0)?).await?;
        Ok(VenueListAnswer::Ok(Json(list.into())))
    }

    /// One venue.
    #[oai(path = "/venues/:id", method = "get", operation_id = "get_venue")]
    async fn get(&self, id: Path<Uuid>) -> Result<VenueAnswer, Refused<{ BAD_REQUEST | NOT_FOUND }>> {
        Ok(VenueAnswer::Ok(Json(venues::get(&self.svc, id.0).await?.into())))
    }

    /// Change a venue (organisers).
    #[oai(path = "/venues/:id", method = "patch", operation_id = "update_venue")]
    async fn update(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<VenuePatch>,
    ) -> Result<VenueAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let venue = venues::update(&self.svc, &auth.0.actor, id.0, body.0.try_into()?).await?;
        Ok(VenueAnswer::Ok(Json(venue.into())))
    }

    /// Delete a venue no event uses (organisers); otherwise 409.
    #[oai(path = "/venues/:id", method = "delete", operation_id = "delete_venue")]
    async fn delete(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<DeletedAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        venues::delete(&self.svc, &auth.0.actor, id.0).await?;
        Ok(DeletedAnswer::Deleted)
    }
}

//! `/schools`: secondary schools, managed by organisers; a school's users see their own.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::campaigns::NAME_MAX;
use super::common::{ApiTags, list_of, page, patch_optional, patch_required};
use super::employers::ADDRESS_MAX;
use super::json::JsonBody;
use super::problem::Refused;
use super::problem::can::*;
use super::security::BearerAuth;
use super::venues::{latitude, longitude};
use crate::domain::{EmailAddress, Postcode, Text, Urn, Validation, ValidationErrors};
use crate::service::Services;
use crate::service::schools::{self, NewSchool, School, SchoolChanges};

pub struct SchoolsApi {
    pub svc: Services,
}

/// A secondary school.
#[derive(Object)]
pub struct SchoolView {
    pub id: Uuid,
    /// The DfE Unique Reference Number: six digits.
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

impl From<School> for SchoolView {
    fn from(s: School) -> Self {
        Self {
            id: s.id,
            urn: s.urn,
            name: s.name,
            address: s.address,
            postcode: s.postcode,
            latitude: s.latitude,
            longitude: s.longitude,
            district: s.district,
            careers_leader_name: s.careers_leader_name,
            careers_leader_email: s.careers_leader_email,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

list_of!(SchoolList, SchoolView);

/// A new school.
#[derive(Object, serde::Deserialize)]
pub struct SchoolCreate {
    pub urn: String,
    pub name: String,
    pub address: String,
    pub postcode: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub district: Option<String>,
    pub careers_leader_name: Option<String>,
    pub careers_leader_email: Option<String>,
}

/// Changes to a school; fields left out stay as they are, null clears an optional one.
#[derive(Object, serde::Deserialize)]
pub struct SchoolPatch {
    #[serde(default)]
    pub urn: MaybeUndefined<String>,
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
    pub district: MaybeUndefined<String>,
    #[serde(default)]
    pub careers_leader_name: MaybeUndefined<String>,
    #[serde(default)]
    pub careers_leader_email: MaybeUndefined<String>,
}

fn name(s: String) -> Result<Text, String> {
    Text::one_line(&s, 1, NAME_MAX)
}

fn address(s: String) -> Result<Text, String> {
    Text::parse(&s, 1, ADDRESS_MAX)
}

impl TryFrom<SchoolCreate> for NewSchool {
    type Error = ValidationErrors;

    fn try_from(input: SchoolCreate) -> Result<Self, Self::Error> {
        let mut v = Validation::new();
        let urn = v.check("urn", Urn::parse(&input.urn));
        let school_name = v.check("name", name(input.name));
        let address = v.check("address", address(input.address));
        let postcode = v.check("postcode", Postcode::parse(&input.postcode));
        let lat = v.check_opt("latitude", input.latitude, latitude);
        let lon = v.check_opt("longitude", input.longitude, longitude);
        let district = v.check_opt("district", input.district, name);
        let leader = v.check_opt("careers_leader_name", input.careers_leader_name, name);
        let email = v.check_opt("careers_leader_email", input.careers_leader_email, |s| EmailAddress::parse(&s));
        let (
            Some(urn),
            Some(name),
            Some(address),
            Some(postcode),
            Some(latitude),
            Some(longitude),
            Some(district),
            Some(leader),
            Some(email),
        ) = (urn, school_name, address, postcode, lat, lon, district, leader, email)
        else {
            return Err(v.into_errors());
        };
        Ok(NewSchool {
            urn,
            name,
            address,
            postcode,
            latitude,
            longitude,
            district,
            careers_leader_name: leader,
            careers_leader_email: email,
        })
    }
}

impl TryFrom<SchoolPatch> for SchoolChanges {
    type Error = ValidationErrors;

    fn try_from(input: SchoolPatch) -> Result<Self, Self::Error> {
        let mut v = Validation::new();
        let changes = SchoolChanges {
            urn: patch_required(&mut v, "urn", input.urn, |s| Urn::parse(&s)),
            name: patch_required(&mut v, "name", input.name, name),
            address: patch_required(&mut v, "address", input.address, address),
            postcode: patch_required(&mut v, "postcode", input.postcode, |s| Postcode::parse(&s)),
            latitude: patch_optional(&mut v, "latitude", input.latitude, latitude),
            longitude: patch_optional(&mut v, "longitude", input.longitude, longitude),
            district: patch_optional(&mut v, "district", input.district, name),
            careers_leader_name: patch_optional(&mut v, "careers_leader_name", input.careers_leader_name, name),
            careers_leader_email: patch_optional(&mut v, "careers_leader_email", input.careers_leader_email, |s| EmailAddress::parse(&s)),
        };
        v.finish()?;
        Ok(changes)
    }
}

#[derive(ApiResponse)]
pub enum SchoolAnswer {
    /// The school.
    #[oai(status = 200)]
    Ok(Json<SchoolView>),
}

#[derive(ApiResponse)]
pub enum SchoolCreated {
    /// The school, created.
    #[oai(status = 201)]
    Created(Json<SchoolView>),
}

#[derive(ApiResponse)]
pub enum SchoolListAnswer {
    /// One page of schools.
    #[oai(status = 200)]
    Ok(Json<SchoolList>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Schools")]
impl SchoolsApi {
    /// Add a school (organisers); a URN already held is 409.
    #[oai(path = "/schools", method = "post", operation_id = "create_school")]
    async fn create(
        &self,
        auth: BearerAuth,
        body: JsonBody<SchoolCreate>,
    ) -> Result<SchoolCreated, Refused<{ SIGNED_IN | INPUT | CONFLICT }>> {
        let created = schools::create(&self.svc, &auth.0.actor, body.0.try_into()?).await?;
        Ok(SchoolCreated::Created(Json(created.into())))
    }

    /// List schools by name (organisers; a school's users see their own).
    #[oai(path = "/schools", method = "get", operation_id = "list_schools")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// Part of the name, or the URN.
        q: Query<Option<String>>,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> Result<SchoolListAnswer, Refused<{ SIGNED_IN | INPUT }>> {
        let list = schools::list(&self.svc, &auth.0.actor, q.0, page(limit.0, offset.0)?).await?;
        Ok(SchoolListAnswer::Ok(Json(list.into())))
    }

    /// One school (organisers, or its own users).
    #[oai(path = "/schools/:id", method = "get", operation_id = "get_school")]
    async fn get(&self, auth: BearerAuth, id: Path<Uuid>) -> Result<SchoolAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND }>> {
        Ok(SchoolAnswer::Ok(Json(schools::get(&self.svc, &auth.0.actor, id.0).await?.into())))
    }

    /// Change a school (organisers).
    #[oai(path = "/schools/:id", method = "patch", operation_id = "update_school")]
    async fn update(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<SchoolPatch>,
    ) -> Result<SchoolAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        Ok(SchoolAnswer::Ok(Json(schools::update(&self.svc, &auth.0.actor, id.0, body.0.try_into()?).await?.into())))
    }
}

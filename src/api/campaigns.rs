//! `/campaigns`: organisers manage them, anyone reads them.

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::common::{ApiTags, list_of, page, patch_required};
use super::json::JsonBody;
use super::problem::Refused;
use super::problem::can::*;
use super::security::BearerAuth;
use crate::domain::{Validation, ValidationErrors};
use crate::service::Services;
use crate::service::campaigns::{self, Campaign, CampaignChanges, CampaignInput, NewCampaign, rules};

pub struct CampaignsApi {
    pub svc: Services,
}

pub use crate::domain::NAME_MAX;

/// A campaign.
#[derive(Object)]
pub struct CampaignView {
    pub id: Uuid,
    /// Lower-case letters, digits and hyphens; the campaign's address in URLs and feeds.
    pub slug: String,
    pub name: String,
    pub description: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// Any of `recruitment_retention`, `training_development`, `market_capacity`.
    pub objectives: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Campaign> for CampaignView {
    fn from(c: Campaign) -> Self {
        let objectives = campaigns::objectives_of(&c);
        Self {
            id: c.id,
            slug: c.slug,
            name: c.name,
            description: c.description,
            starts_on: c.starts_on,
            ends_on: c.ends_on,
            objectives,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

list_of!(CampaignList, CampaignView);

/// A new campaign.
#[derive(Object, serde::Deserialize)]
pub struct CampaignCreate {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    #[oai(default)]
    pub description: String,
    pub starts_on: NaiveDate,
    /// On or after `starts_on`.
    pub ends_on: NaiveDate,
    /// Any of `recruitment_retention`, `training_development`, `market_capacity`.
    #[serde(default)]
    #[oai(default)]
    pub objectives: Vec<String>,
}

/// Changes to a campaign; fields left out stay as they are.
#[derive(Object, serde::Deserialize)]
pub struct CampaignPatch {
    #[serde(default)]
    pub slug: MaybeUndefined<String>,
    #[serde(default)]
    pub name: MaybeUndefined<String>,
    #[serde(default)]
    pub description: MaybeUndefined<String>,
    #[serde(default)]
    pub starts_on: MaybeUndefined<NaiveDate>,
    #[serde(default)]
    pub ends_on: MaybeUndefined<NaiveDate>,
    #[serde(default)]
    pub objectives: MaybeUndefined<Vec<String>>,
}

impl TryFrom<CampaignCreate> for NewCampaign {
    type Error = ValidationErrors;

    fn try_from(input: CampaignCreate) -> Result<Self, Self::Error> {
        let fields = CampaignInput {
            slug: input.slug,
            name: input.name,
            description: input.description,
            starts_on: input.starts_on,
            ends_on: input.ends_on,
            objectives: input.objectives,
        };
        NewCampaign::parse(fields, Validation::new())
    }
}

impl TryFrom<CampaignPatch> for CampaignChanges {
    type Error = ValidationErrors;

    fn try_from(input: CampaignPatch) -> Result<Self, Self::Error> {
        let mut v = Validation::new();
        let changes = CampaignChanges {
            slug: patch_required(&mut v, "slug", input.slug, |s| rules::slug(&s)),
            name: patch_required(&mut v, "name", input.name, |s| rules::name(&s)),
            description: patch_required(&mut v, "description", input.description, |s| rules::description(&s)),
            starts_on: patch_required(&mut v, "starts_on", input.starts_on, Ok),
            ends_on: patch_required(&mut v, "ends_on", input.ends_on, Ok),
            objectives: patch_required(&mut v, "objectives", input.objectives, |o| rules::objectives(&o)),
        };
        v.finish()?;
        Ok(changes)
    }
}

#[derive(ApiResponse)]
pub enum CampaignAnswer {
    /// The campaign.
    #[oai(status = 200)]
    Ok(Json<CampaignView>),
}

#[derive(ApiResponse)]
pub enum CampaignCreated {
    /// The campaign, created.
    #[oai(status = 201)]
    Created(Json<CampaignView>),
}

#[derive(ApiResponse)]
pub enum CampaignListAnswer {
    /// One page of campaigns.
    #[oai(status = 200)]
    Ok(Json<CampaignList>),
}

#[derive(ApiResponse)]
pub enum DeletedAnswer {
    /// Deleted.
    #[oai(status = 204)]
    Deleted,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Campaigns")]
impl CampaignsApi {
    /// Create a campaign (organisers). A slug already in use is a 409.
    #[oai(path = "/campaigns", method = "post", operation_id = "create_campaign")]
    async fn create(
        &self,
        auth: BearerAuth,
        body: JsonBody<CampaignCreate>,
    ) -> Result<CampaignCreated, Refused<{ SIGNED_IN | INPUT | CONFLICT }>> {
        let campaign = campaigns::create(&self.svc, &auth.0.actor, body.0.try_into()?).await?;
        Ok(CampaignCreated::Created(Json(campaign.into())))
    }

    /// List campaigns, newest first.
    #[oai(path = "/campaigns", method = "get", operation_id = "list_campaigns")]
    async fn list(&self, limit: Query<Option<i64>>, offset: Query<Option<i64>>) -> Result<CampaignListAnswer, Refused<{ INPUT }>> {
        let list = campaigns::list(&self.svc, page(limit.0, offset.0)?).await?;
        Ok(CampaignListAnswer::Ok(Json(list.into())))
    }

    /// One campaign.
    #[oai(path = "/campaigns/:id", method = "get", operation_id = "get_campaign")]
    async fn get(&self, id: Path<Uuid>) -> Result<CampaignAnswer, Refused<{ BAD_REQUEST | NOT_FOUND }>> {
        Ok(CampaignAnswer::Ok(Json(campaigns::get(&self.svc, id.0).await?.into())))
    }

    /// Change a campaign (organisers).
    #[oai(path = "/campaigns/:id", method = "patch", operation_id = "update_campaign")]
    async fn update(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<CampaignPatch>,
    ) -> Result<CampaignAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let campaign = campaigns::update(&self.svc, &auth.0.actor, id.0, body.0.try_into()?).await?;
        Ok(CampaignAnswer::Ok(Json(campaign.into())))
    }

    /// Delete a campaign that has no events (organisers); otherwise 409.
    #[oai(path = "/campaigns/:id", method = "delete", operation_id = "delete_campaign")]
    async fn delete(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<DeletedAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        campaigns::delete(&self.svc, &auth.0.actor, id.0).await?;
        Ok(DeletedAnswer::Deleted)
    }
}

//! Campaigns: the Gift of Care drive and any later ones, each grouping events.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use super::{Page, PageRequest, ServiceError, ServiceResult, Services};
use crate::domain::{Actor, Objective, Slug, Text, new_id};
use crate::store::entity::{campaign, event};
use crate::store::{Json, is_foreign_key_violation, is_unique_violation};

/// A campaign as the use cases hand it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub objectives: Vec<Objective>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<campaign::Model> for Campaign {
    fn from(m: campaign::Model) -> Self {
        Self {
            id: m.id,
            slug: m.slug,
            name: m.name,
            description: m.description,
            starts_on: m.starts_on,
            ends_on: m.ends_on,
            objectives: m.objectives.0,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

pub struct NewCampaign {
    pub slug: Slug,
    pub name: Text,
    pub description: Text,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub objectives: Vec<Objective>,
}

/// The rules of each campaign field, for every face that takes one.
pub mod rules {
    use crate::domain::{DESCRIPTION_MAX, NAME_MAX, Objective, Slug, Text};

    pub fn slug(s: &str) -> Result<Slug, String> {
        Slug::parse(s)
    }
    pub fn name(s: &str) -> Result<Text, String> {
        Text::one_line(s, 1, NAME_MAX)
    }
    pub fn description(s: &str) -> Result<Text, String> {
        Text::parse(s, 0, DESCRIPTION_MAX)
    }
    /// The workforce strategy's objectives, each once.
    pub fn objectives(input: &[String]) -> Result<Vec<Objective>, String> {
        let mut out: Vec<Objective> = Vec::new();
        for name in input {
            let objective = Objective::parse(name)?;
            if !out.contains(&objective) {
                out.push(objective);
            }
        }
        Ok(out)
    }
}

/// A new campaign as a face received it.
pub struct CampaignInput {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub objectives: Vec<String>,
}

impl NewCampaign {
    /// Checks every field; `v` may hold problems found before (dates a form could not read).
    pub fn parse(input: CampaignInput, mut v: crate::domain::Validation) -> Result<Self, crate::domain::ValidationErrors> {
        let slug = v.check("slug", rules::slug(&input.slug));
        let name = v.check("name", rules::name(&input.name));
        let description = v.check("description", rules::description(&input.description));
        let objectives = v.check("objectives", rules::objectives(&input.objectives));
        let (Some(slug), Some(name), Some(description), Some(objectives)) = (slug, name, description, objectives) else {
            return Err(v.into_errors());
        };
        v.finish()?;
        Ok(NewCampaign { slug, name, description, starts_on: input.starts_on, ends_on: input.ends_on, objectives })
    }
}

impl From<NewCampaign> for CampaignChanges {
    fn from(new: NewCampaign) -> Self {
        CampaignChanges {
            slug: Some(new.slug),
            name: Some(new.name),
            description: Some(new.description),
            starts_on: Some(new.starts_on),
            ends_on: Some(new.ends_on),
            objectives: Some(new.objectives),
        }
    }
}

/// The fields a PATCH may change; `None` leaves a field as it is.
#[derive(Default)]
pub struct CampaignChanges {
    pub slug: Option<Slug>,
    pub name: Option<Text>,
    pub description: Option<Text>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub objectives: Option<Vec<Objective>>,
}

/// The objectives' names.
pub fn objectives_of(campaign: &Campaign) -> Vec<String> {
    campaign.objectives.iter().map(|o| o.as_str().to_owned()).collect()
}

fn check_dates(starts_on: NaiveDate, ends_on: NaiveDate) -> ServiceResult<()> {
    use chrono::Datelike;
    crate::domain::check_year(starts_on.year()).map_err(|m| ServiceError::invalid("starts_on", m))?;
    crate::domain::check_year(ends_on.year()).map_err(|m| ServiceError::invalid("ends_on", m))?;
    if ends_on < starts_on {
        return Err(ServiceError::invalid("ends_on", "must not be before starts_on"));
    }
    Ok(())
}

fn map_slug_conflict(err: sea_orm::DbErr) -> ServiceError {
    if is_unique_violation(&err) { ServiceError::AlreadyExists("a campaign with this slug") } else { err.into() }
}

#[tracing::instrument(skip_all, fields(slug = new.slug.as_str()))]
pub async fn create(svc: &Services, actor: &Actor, new: NewCampaign) -> ServiceResult<Campaign> {
    super::policy::organiser(actor)?;
    check_dates(new.starts_on, new.ends_on)?;
    let now = svc.clock.now();
    campaign::ActiveModel {
        id: Set(new_id()),
        slug: Set(new.slug.as_str().to_owned()),
        name: Set(new.name.into_string()),
        description: Set(new.description.into_string()),
        starts_on: Set(new.starts_on),
        ends_on: Set(new.ends_on),
        objectives: Set(Json(new.objectives)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&svc.db.write)
    .await
    .map_err(map_slug_conflict)
    .map(Into::into)
}

pub async fn get(svc: &Services, id: Uuid) -> ServiceResult<Campaign> {
    campaign::Entity::find_by_id(id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound).map(Into::into)
}

pub async fn get_by_slug(svc: &Services, slug: &str) -> ServiceResult<Campaign> {
    campaign::Entity::find().filter(campaign::Column::Slug.eq(slug)).one(&svc.db.read).await?.ok_or(ServiceError::NotFound).map(Into::into)
}

pub async fn list(svc: &Services, page: PageRequest) -> ServiceResult<Page<Campaign>> {
    let total = campaign::Entity::find().count(&svc.db.read).await?;
    let items = campaign::Entity::find()
        .order_by_desc(campaign::Column::StartsOn)
        .order_by_asc(campaign::Column::Id)
        .limit(page.limit)
        .offset(page.offset)
        .all(&svc.db.read)
        .await?;
    Ok(Page { items: items.into_iter().map(Into::into).collect(), total, limit: page.limit, offset: page.offset })
}

#[tracing::instrument(skip_all, fields(campaign_id = %id))]
pub async fn update(svc: &Services, actor: &Actor, id: Uuid, changes: CampaignChanges) -> ServiceResult<Campaign> {
    super::policy::organiser(actor)?;
    let current = campaign::Entity::find_by_id(id).one(&svc.db.write).await?.ok_or(ServiceError::NotFound)?;
    check_dates(changes.starts_on.unwrap_or(current.starts_on), changes.ends_on.unwrap_or(current.ends_on))?;
    let mut model: campaign::ActiveModel = current.into();
    if let Some(slug) = changes.slug {
        model.slug = Set(slug.as_str().to_owned());
    }
    if let Some(name) = changes.name {
        model.name = Set(name.into_string());
    }
    if let Some(description) = changes.description {
        model.description = Set(description.into_string());
    }
    if let Some(starts_on) = changes.starts_on {
        model.starts_on = Set(starts_on);
    }
    if let Some(ends_on) = changes.ends_on {
        model.ends_on = Set(ends_on);
    }
    if let Some(objectives) = changes.objectives {
        model.objectives = Set(Json(objectives));
    }
    model.updated_at = Set(svc.clock.now());
    model.update(&svc.db.write).await.map_err(map_slug_conflict).map(Into::into)
}

/// Deletes a campaign that no event belongs to.
#[tracing::instrument(skip_all, fields(campaign_id = %id))]
pub async fn delete(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    super::policy::organiser(actor)?;
    let in_use = event::Entity::find().filter(event::Column::CampaignId.eq(id)).count(&svc.db.write).await?;
    if in_use > 0 {
        return Err(ServiceError::conflict(format!("the campaign still has {in_use} event(s); move or delete them first")));
    }
    match campaign::Entity::delete_by_id(id).exec(&svc.db.write).await {
        Ok(res) if res.rows_affected == 0 => Err(ServiceError::NotFound),
        Ok(_) => Ok(()),
        Err(err) if is_foreign_key_violation(&err) => Err(ServiceError::conflict("the campaign is still in use")),
        Err(err) => Err(err.into()),
    }
}

//! `/employers`: care employers sign up, organisers approve them, and each employer's users keep
//! their own record; `/employers/{id}/school-suggestions` proposes schools to link with.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::campaigns::NAME_MAX;
use super::common::{ApiTags, list_of, page, patch_optional, patch_required};
use super::json::JsonBody;
use super::problem::can::*;
use super::problem::{ApiError, Refused};
use super::security::BearerAuth;
use super::venues::{latitude, longitude};
use crate::domain::{CqcLocationId, EmailAddress, EmployerStatus, Postcode, ProviderType, Text, Url, Validation, ValidationErrors};
use crate::service::Services;
use crate::service::employers::{
    self, Employer, EmployerChanges, EmployerFilter, EmployerInput, NewEmployer, NewEmployerUser, SignupInput,
};
use crate::service::suggestions::{self, Suggestion};

pub struct EmployersApi {
    pub svc: Services,
}

pub const ADDRESS_MAX: usize = 500;
const SUGGESTIONS_DEFAULT: usize = 10;
const SUGGESTIONS_MAX: i64 = 100;

/// A care employer.
#[derive(Object)]
pub struct EmployerView {
    pub id: Uuid,
    pub name: String,
    /// `residential`, `nursing`, `home_care`, `supported_living`, `day_services` or `other`.
    pub provider_type: String,
    /// Like `1-123456789`.
    pub cqc_location_id: Option<String>,
    pub address: String,
    pub postcode: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub website: Option<String>,
    pub contact_name: String,
    pub contact_email: String,
    /// `pending`, `approved` or `suspended`.
    pub status: String,
    /// Whether a calendar feed address has been made (`POST /employers/{id}/feed`).
    pub has_feed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Employer> for EmployerView {
    fn from(e: Employer) -> Self {
        Self {
            id: e.id,
            name: e.name,
            provider_type: e.provider_type.as_str().to_owned(),
            cqc_location_id: e.cqc_location_id,
            address: e.address,
            postcode: e.postcode,
            latitude: e.latitude,
            longitude: e.longitude,
            website: e.website,
            contact_name: e.contact_name,
            contact_email: e.contact_email,
            status: e.status.as_str().to_owned(),
            has_feed: e.has_feed,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

list_of!(EmployerList, EmployerView);

/// A new employer.
#[derive(Object, serde::Deserialize)]
pub struct EmployerCreate {
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

/// The employer's first user, who signs in to book stands and ask for school links.
#[derive(Object, serde::Deserialize)]
pub struct SignupUser {
    pub email: String,
    pub name: String,
    /// At least 8 characters.
    pub password: String,
}

/// An employer signing itself up: its details and its first user.
#[derive(Object, serde::Deserialize)]
pub struct EmployerSignup {
    #[oai(flatten)]
    #[serde(flatten)]
    pub employer: EmployerCreate,
    pub user: SignupUser,
}

/// Changes to an employer; fields left out stay as they are, null clears an optional one.
#[derive(Object, serde::Deserialize)]
pub struct EmployerPatch {
    #[serde(default)]
    pub name: MaybeUndefined<String>,
    #[serde(default)]
    pub provider_type: MaybeUndefined<String>,
    #[serde(default)]
    pub cqc_location_id: MaybeUndefined<String>,
    #[serde(default)]
    pub address: MaybeUndefined<String>,
    #[serde(default)]
    pub postcode: MaybeUndefined<String>,
    #[serde(default)]
    pub latitude: MaybeUndefined<f64>,
    #[serde(default)]
    pub longitude: MaybeUndefined<f64>,
    #[serde(default)]
    pub website: MaybeUndefined<String>,
    #[serde(default)]
    pub contact_name: MaybeUndefined<String>,
    #[serde(default)]
    pub contact_email: MaybeUndefined<String>,
}

fn name(s: String) -> Result<Text, String> {
    Text::one_line(&s, 1, NAME_MAX)
}

fn address(s: String) -> Result<Text, String> {
    Text::parse(&s, 1, ADDRESS_MAX)
}

impl From<EmployerCreate> for EmployerInput {
    fn from(e: EmployerCreate) -> Self {
        Self {
            name: e.name,
            provider_type: e.provider_type.as_str().to_owned(),
            cqc_location_id: e.cqc_location_id,
            address: e.address,
            postcode: e.postcode,
            latitude: e.latitude,
            longitude: e.longitude,
            website: e.website,
            contact_name: e.contact_name,
            contact_email: e.contact_email,
        }
    }
}

impl TryFrom<EmployerCreate> for NewEmployer {
    type Error = ValidationErrors;

    fn try_from(input: EmployerCreate) -> Result<Self, Self::Error> {
        NewEmployer::parse(input.into())
    }
}

fn parse_signup(input: EmployerSignup) -> Result<(NewEmployer, NewEmployerUser), ValidationErrors> {
    employers::parse_signup(SignupInput {
        employer: input.employer.into(),
        user_email: input.user.email,
        user_name: input.user.name,
        password: input.user.password,
    })
}

impl TryFrom<EmployerPatch> for EmployerChanges {
    type Error = ValidationErrors;

    fn try_from(input: EmployerPatch) -> Result<Self, Self::Error> {
        let mut v = Validation::new();
        let changes = EmployerChanges {
            name: patch_required(&mut v, "name", input.name, name),
            provider_type: patch_required(&mut v, "provider_type", input.provider_type, |s| ProviderType::parse(&s)),
            cqc_location_id: patch_optional(&mut v, "cqc_location_id", input.cqc_location_id, |s| CqcLocationId::parse(&s)),
            address: patch_required(&mut v, "address", input.address, address),
            postcode: patch_required(&mut v, "postcode", input.postcode, |s| Postcode::parse(&s)),
            latitude: patch_optional(&mut v, "latitude", input.latitude, latitude),
            longitude: patch_optional(&mut v, "longitude", input.longitude, longitude),
            website: patch_optional(&mut v, "website", input.website, |s| Url::parse(&s)),
            contact_name: patch_required(&mut v, "contact_name", input.contact_name, name),
            contact_email: patch_required(&mut v, "contact_email", input.contact_email, |s| EmailAddress::parse(&s)),
        };
        v.finish()?;
        Ok(changes)
    }
}

/// What choosing a school needs. The careers leader's contact is not here: an employer sees it
/// once a link with the school is active.
#[derive(Object)]
pub struct SuggestedSchool {
    pub id: Uuid,
    /// The DfE Unique Reference Number: six digits.
    pub urn: String,
    pub name: String,
    /// The school's town: the last part of its address.
    pub town: String,
    pub district: Option<String>,
}

/// A school an employer might link with.
#[derive(Object)]
pub struct SuggestionView {
    pub school: SuggestedSchool,
    /// Great-circle distance from the employer, in kilometres.
    pub distance_km: f64,
    /// How many employers the school is already actively linked with.
    pub active_links: u64,
}

impl From<Suggestion> for SuggestionView {
    fn from(s: Suggestion) -> Self {
        let school = SuggestedSchool {
            id: s.school.id,
            town: crate::service::school_links::town(&s.school.address).unwrap_or_default().to_owned(),
            urn: s.school.urn,
            name: s.school.name,
            district: s.school.district,
        };
        Self { school, distance_km: (s.distance_km * 100.0).round() / 100.0, active_links: s.active_links }
    }
}

/// The address of an employer's calendar feed.
#[derive(Object)]
pub struct FeedView {
    /// Subscribe to this in a calendar; it holds the employer's confirmed stands and school
    /// engagements. Anyone with it can read the feed, so it is shown once: making a new one
    /// retires the old.
    pub feed_url: String,
}

#[derive(ApiResponse)]
pub enum EmployerAnswer {
    /// The employer.
    #[oai(status = 200)]
    Ok(Json<EmployerView>),
}

#[derive(ApiResponse)]
pub enum EmployerCreated {
    /// The employer, created.
    #[oai(status = 201)]
    Created(Json<EmployerView>),
}

#[derive(ApiResponse)]
pub enum EmployerListAnswer {
    /// One page of employers.
    #[oai(status = 200)]
    Ok(Json<EmployerList>),
}

#[derive(ApiResponse)]
pub enum SuggestionsAnswer {
    /// Schools, the best suggestion first.
    #[oai(status = 200)]
    Ok(Json<Vec<SuggestionView>>),
}

#[derive(ApiResponse)]
pub enum FeedAnswer {
    /// A new feed address; any earlier one no longer works.
    #[oai(status = 201)]
    Created(Json<FeedView>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Employers")]
impl EmployersApi {
    /// Sign an employer up (anyone): a `pending` employer and its first user, who can sign in
    /// at once; it acts publicly once an organiser approves it.
    #[oai(path = "/employers/signup", method = "post", operation_id = "sign_up_employer")]
    async fn sign_up(
        &self,
        req: &poem::Request,
        body: JsonBody<EmployerSignup>,
    ) -> Result<EmployerCreated, Refused<{ INPUT | CONFLICT | TOO_MANY }>> {
        let (employer, user) = parse_signup(body.0)?;
        let client = req.data::<crate::middleware::ClientAddress>().and_then(|c| c.0);
        let created = employers::sign_up(&self.svc, employer, user, client).await?;
        Ok(EmployerCreated::Created(Json(created.into())))
    }

    /// Add an employer (organisers); it is approved at once.
    #[oai(path = "/employers", method = "post", operation_id = "create_employer")]
    async fn create(
        &self,
        auth: BearerAuth,
        body: JsonBody<EmployerCreate>,
    ) -> Result<EmployerCreated, Refused<{ SIGNED_IN | INPUT | CONFLICT }>> {
        let created = employers::create(&self.svc, &auth.0.actor, body.0.try_into()?).await?;
        Ok(EmployerCreated::Created(Json(created.into())))
    }

    /// List employers by name (organisers; an employer's users see their own).
    #[oai(path = "/employers", method = "get", operation_id = "list_employers")]
    async fn list(
        &self,
        auth: BearerAuth,
        /// `pending`, `approved` or `suspended`.
        status: Query<Option<String>>,
        provider_type: Query<Option<String>>,
        /// Part of the name.
        q: Query<Option<String>>,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> Result<EmployerListAnswer, Refused<{ SIGNED_IN | INPUT }>> {
        let mut v = Validation::new();
        let status = v.check_opt("status", status.0, |s| EmployerStatus::parse(&s));
        let provider_type = v.check_opt("provider_type", provider_type.0, |s| ProviderType::parse(&s));
        v.finish()?;
        let filter = EmployerFilter { status: status.flatten(), provider_type: provider_type.flatten(), q: q.0 };
        let list = employers::list(&self.svc, &auth.0.actor, filter, page(limit.0, offset.0)?).await?;
        Ok(EmployerListAnswer::Ok(Json(list.into())))
    }

    /// One employer (organisers, or its own users).
    #[oai(path = "/employers/:id", method = "get", operation_id = "get_employer")]
    async fn get(&self, auth: BearerAuth, id: Path<Uuid>) -> Result<EmployerAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND }>> {
        Ok(EmployerAnswer::Ok(Json(employers::get(&self.svc, &auth.0.actor, id.0).await?.into())))
    }

    /// Change an employer (organisers, or its own users); status changes by approve and suspend.
    #[oai(path = "/employers/:id", method = "patch", operation_id = "update_employer")]
    async fn update(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<EmployerPatch>,
    ) -> Result<EmployerAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let changes = body.0.try_into()?;
        Ok(EmployerAnswer::Ok(Json(employers::update(&self.svc, &auth.0.actor, id.0, changes).await?.into())))
    }

    /// Approve an employer (organisers) and tell its contact.
    #[oai(path = "/employers/:id/approve", method = "post", operation_id = "approve_employer")]
    async fn approve(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<EmployerAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        Ok(EmployerAnswer::Ok(Json(employers::approve(&self.svc, &auth.0.actor, id.0).await?.into())))
    }

    /// Suspend an employer (organisers): it no longer appears publicly or books stands.
    #[oai(path = "/employers/:id/suspend", method = "post", operation_id = "suspend_employer")]
    async fn suspend(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<EmployerAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        Ok(EmployerAnswer::Ok(Json(employers::suspend(&self.svc, &auth.0.actor, id.0).await?.into())))
    }

    /// Make a new calendar feed address for an employer (organisers, or its own users).
    #[oai(path = "/employers/:id/feed", method = "post", operation_id = "new_employer_feed")]
    async fn new_feed(&self, auth: BearerAuth, id: Path<Uuid>) -> Result<FeedAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND }>> {
        let feed_url = employers::new_feed(&self.svc, &auth.0.actor, id.0).await?;
        Ok(FeedAnswer::Created(Json(FeedView { feed_url })))
    }

    /// Schools the employer might link with (organisers, or its own users): nearest first, each
    /// active link a school already has counting as 2 km further away; schools the employer
    /// already has a link with are left out. `limit` defaults to 10, at most 100.
    #[oai(path = "/employers/:id/school-suggestions", method = "get", operation_id = "suggest_schools")]
    async fn suggestions(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        limit: Query<Option<i64>>,
    ) -> Result<SuggestionsAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let limit = match limit.0 {
            None => SUGGESTIONS_DEFAULT,
            Some(n) if n < 1 => return Err(ApiError::invalid_field("limit", "must be at least 1").into()),
            Some(n) => n.min(SUGGESTIONS_MAX) as usize,
        };
        let found = suggestions::suggest(&self.svc, &auth.0.actor, id.0, limit).await?;
        Ok(SuggestionsAnswer::Ok(Json(found.into_iter().map(SuggestionView::from).collect())))
    }
}

//! `/school-links`: employers ask to be linked with schools; schools accept or decline.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::common::{ApiTags, list_of, page};
use super::json::JsonBody;
use super::problem::can::*;
use super::problem::{ApiError, Refused};
use super::security::BearerAuth;
use crate::domain::{LinkStatus, Validation};
use crate::service::Services;
use crate::service::school_links::{self, Decision, LinkDetail, LinkFilter};

pub struct SchoolLinksApi {
    pub svc: Services,
}

/// A link between a care employer and a school.
#[derive(Object)]
pub struct SchoolLinkView {
    pub id: Uuid,
    pub employer_id: Uuid,
    pub employer_name: String,
    pub school_id: Uuid,
    pub school_name: String,
    /// `requested`, `active`, `declined` or `ended`.
    pub status: String,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<LinkDetail> for SchoolLinkView {
    fn from(d: LinkDetail) -> Self {
        let l = d.link;
        Self {
            id: l.id,
            employer_id: l.employer_id,
            employer_name: d.employer_name,
            school_id: l.school_id,
            school_name: d.school_name,
            status: l.status.as_str().to_owned(),
            notes: l.notes,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

list_of!(SchoolLinkList, SchoolLinkView);

/// A request for a link.
#[derive(Object, serde::Deserialize)]
pub struct SchoolLinkCreate {
    pub employer_id: Uuid,
    pub school_id: Uuid,
    /// What the employer would like to offer; shown to the school.
    pub notes: Option<String>,
}

#[derive(ApiResponse)]
pub enum SchoolLinkAnswer {
    /// The link as it now stands.
    #[oai(status = 200)]
    Ok(Json<SchoolLinkView>),
}

#[derive(ApiResponse)]
pub enum SchoolLinkCreated {
    /// The link, requested.
    #[oai(status = 201)]
    Created(Json<SchoolLinkView>),
}

#[derive(ApiResponse)]
pub enum SchoolLinkListAnswer {
    /// One page of links, the newest first.
    #[oai(status = 200)]
    Ok(Json<SchoolLinkList>),
}

impl SchoolLinksApi {
    async fn decide(&self, auth: &BearerAuth, id: Uuid, decision: Decision) -> Result<SchoolLinkAnswer, ApiError> {
        let link = school_links::decide(&self.svc, &auth.0.actor, id, decision).await?;
        Ok(SchoolLinkAnswer::Ok(Json(link.into())))
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::SchoolLinks")]
impl SchoolLinksApi {
    /// Ask for a link between an approved employer and a school (organisers, or the employer's
    /// own users). A pair with a link that has not ended is 409.
    #[oai(path = "/school-links", method = "post", operation_id = "request_school_link")]
    async fn request(
        &self,
        auth: BearerAuth,
        body: JsonBody<SchoolLinkCreate>,
    ) -> Result<SchoolLinkCreated, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let input = body.0;
        let mut v = Validation::new();
        let notes = v.check_opt("notes", input.notes, |s| school_links::notes(&s));
        v.finish()?;
        let link = school_links::request(&self.svc, &auth.0.actor, input.employer_id, input.school_id, notes.flatten()).await?;
        Ok(SchoolLinkCreated::Created(Json(link.into())))
    }

    /// List links (organisers all; an employer's or a school's users their own).
    #[oai(path = "/school-links", method = "get", operation_id = "list_school_links")]
    async fn list(
        &self,
        auth: BearerAuth,
        employer: Query<Option<Uuid>>,
        school: Query<Option<Uuid>>,
        /// `requested`, `active`, `declined` or `ended`.
        status: Query<Option<String>>,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> Result<SchoolLinkListAnswer, Refused<{ SIGNED_IN | INPUT }>> {
        let mut v = Validation::new();
        let status = v.check_opt("status", status.0, |s| LinkStatus::parse(&s));
        v.finish()?;
        let filter = LinkFilter { employer_id: employer.0, school_id: school.0, status: status.flatten() };
        let list = school_links::list(&self.svc, &auth.0.actor, filter, page(limit.0, offset.0)?).await?;
        Ok(SchoolLinkListAnswer::Ok(Json(list.into())))
    }

    /// Accept a requested link (organisers, or the school's users); the employer is told.
    #[oai(path = "/school-links/:id/accept", method = "post", operation_id = "accept_school_link")]
    async fn accept(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<SchoolLinkAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        Ok(self.decide(&auth, id.0, Decision::Accept).await?)
    }

    /// Decline a requested link (organisers, or the school's users); the employer is told.
    #[oai(path = "/school-links/:id/decline", method = "post", operation_id = "decline_school_link")]
    async fn decline(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<SchoolLinkAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        Ok(self.decide(&auth, id.0, Decision::Decline).await?)
    }

    /// End a link (organisers, the school's users or the employer's users); the pair may then
    /// ask again.
    #[oai(path = "/school-links/:id/end", method = "post", operation_id = "end_school_link")]
    async fn end(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<SchoolLinkAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        Ok(self.decide(&auth, id.0, Decision::End).await?)
    }
}

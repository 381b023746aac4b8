//! `/events/{id}/exhibitors`: employers' stands at recruitment fairs.

use chrono::{DateTime, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::common::ApiTags;
use super::json::JsonBody;
use super::problem::Refused;
use super::problem::can::*;
use super::security::{BearerAuth, OptionalAuth};
use crate::domain::Validation;
use crate::service::Services;
use crate::service::exhibitors::{self, NewStand, StandDecision, StandDetail, roles_of};

pub struct ExhibitorsApi {
    pub svc: Services,
}

/// A care employer's stand at a fair.
#[derive(Object)]
pub struct ExhibitorView {
    pub id: Uuid,
    pub event_id: Uuid,
    pub employer_id: Uuid,
    pub employer_name: String,
    /// `residential`, `nursing`, `home_care`, `supported_living`, `day_services` or `other`.
    pub provider_type: String,
    pub website: Option<String>,
    /// `requested`, `confirmed`, `declined` or `withdrawn`.
    pub status: String,
    /// Where to find the stand, once confirmed.
    pub stand_label: Option<String>,
    pub staff_count: i32,
    /// The roles the employer is recruiting for.
    pub roles_offered: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<StandDetail> for ExhibitorView {
    fn from(d: StandDetail) -> Self {
        let x = d.exhibitor;
        Self {
            roles_offered: roles_of(&x),
            id: x.id,
            event_id: x.event_id,
            employer_id: x.employer_id,
            employer_name: d.employer.name,
            provider_type: d.employer.provider_type.as_str().to_owned(),
            website: d.employer.website,
            status: x.status.as_str().to_owned(),
            stand_label: x.stand_label,
            staff_count: x.staff_count,
            created_at: x.created_at,
        }
    }
}

/// A booking for a stand.
#[derive(Object, serde::Deserialize)]
pub struct ExhibitorCreate {
    pub employer_id: Uuid,
    /// How many staff will be on the stand: 1 to 50.
    pub staff_count: i64,
    #[serde(default)]
    #[oai(default)]
    pub roles_offered: Vec<String>,
}

/// The stand's label, unique within the fair (like `A12`).
#[derive(Object, serde::Deserialize)]
pub struct ConfirmRequest {
    pub stand_label: String,
}

#[derive(ApiResponse)]
pub enum ExhibitorAnswer {
    /// The stand as it now stands.
    #[oai(status = 200)]
    Ok(Json<ExhibitorView>),
}

#[derive(ApiResponse)]
pub enum ExhibitorCreated {
    /// The stand, requested.
    #[oai(status = 201)]
    Created(Json<ExhibitorView>),
}

#[derive(ApiResponse)]
pub enum ExhibitorListAnswer {
    /// The stands the caller may see.
    #[oai(status = 200)]
    Ok(Json<Vec<ExhibitorView>>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Exhibitors")]
impl ExhibitorsApi {
    /// Book a stand at a recruitment fair (organisers, or an approved employer's own users).
    #[oai(path = "/events/:id/exhibitors", method = "post", operation_id = "book_stand")]
    async fn book(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<ExhibitorCreate>,
    ) -> Result<ExhibitorCreated, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let input = body.0;
        let stand = NewStand::parse(input.employer_id, input.staff_count, &input.roles_offered)?;
        let booked = exhibitors::book(&self.svc, &auth.0.actor, id.0, stand).await?;
        Ok(ExhibitorCreated::Created(Json(booked.into())))
    }

    /// Who will be at the fair: anyone sees confirmed stands, an employer's users also their own
    /// booking, organisers every booking.
    #[oai(path = "/events/:id/exhibitors", method = "get", operation_id = "list_exhibitors")]
    async fn list(&self, auth: OptionalAuth, id: Path<Uuid>) -> Result<ExhibitorListAnswer, Refused<{ BAD_REQUEST | NOT_FOUND }>> {
        let stands = exhibitors::list(&self.svc, auth.actor(), id.0).await?;
        Ok(ExhibitorListAnswer::Ok(Json(stands.into_iter().map(ExhibitorView::from).collect())))
    }

    /// Confirm a stand with its label (organisers); beyond the fair's `max_exhibitors`, or a
    /// label already taken, is 409. The employer is told.
    #[oai(path = "/events/:id/exhibitors/:xid/confirm", method = "post", operation_id = "confirm_stand")]
    async fn confirm(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        xid: Path<Uuid>,
        body: JsonBody<ConfirmRequest>,
    ) -> Result<ExhibitorAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let mut v = Validation::new();
        let label = v.check("stand_label", exhibitors::stand_label(&body.0.stand_label));
        let Some(label) = label else { return Err(v.into_errors().into()) };
        Ok(ExhibitorAnswer::Ok(Json(exhibitors::confirm(&self.svc, &auth.0.actor, id.0, xid.0, label).await?.into())))
    }

    /// Decline a stand (organisers).
    #[oai(path = "/events/:id/exhibitors/:xid/decline", method = "post", operation_id = "decline_stand")]
    async fn decline(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        xid: Path<Uuid>,
    ) -> Result<ExhibitorAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        let stand = exhibitors::decide(&self.svc, &auth.0.actor, id.0, xid.0, StandDecision::Decline).await?;
        Ok(ExhibitorAnswer::Ok(Json(stand.into())))
    }

    /// Withdraw a stand (the employer's own users).
    #[oai(path = "/events/:id/exhibitors/:xid/withdraw", method = "post", operation_id = "withdraw_stand")]
    async fn withdraw(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        xid: Path<Uuid>,
    ) -> Result<ExhibitorAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        let stand = exhibitors::decide(&self.svc, &auth.0.actor, id.0, xid.0, StandDecision::Withdraw).await?;
        Ok(ExhibitorAnswer::Ok(Json(stand.into())))
    }
}

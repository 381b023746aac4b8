//! What came of a fair: stages recorded by employers with a confirmed stand (and organisers)
//! for attendees who agreed to share their details with them.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::common::ApiTags;
use super::json::JsonBody;
use super::problem::Refused;
use super::problem::can::*;
use super::security::BearerAuth;
use crate::service::Services;
use crate::service::outcomes::{self, Outcome, OutcomeInput, SharedAttendee};

pub struct OutcomesApi {
    pub svc: Services,
}

/// A stage to record.
#[derive(Object, serde::Deserialize)]
pub struct OutcomeCreate {
    pub registration_id: Uuid,
    pub employer_id: Uuid,
    /// `met`, `interviewed`, `offered` or `started`.
    pub stage: String,
    /// At most 1,000 characters.
    pub note: Option<String>,
}

/// A stage recorded.
#[derive(Object)]
pub struct OutcomeView {
    pub id: Uuid,
    pub event_id: Uuid,
    pub registration_id: Uuid,
    pub employer_id: Uuid,
    pub stage: String,
    pub note: Option<String>,
    pub recorded_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<Outcome> for OutcomeView {
    fn from(o: Outcome) -> Self {
        Self {
            id: o.id,
            event_id: o.event_id,
            registration_id: o.registration_id,
            employer_id: o.employer_id,
            stage: o.stage.as_str().to_owned(),
            note: o.note,
            recorded_by: o.recorded_by,
            created_at: o.created_at,
        }
    }
}

/// An attendee who agreed to share their details with the employers at the fair.
#[derive(Object)]
pub struct SharedAttendeeView {
    pub registration_id: Uuid,
    pub name: String,
    pub email: String,
    /// The stages this employer recorded, in order.
    pub outcomes: Vec<OutcomeView>,
}

impl From<SharedAttendee> for SharedAttendeeView {
    fn from(a: SharedAttendee) -> Self {
        Self { registration_id: a.registration_id, name: a.name, email: a.email, outcomes: a.stages.into_iter().map(Into::into).collect() }
    }
}

#[derive(ApiResponse)]
pub enum OutcomeCreated {
    /// Recorded.
    #[oai(status = 201)]
    Created(Json<OutcomeView>),
}

#[derive(ApiResponse)]
pub enum SharedAnswer {
    /// The attendees who agreed, by name.
    #[oai(status = 200)]
    Ok(Json<Vec<SharedAttendeeView>>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Exhibitors")]
impl OutcomesApi {
    /// Record what came of meeting an attendee (organisers, or the employer's users while it has
    /// a confirmed stand at the fair). Only for attendees who agreed at registration to share
    /// their details with the employers there; each stage once per person and employer.
    #[oai(path = "/events/:id/outcomes", method = "post", operation_id = "record_outcome")]
    async fn record(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<OutcomeCreate>,
    ) -> Result<OutcomeCreated, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let b = body.0;
        let input = OutcomeInput { registration_id: b.registration_id, employer_id: b.employer_id, stage: b.stage, note: b.note };
        let made = outcomes::record(&self.svc, &auth.0.actor, id.0, input, &auth.0.user.name).await?;
        Ok(OutcomeCreated::Created(Json(made.into())))
    }

    /// The fair's attendees who agreed to share their details, with the stages `employer_id`
    /// recorded (organisers, or that employer's users while it has a confirmed stand there).
    #[oai(path = "/events/:id/outcomes", method = "get", operation_id = "list_outcomes")]
    async fn shared(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        employer_id: Query<Uuid>,
    ) -> Result<SharedAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        let found = outcomes::shared_with(&self.svc, &auth.0.actor, id.0, employer_id.0).await?;
        Ok(SharedAnswer::Ok(Json(found.into_iter().map(Into::into).collect())))
    }
}

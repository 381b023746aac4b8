//! Registrations: candidates register without an account and manage their place by token;
//! organisers list, export, check in and close.

use crate::middleware::ClientAddress;
use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::common::{ApiTags, list_of, page};
use super::events::EventView;
use super::json::JsonBody;
use super::problem::can::*;
use super::problem::{ApiError, Refused};
use super::security::BearerAuth;
use crate::domain::{RegistrationStatus, ValidationErrors};
use crate::service::Services;
use crate::service::door::{self, Doorkeeper, Ticket};
use crate::service::questions::Given;
use crate::service::registrar::{IdempotencyKey, Person, PersonInput, RegisterRequest, Registered};
use crate::service::registrations::{self, HeldRegistration, RegistrationDetail};

pub struct RegistrationsApi {
    pub svc: Services,
}

/// Someone registering for an event. No account is needed.
#[derive(Object, serde::Deserialize, serde::Serialize)]
pub struct RegistrationCreate {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub postcode: Option<String>,
    /// What kinds of care work interest them (free text, at most 20).
    #[serde(default)]
    #[oai(default)]
    pub interests: Vec<String>,
    /// Whether they agree to hear about future events; recorded with its time.
    pub consent_marketing: bool,
    /// How they heard about the event.
    pub source: Option<String>,
    /// Answers to the event's questions (`GET /events/{id}/questions`), by question id: text
    /// for a text question, one of the options for a choice, `true`/`false` (or `"yes"`/`"no"`)
    /// for a yes/no question. A required one left out, an unknown question or a choice not
    /// offered is a 422 naming `answers.{question_id}`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[oai(default)]
    pub answers: std::collections::BTreeMap<String, serde_json::Value>,
    /// Whether they agree that the employers at the fair may see their name and email address
    /// and record what came of meeting them (met, interviewed, offered, started). Off unless
    /// given.
    #[serde(default)]
    #[oai(default)]
    pub consent_share_with_employers: bool,
}

/// An answer as the JSON body held it.
pub(crate) fn given(value: &serde_json::Value) -> Given {
    match value {
        serde_json::Value::String(s) => Given::Text(s.clone()),
        serde_json::Value::Bool(b) => Given::Bool(*b),
        _ => Given::Other,
    }
}

impl TryFrom<RegistrationCreate> for Person {
    type Error = ValidationErrors;

    fn try_from(input: RegistrationCreate) -> Result<Self, Self::Error> {
        Person::parse(PersonInput {
            name: input.name,
            email: input.email,
            phone: input.phone,
            postcode: input.postcode,
            interests: input.interests,
            consent_marketing: input.consent_marketing,
            source: input.source,
        })
    }
}

/// The outcome of a registration.
#[derive(Object)]
pub struct RegisteredView {
    pub id: Uuid,
    pub event_id: Uuid,
    /// `confirmed` or `waitlisted`.
    pub status: String,
    /// For the waitlisted: their place in the queue, from 1.
    pub position: Option<i64>,
    /// Where the holder sees or cancels their place; keep it private.
    pub manage_url: String,
    /// Typed at the door when the ticket's QR code cannot be scanned.
    pub ticket_code: String,
}

impl From<Registered> for RegisteredView {
    fn from(r: Registered) -> Self {
        Self {
            id: r.id,
            event_id: r.event_id,
            status: r.status.as_str().to_owned(),
            position: r.position,
            manage_url: r.manage_url,
            ticket_code: r.ticket_code,
        }
    }
}

/// One registration, as organisers see it.
#[derive(Object)]
pub struct RegistrationItem {
    pub id: Uuid,
    pub candidate_id: Uuid,
    pub name: String,
    pub email: String,
    /// `confirmed`, `waitlisted`, `offered`, `cancelled`, `attended` or `no_show`.
    pub status: String,
    /// For the waitlisted: their current place in the queue.
    pub position: Option<i64>,
    pub ticket_code: String,
    /// Whether they agreed that the employers at the fair may see their details.
    pub consent_share_with_employers: bool,
    pub checked_in_at: Option<DateTime<Utc>>,
    /// The door that checked the person in.
    pub checked_in_by: Option<String>,
    /// What they answered to the event's questions, in form order.
    pub answers: Vec<super::candidates::AnswerView>,
    pub created_at: DateTime<Utc>,
}

impl From<RegistrationDetail> for RegistrationItem {
    fn from(d: RegistrationDetail) -> Self {
        Self {
            id: d.registration.id,
            candidate_id: d.candidate.id,
            name: d.candidate.name,
            email: d.candidate.email,
            status: d.registration.status.as_str().to_owned(),
            position: d.position,
            ticket_code: d.registration.ticket_code.to_string(),
            consent_share_with_employers: d.registration.consent_share_with_employers,
            checked_in_at: d.registration.checked_in_at,
            checked_in_by: d.registration.checked_in_by,
            answers: d.answers.into_iter().map(Into::into).collect(),
            created_at: d.registration.created_at,
        }
    }
}

list_of!(RegistrationList, RegistrationItem);

/// A registration as its holder sees it, with the event.
#[derive(Object)]
pub struct HeldRegistrationView {
    pub id: Uuid,
    pub status: String,
    pub position: Option<i64>,
    pub name: String,
    pub email: String,
    /// The ticket's code, for confirmed places.
    pub ticket_code: Option<String>,
    /// While a place is offered (`status` `offered`): claim it before this.
    pub offer_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub event: EventView,
}

impl From<HeldRegistration> for HeldRegistrationView {
    fn from(h: HeldRegistration) -> Self {
        Self {
            id: h.detail.registration.id,
            status: h.detail.registration.status.as_str().to_owned(),
            position: h.detail.position,
            name: h.detail.candidate.name,
            email: h.detail.candidate.email,
            ticket_code: h.detail.registration.status.holds_place().then(|| h.detail.registration.ticket_code.to_string()),
            offer_expires_at: h.detail.registration.offer_expires_at,
            created_at: h.detail.registration.created_at,
            event: h.event.into(),
        }
    }
}

/// How many confirmed registrations were closed as no-shows.
#[derive(Object)]
pub struct ClosedView {
    pub no_show: u64,
}

#[derive(ApiResponse)]
pub enum RegisterAnswer {
    /// Registered: confirmed, or waitlisted with a position. A retry with the same
    /// `Idempotency-Key` and body gets this same answer.
    #[oai(status = 201)]
    Created(Json<RegisteredView>),
}

#[derive(ApiResponse)]
pub enum RegistrationListAnswer {
    /// One page of registrations, oldest first.
    #[oai(status = 200)]
    Ok(Json<RegistrationList>),
}

#[derive(ApiResponse)]
pub enum RegistrationCsvAnswer {
    /// Every registration as CSV (UTF-8, header row; cells that a spreadsheet would run as a
    /// formula are prefixed with `'`).
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Ok(PlainText<String>, #[oai(header = "Content-Disposition")] String),
}

#[derive(ApiResponse)]
pub enum RegistrationItemAnswer {
    /// The registration.
    #[oai(status = 200)]
    Ok(Json<RegistrationItem>),
}

#[derive(ApiResponse)]
pub enum HeldAnswer {
    /// The registration and its event.
    #[oai(status = 200)]
    Ok(Json<HeldRegistrationView>),
}

#[derive(ApiResponse)]
pub enum ClosedAnswer {
    /// Closed; the event is completed.
    #[oai(status = 200)]
    Ok(Json<ClosedView>),
}

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters.
fn idempotency_key(header: Option<String>, body: &RegistrationCreate) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(key) = header else { return Ok(None) };
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid_field("Idempotency-Key", "must be 1 to 255 visible ASCII characters"));
    }
    // The body as parsed and serialised again, so that a retry that only differs in spacing or
    // key order counts as the same request.
    let canonical = serde_json::to_vec(body).unwrap_or_default();
    Ok(Some(IdempotencyKey { key, request_hash: hex::encode(Sha256::digest(canonical)) }))
}

fn status_filter(status: Option<String>) -> Result<Option<RegistrationStatus>, ApiError> {
    status.map(|s| RegistrationStatus::parse(&s).map_err(|m| ApiError::invalid_field("status", &m))).transpose()
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Registrations")]
impl RegistrationsApi {
    /// Register for a published event inside its registration window. While places are left the
    /// registration is confirmed, then waitlisted in arrival order. A second live registration
    /// for the same email is a 409; a draft, cancelled or closed event is a 409 with the reason.
    #[oai(path = "/events/:id/registrations", method = "post", operation_id = "register")]
    async fn register(
        &self,
        req: &Request,
        id: Path<Uuid>,
        #[oai(name = "Idempotency-Key")] key: Header<Option<String>>,
        body: JsonBody<RegistrationCreate>,
    ) -> Result<RegisterAnswer, Refused<{ INPUT | NOT_FOUND | CONFLICT | TOO_MANY }>> {
        let idempotency = idempotency_key(key.0, &body.0)?;
        let answers = body.0.answers.iter().map(|(k, v)| (k.clone(), given(v))).collect();
        let consent_share_with_employers = body.0.consent_share_with_employers;
        let person = Person::try_from(body.0)?;
        let client = req.data::<ClientAddress>().and_then(|c| c.0);
        let request = RegisterRequest { event_id: id.0, person, idempotency, given: answers, consent_share_with_employers };
        let registered = registrations::register(&self.svc, client, request).await?;
        Ok(RegisterAnswer::Created(Json(registered.into())))
    }

    /// An event's registrations (organisers), optionally of one `status`.
    #[oai(path = "/events/:id/registrations", method = "get", operation_id = "list_registrations")]
    async fn list(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        status: Query<Option<String>>,
        /// Part of a name or email address, in any case.
        q: Query<Option<String>>,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> Result<RegistrationListAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND }>> {
        let status = status_filter(status.0)?;
        if q.0.as_ref().is_some_and(|q| q.chars().count() > 200) {
            return Err(ApiError::invalid_field("q", "must be at most 200 characters").into());
        }
        let list = registrations::list(&self.svc, &auth.0.actor, id.0, status, q.0.as_deref(), Some(page(limit.0, offset.0)?)).await?;
        Ok(RegistrationListAnswer::Ok(Json(list.into())))
    }

    /// An event's registrations as CSV (organisers).
    #[oai(path = "/events/:id/registrations.csv", method = "get", operation_id = "export_registrations_csv")]
    async fn csv(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        status: Query<Option<String>>,
    ) -> Result<RegistrationCsvAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND }>> {
        let status = status_filter(status.0)?;
        let csv = crate::service::exports::registrations(&self.svc, &auth.0.actor, id.0, status).await?;
        Ok(RegistrationCsvAnswer::Ok(PlainText(csv), format!("attachment; filename=\"registrations-{}.csv\"", id.0)))
    }

    /// Mark someone as attended (organisers). A cancelled or waitlisted registration is a 409.
    #[oai(path = "/events/:id/registrations/:rid/check-in", method = "post", operation_id = "check_in")]
    async fn check_in(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        rid: Path<Uuid>,
    ) -> Result<RegistrationItemAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        let keeper = Doorkeeper::staff(&auth.0.actor, &auth.0.user.name);
        door::check_in(&self.svc, &keeper, id.0, Ticket::Id(rid.0)).await?;
        Ok(RegistrationItemAnswer::Ok(Json(registrations::detail(&self.svc, id.0, rid.0).await?.into())))
    }

    /// Cancel someone's registration (organisers); their place goes to the waiting list.
    #[oai(path = "/events/:id/registrations/:rid/cancel", method = "post", operation_id = "cancel_registration")]
    async fn cancel(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        rid: Path<Uuid>,
    ) -> Result<RegistrationItemAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        registrations::cancel(&self.svc, &auth.0.actor, id.0, rid.0).await?;
        Ok(RegistrationItemAnswer::Ok(Json(registrations::detail(&self.svc, id.0, rid.0).await?.into())))
    }

    /// After the event: close it, marking confirmed people who were not checked in as no-shows
    /// (organisers). Before the end it is a 409.
    #[oai(path = "/events/:id/registrations/close", method = "post", operation_id = "close_registrations")]
    async fn close(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<ClosedAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        let no_show = registrations::close(&self.svc, &auth.0.actor, id.0).await?;
        Ok(ClosedAnswer::Ok(Json(ClosedView { no_show })))
    }

    /// The registration a manage token belongs to, with its event.
    #[oai(path = "/registrations/:token", method = "get", operation_id = "get_registration")]
    async fn held(&self, token: Path<String>) -> Result<HeldAnswer, Refused<{ NOT_FOUND }>> {
        Ok(HeldAnswer::Ok(Json(registrations::held(&self.svc, &token.0).await?.into())))
    }

    /// Claim the place offered to you from the waiting list: confirmed, with your ticket by
    /// mail. An expired offer (or none) is a 409.
    #[oai(path = "/registrations/:token/claim", method = "post", operation_id = "claim_offer")]
    async fn claim(&self, token: Path<String>) -> Result<HeldAnswer, Refused<{ NOT_FOUND | CONFLICT }>> {
        Ok(HeldAnswer::Ok(Json(registrations::claim(&self.svc, &token.0).await?.into())))
    }

    /// Cancel one's own place. Cancelling again is not an error.
    #[oai(path = "/registrations/:token", method = "delete", operation_id = "cancel_own_registration")]
    async fn cancel_own(&self, token: Path<String>) -> Result<HeldAnswer, Refused<{ NOT_FOUND | CONFLICT }>> {
        Ok(HeldAnswer::Ok(Json(registrations::cancel_by_token(&self.svc, &token.0).await?.into())))
    }
}

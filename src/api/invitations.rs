//! Invitations and their RSVP links.

use crate::middleware::ClientAddress;
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::common::ApiTags;
use super::json::JsonBody;
use super::problem::can::*;
use super::problem::{ApiError, Refused};
use super::registrations::RegisteredView;
use super::security::BearerAuth;
use crate::domain::Text;
use crate::service::Services;
use crate::service::invitations::{self, Answer, Recipient, RsvpOutcome};

pub struct InvitationsApi {
    pub svc: Services,
}

/// Someone to invite.
#[derive(Object, serde::Deserialize)]
pub struct RecipientInput {
    pub name: String,
    pub email: String,
}

/// People to invite to an event, with an optional note for the email.
#[derive(Object, serde::Deserialize)]
pub struct InvitationsCreate {
    /// 1 to 1,000 people; an address given twice is invited once.
    pub recipients: Vec<RecipientInput>,
    /// A note from the organiser, shown in the email (plain text, up to 2,000 characters).
    pub message: Option<String>,
}

/// How many invitations were queued.
#[derive(Object)]
pub struct QueuedView {
    pub queued: u64,
}

/// What an RSVP did.
#[derive(Object)]
pub struct RsvpView {
    pub event_id: Uuid,
    /// `accepted` or `declined`.
    pub answer: String,
    /// The invitation had been answered before with this answer; nothing changed.
    pub already_answered: bool,
    /// The place booked by accepting (confirmed or waitlisted), on the answer that booked it.
    pub registration: Option<RegisteredView>,
}

impl From<RsvpOutcome> for RsvpView {
    fn from(o: RsvpOutcome) -> Self {
        Self {
            event_id: o.event_id,
            answer: o.answer.recorded().to_owned(),
            already_answered: o.already_answered,
            registration: o.registration.map(Into::into),
        }
    }
}

#[derive(ApiResponse)]
pub enum QueuedAnswer {
    /// Queued; the emails go out shortly.
    #[oai(status = 202)]
    Accepted(Json<QueuedView>),
}

#[derive(ApiResponse)]
pub enum RsvpAnswer {
    /// The answer is recorded.
    #[oai(status = 200)]
    Ok(Json<RsvpView>),
}

fn recipients(input: InvitationsCreate) -> Result<(Vec<Recipient>, Option<Text>), ApiError> {
    let people = input.recipients.into_iter().map(|r| (r.name, r.email)).collect();
    Ok(invitations::parse_invite(people, input.message)?)
}

/// An answer to an invitation.
#[derive(Object, serde::Deserialize)]
pub struct RsvpRequest {
    /// `accept` or `decline`.
    pub answer: String,
    /// With `accept`: answers to the event's questions, as a registration takes them.
    #[serde(default)]
    #[oai(default)]
    pub answers: std::collections::BTreeMap<String, serde_json::Value>,
    /// With `accept`: whether the employers at the fair may see their name and email address,
    /// as a registration's. Off unless given.
    #[serde(default)]
    #[oai(default)]
    pub consent_share_with_employers: bool,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Invitations")]
impl InvitationsApi {
    /// Invite people to a published event by email (organisers). Each gets an invitation with
    /// the event's calendar (iTIP REQUEST) and links to accept or decline. Every address is
    /// checked first; one bad address and nothing is queued.
    #[oai(path = "/events/:id/invitations", method = "post", operation_id = "invite")]
    async fn invite(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<InvitationsCreate>,
    ) -> Result<QueuedAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let (recipients, message) = recipients(body.0)?;
        let queued = invitations::invite(&self.svc, &auth.0.actor, id.0, recipients, message).await?;
        Ok(QueuedAnswer::Accepted(Json(QueuedView { queued: queued as u64 })))
    }

    /// Answer an invitation: `accept` books a place (or a place on the waiting list), `decline`
    /// records the refusal. The first answer counts; the same answer again is repeated, the
    /// other one is a 409. The invitation's links open a page (`GET /rsvp/{token}`, outside the
    /// API) that asks; only this POST answers, so a mail scanner following links changes nothing.
    #[oai(path = "/rsvp/:token", method = "post", operation_id = "rsvp")]
    async fn rsvp(
        &self,
        req: &Request,
        token: Path<String>,
        body: JsonBody<RsvpRequest>,
    ) -> Result<RsvpAnswer, Refused<{ INPUT | NOT_FOUND | CONFLICT | TOO_MANY }>> {
        let body = body.0;
        let answer = Answer::parse(&body.answer).map_err(|m| ApiError::invalid_field("answer", &m))?;
        let reply = invitations::Reply {
            answer,
            given: body.answers.iter().map(|(k, v)| (k.clone(), super::registrations::given(v))).collect(),
            consent_share_with_employers: body.consent_share_with_employers,
        };
        let client = req.data::<ClientAddress>().and_then(|c| c.0);
        Ok(RsvpAnswer::Ok(Json(invitations::rsvp(&self.svc, &token.0, reply, client).await?.into())))
    }
}

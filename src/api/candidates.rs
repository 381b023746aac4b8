//! `/candidates/{id}`: what is held about a candidate, and erasing it (organisers).

use chrono::{DateTime, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::campaigns::DeletedAnswer;
use super::common::ApiTags;
use super::problem::Refused;
use super::problem::can::*;
use super::security::BearerAuth;
use crate::service::Services;
use crate::service::candidates::{self, CandidateExport};

pub struct CandidatesApi {
    pub svc: Services,
}

/// Everything held about a candidate.
#[derive(Object)]
pub struct CandidateExportView {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub postcode: Option<String>,
    pub interests: Vec<String>,
    pub consent_marketing: bool,
    pub consent_at: Option<DateTime<Utc>>,
    pub source: Option<String>,
    pub erased_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub registrations: Vec<ExportedRegistration>,
    pub messages: Vec<ExportedMessage>,
}

/// A registration in an export.
#[derive(Object)]
pub struct ExportedRegistration {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_title: Option<String>,
    pub event_starts_at: Option<DateTime<Utc>>,
    pub status: String,
    /// What they answered to the event's questions, in form order.
    pub answers: Vec<AnswerView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An answer to one of an event's registration questions.
#[derive(Object)]
pub struct AnswerView {
    pub question_id: Uuid,
    /// The question as it was asked.
    pub question: String,
    pub value: String,
}

impl From<crate::service::questions::Answered> for AnswerView {
    fn from(a: crate::service::questions::Answered) -> Self {
        Self { question_id: a.question_id, question: a.label, value: a.value }
    }
}

/// A message sent or queued to the candidate.
#[derive(Object)]
pub struct ExportedMessage {
    pub kind: String,
    pub subject: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<CandidateExport> for CandidateExportView {
    fn from(mut x: CandidateExport) -> Self {
        let c = x.candidate;
        Self {
            id: c.id,
            interests: c.interests.clone(),
            name: c.name,
            email: c.email,
            phone: c.phone,
            postcode: c.postcode,
            consent_marketing: c.consent_marketing,
            consent_at: c.consent_at,
            source: c.source,
            erased_at: c.erased_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
            registrations: x
                .registrations
                .into_iter()
                .map(|(r, e)| ExportedRegistration {
                    id: r.id,
                    event_id: r.event_id,
                    event_title: e.as_ref().map(|e| e.title.clone()),
                    event_starts_at: e.map(|e| e.starts_at),
                    status: r.status.as_str().to_owned(),
                    answers: x.answers.remove(&r.id).unwrap_or_default().into_iter().map(AnswerView::from).collect(),
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                })
                .collect(),
            messages: x
                .messages
                .into_iter()
                .map(|m| ExportedMessage {
                    kind: m.kind.as_str().to_owned(),
                    subject: m.subject,
                    status: m.status.as_str().to_owned(),
                    created_at: m.created_at,
                    sent_at: m.sent_at,
                })
                .collect(),
        }
    }
}

#[derive(ApiResponse)]
pub enum ExportAnswer {
    /// Everything held about the candidate.
    #[oai(status = 200)]
    Ok(Json<CandidateExportView>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Candidates")]
impl CandidatesApi {
    /// Everything held about a candidate (organisers): a subject access request.
    #[oai(path = "/candidates/:id/export", method = "get", operation_id = "export_candidate")]
    async fn export(&self, auth: BearerAuth, id: Path<Uuid>) -> Result<ExportAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND }>> {
        Ok(ExportAnswer::Ok(Json(candidates::export(&self.svc, &auth.0.actor, id.0).await?.into())))
    }

    /// Erase a candidate's personal data (organisers). Their registrations stay as anonymous
    /// counts; messages to them are deleted and their manage links stop working.
    #[oai(path = "/candidates/:id", method = "delete", operation_id = "erase_candidate")]
    async fn erase(&self, auth: BearerAuth, id: Path<Uuid>) -> Result<DeletedAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND }>> {
        candidates::erase(&self.svc, &auth.0.actor, id.0).await?;
        Ok(DeletedAnswer::Deleted)
    }
}

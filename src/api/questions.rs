//! Registration questions: organisers ask them per event; anyone reads a published event's.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::campaigns::DeletedAnswer;
use super::common::ApiTags;
use super::json::JsonBody;
use super::problem::Refused;
use super::problem::can::*;
use super::security::{BearerAuth, OptionalAuth};
use crate::service::Services;
use crate::service::questions::{self, Question, QuestionInput, QuestionPatch};

pub struct QuestionsApi {
    pub svc: Services,
}

/// A question on an event's registration form.
#[derive(Object)]
pub struct QuestionView {
    pub id: Uuid,
    pub event_id: Uuid,
    pub label: String,
    /// `text`, `choice` or `yes_no`.
    pub kind: String,
    /// A choice's options; empty for the other kinds.
    pub options: Vec<String>,
    pub required: bool,
    /// Why it is asked; shown beside it.
    pub purpose: String,
    /// No longer asked (kept because someone answered it).
    pub hidden: bool,
    pub position: i32,
    pub created_at: DateTime<Utc>,
}

impl From<Question> for QuestionView {
    fn from(q: Question) -> Self {
        Self {
            id: q.id,
            event_id: q.event_id,
            label: q.label,
            kind: q.kind.as_str().to_owned(),
            options: q.options,
            required: q.required,
            purpose: q.purpose,
            hidden: q.hidden,
            position: q.position,
            created_at: q.created_at,
        }
    }
}

/// A new question.
#[derive(Object, serde::Deserialize)]
pub struct QuestionCreate {
    /// One line, at most 200 characters.
    pub label: String,
    /// `text`, `choice` or `yes_no`.
    pub kind: String,
    /// For a choice: 2 to 20 options.
    #[oai(default)]
    #[serde(default)]
    pub options: Vec<String>,
    #[oai(default)]
    #[serde(default)]
    pub required: bool,
    /// Why it is asked (shown beside it): one line, at most 300 characters.
    pub purpose: String,
}

/// A change to a question; what is left out stays. Its kind cannot change.
#[derive(Object, serde::Deserialize)]
pub struct QuestionChange {
    pub label: Option<String>,
    pub options: Option<Vec<String>>,
    pub required: Option<bool>,
    pub purpose: Option<String>,
    /// Hide a question (no longer asked), or ask it again.
    pub hidden: Option<bool>,
}

#[derive(ApiResponse)]
pub enum QuestionCreated {
    /// The question, last on the form.
    #[oai(status = 201)]
    Created(Json<QuestionView>),
}

#[derive(ApiResponse)]
pub enum QuestionAnswer {
    /// The question.
    #[oai(status = 200)]
    Ok(Json<QuestionView>),
}

#[derive(ApiResponse)]
pub enum QuestionsAnswer {
    /// The questions in form order.
    #[oai(status = 200)]
    Ok(Json<Vec<QuestionView>>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Events")]
impl QuestionsApi {
    /// Ask a question on an event's registration form (organisers): at most 20 an event.
    #[oai(path = "/events/:id/questions", method = "post", operation_id = "create_question")]
    async fn create(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<QuestionCreate>,
    ) -> Result<QuestionCreated, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let b = body.0;
        let input = QuestionInput { label: b.label, kind: b.kind, options: b.options, required: b.required, purpose: b.purpose };
        Ok(QuestionCreated::Created(Json(questions::create(&self.svc, &auth.0.actor, id.0, input).await?.into())))
    }

    /// A published event's questions, in form order (anyone); with `hidden=true`, organisers
    /// also see the ones no longer asked.
    #[oai(path = "/events/:id/questions", method = "get", operation_id = "list_questions")]
    async fn list(
        &self,
        auth: OptionalAuth,
        id: Path<Uuid>,
        hidden: Query<Option<bool>>,
    ) -> Result<QuestionsAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND }>> {
        let found = questions::list(&self.svc, auth.actor(), id.0, hidden.0.unwrap_or(false)).await?;
        Ok(QuestionsAnswer::Ok(Json(found.into_iter().map(QuestionView::from).collect())))
    }

    /// Change a question (organisers): a choice keeps every option someone chose.
    #[oai(path = "/events/:id/questions/:qid", method = "patch", operation_id = "update_question")]
    async fn update(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        qid: Path<Uuid>,
        body: JsonBody<QuestionChange>,
    ) -> Result<QuestionAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND }>> {
        let b = body.0;
        let patch = QuestionPatch { label: b.label, options: b.options, required: b.required, purpose: b.purpose, hidden: b.hidden };
        Ok(QuestionAnswer::Ok(Json(questions::update(&self.svc, &auth.0.actor, id.0, qid.0, patch).await?.into())))
    }

    /// Delete a question nobody has answered (organisers); an answered one is a 409: hide it.
    #[oai(path = "/events/:id/questions/:qid", method = "delete", operation_id = "delete_question")]
    async fn delete(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        qid: Path<Uuid>,
    ) -> Result<DeletedAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        questions::delete(&self.svc, &auth.0.actor, id.0, qid.0).await?;
        Ok(DeletedAnswer::Deleted)
    }
}

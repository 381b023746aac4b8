//! The outbox, for admins: what mail is waiting, sent or failed, and retrying what failed.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::common::{ApiTags, list_of, page};
use super::problem::can::*;
use super::problem::{ApiError, Refused};
use super::security::BearerAuth;
use crate::service::Services;
use crate::service::outbox::{self, MessageStatus, OutboxMessage};

pub struct OutboxApi {
    pub svc: Services,
}

/// One message. What it is about (its links) is not shown: they grant access to a place.
#[derive(Object)]
pub struct OutboxItem {
    pub id: Uuid,
    pub to: String,
    pub subject: String,
    pub kind: String,
    /// `pending`, `sending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub message_id: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<OutboxMessage> for OutboxItem {
    fn from(m: OutboxMessage) -> Self {
        Self {
            id: m.id,
            to: m.to_address,
            subject: m.subject,
            kind: m.kind.as_str().to_owned(),
            status: m.status.as_str().to_owned(),
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_error: m.last_error,
            message_id: m.message_id,
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}

list_of!(OutboxList, OutboxItem);

#[derive(ApiResponse)]
pub enum OutboxListAnswer {
    /// One page of messages, newest first.
    #[oai(status = 200)]
    Ok(Json<OutboxList>),
}

#[derive(ApiResponse)]
pub enum OutboxItemAnswer {
    /// The message, waiting to be sent again.
    #[oai(status = 200)]
    Ok(Json<OutboxItem>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Outbox")]
impl OutboxApi {
    /// The outbox (admins), newest first, optionally of one `status`.
    #[oai(path = "/outbox", method = "get", operation_id = "list_outbox")]
    async fn list(
        &self,
        auth: BearerAuth,
        status: Query<Option<String>>,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> Result<OutboxListAnswer, Refused<{ SIGNED_IN | INPUT }>> {
        let status = status.0.map(|s| MessageStatus::parse(&s).map_err(|m| ApiError::invalid_field("status", &m))).transpose()?;
        let list = outbox::list(&self.svc, &auth.0.actor, status, page(limit.0, offset.0)?).await?;
        Ok(OutboxListAnswer::Ok(Json(list.into())))
    }

    /// Send a failed message again now, with a fresh count of attempts (admins). A message that
    /// was sent, or is being sent, is a 409.
    #[oai(path = "/outbox/:id/retry", method = "post", operation_id = "retry_outbox_message")]
    async fn retry(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<OutboxItemAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND | CONFLICT }>> {
        Ok(OutboxItemAnswer::Ok(Json(outbox::retry(&self.svc, &auth.0.actor, id.0).await?.into())))
    }
}

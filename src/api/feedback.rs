//! Feedback after an event: the attendee's answer by the link mailed to them, and the results
//! for organisers.

use chrono::{DateTime, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::common::ApiTags;
use super::json::JsonBody;
use super::problem::Refused;
use super::problem::can::*;
use super::security::BearerAuth;
use crate::service::Services;
use crate::service::feedback::{self, FeedbackInput, Results};

pub struct FeedbackApi {
    pub svc: Services,
}

/// An attendee's feedback.
#[derive(Object, serde::Deserialize)]
pub struct FeedbackGiven {
    /// From 1 (poor) to 5 (very good).
    pub rating: i64,
    /// What they thought, at most 2,000 characters.
    pub comment: Option<String>,
}

/// A comment left with a rating.
#[derive(Object)]
pub struct CommentView {
    pub rating: i32,
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

/// An event's feedback.
#[derive(Object)]
pub struct FeedbackResults {
    /// How many answered.
    pub count: u64,
    /// The mean rating; absent until someone answers.
    pub mean: Option<f64>,
    /// How many gave 1, 2, 3, 4 and 5, in that order.
    pub distribution: Vec<u64>,
    /// Newest first.
    pub comments: Vec<CommentView>,
}

impl From<Results> for FeedbackResults {
    fn from(r: Results) -> Self {
        Self {
            count: r.count,
            mean: r.mean,
            distribution: r.distribution.to_vec(),
            comments: r
                .comments
                .into_iter()
                .map(|c| CommentView { rating: c.rating, comment: c.comment, created_at: c.created_at })
                .collect(),
        }
    }
}

#[derive(ApiResponse)]
pub enum FeedbackRecorded {
    /// Recorded; thank you.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
pub enum FeedbackAnswer {
    /// The event's feedback.
    #[oai(status = 200)]
    Ok(Json<FeedbackResults>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Registrations")]
impl FeedbackApi {
    /// Give feedback on an event by the link mailed after it ended: once (again is a 409).
    #[oai(path = "/feedback/:token", method = "post", operation_id = "give_feedback")]
    async fn give(
        &self,
        token: Path<String>,
        body: JsonBody<FeedbackGiven>,
    ) -> Result<FeedbackRecorded, Refused<{ INPUT | NOT_FOUND | CONFLICT }>> {
        let input = FeedbackInput { rating: Some(body.0.rating), comment: body.0.comment };
        feedback::give(&self.svc, &token.0, input).await?;
        Ok(FeedbackRecorded::NoContent)
    }

    /// An event's feedback (organisers): the count, the mean, the spread and the comments.
    #[oai(path = "/events/:id/feedback", method = "get", operation_id = "event_feedback")]
    async fn results(&self, auth: BearerAuth, id: Path<Uuid>) -> Result<FeedbackAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND }>> {
        Ok(FeedbackAnswer::Ok(Json(feedback::results(&self.svc, &auth.0.actor, id.0).await?.into())))
    }
}

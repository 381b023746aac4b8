//! Feedback: when an event with attendees ends, each attendee is sent one mail with a link of
//! their own; by it they rate the event from 1 to 5 and may say what they thought, once.
//! Organisers see the count, the mean, how the ratings spread and the comments.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

use super::auth::hash_token;
use super::events::Event;
use super::outbox::{self, MessageKind};
use super::{ServiceError, ServiceResult, Services, policy};
use crate::domain::{Actor, RegistrationStatus, Text, Validation};
use crate::store::entity::{event, feedback, feedback_link, registration};

/// The longest comment.
pub const COMMENT_MAX: usize = 2_000;

/// Events that ended longer ago than this are not asked about (a new install, or a server that
/// was down for a week, does not mail people about events long past).
pub fn window() -> Duration {
    Duration::days(7)
}

/// The public address of a feedback link.
pub fn feedback_url(public_url: &str, token: &str) -> String {
    format!("{public_url}/feedback/{token}")
}

/// Queues the feedback mail of every published event that has ended (within [`window`]) and
/// has not had it: one to each attendee. The mark on the event row, set under its lock, keeps
/// several processes from asking twice. Returns how many messages were queued.
pub async fn queue_due(svc: &Services) -> ServiceResult<usize> {
    let now = svc.clock.now();
    let mailing = outbox::OnceAnEvent {
        marker: event::Column::FeedbackQueuedAt,
        due: Condition::all().add(event::Column::EndsAt.lte(now)).add(event::Column::EndsAt.gt(now - window())),
        statuses: &[RegistrationStatus::Attended],
        kind: MessageKind::Feedback,
    };
    outbox::queue_once(svc, &mailing, |event, registration_id, token, token_hash| {
        let link = feedback_link::ActiveModel { token_hash: Set(token_hash), registration_id: Set(registration_id), created_at: Set(now) };
        let url = feedback_url(svc.settings.public_url(), token);
        (link, json!({"event_id": event.id, "registration_id": registration_id, "feedback_url": url}))
    })
    .await
}

/// What a feedback link leads to: the event it is about, and whether it was answered.
pub struct Asked {
    pub event: Event,
    pub answered: bool,
}

async fn link(svc: &Services, token: &str) -> ServiceResult<(feedback_link::Model, registration::Model)> {
    let link = feedback_link::Entity::find_by_id(hash_token(token)).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    let held = registration::Entity::find_by_id(link.registration_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    Ok((link, held))
}

/// The event a feedback link asks about (anyone holding the link).
pub async fn asked(svc: &Services, token: &str) -> ServiceResult<Asked> {
    let (_, held) = link(svc, token).await?;
    let event: Event = event::Entity::find_by_id(held.event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?.into();
    let answered = feedback::Entity::find_by_id(held.id).one(&svc.db.read).await?.is_some();
    Ok(Asked { event, answered })
}

/// What someone typed: a rating from 1 to 5 (as typed, so a page can keep it), and a comment.
#[derive(Debug, Clone, Default)]
pub struct FeedbackInput {
    pub rating: Option<i64>,
    pub comment: Option<String>,
}

/// Records the answer of a feedback link's holder; a second answer is a 409.
#[tracing::instrument(skip_all)]
pub async fn give(svc: &Services, token: &str, input: FeedbackInput) -> ServiceResult<()> {
    let (_, held) = link(svc, token).await?;
    let mut v = Validation::new();
    match input.rating {
        Some(1..=5) => {}
        Some(_) => v.fail("rating", "must be from 1 to 5"),
        None => v.fail("rating", "is needed: choose from 1 to 5"),
    }
    let comment = input.comment.filter(|c| !c.trim().is_empty());
    let comment = v.check_opt("comment", comment, |c| Text::parse(&c, 1, COMMENT_MAX)).flatten();
    v.finish()?;
    let rating = i32::try_from(input.rating.unwrap_or_default()).unwrap_or_default();
    let row = feedback::ActiveModel {
        registration_id: Set(held.id),
        event_id: Set(held.event_id),
        rating: Set(rating),
        comment: Set(comment.map(Text::into_string)),
        created_at: Set(svc.clock.now()),
    };
    // The primary key holds one answer a registration, under any race.
    match row.insert(&svc.db.write).await {
        Ok(_) => Ok(()),
        Err(err) if crate::store::is_unique_violation(&err) => {
            Err(ServiceError::conflict("you have already given your feedback: thank you"))
        }
        Err(err) => Err(err.into()),
    }
}

/// An event's feedback, for organisers.
pub struct Results {
    pub count: u64,
    /// `None` until someone answers.
    pub mean: Option<f64>,
    /// How many gave 1, 2, 3, 4 and 5.
    pub distribution: [u64; 5],
    pub comments: Vec<Comment>,
}

pub struct Comment {
    pub rating: i32,
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

/// An event's feedback (organisers): counts, the mean, the spread and the comments, newest first.
pub async fn results(svc: &Services, actor: &Actor, event_id: Uuid) -> ServiceResult<Results> {
    policy::organiser(actor)?;
    event::Entity::find_by_id(event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    let rows = feedback::Entity::find()
        .filter(feedback::Column::EventId.eq(event_id))
        .order_by_desc(feedback::Column::CreatedAt)
        .all(&svc.db.read)
        .await?;
    let mut distribution = [0u64; 5];
    for row in &rows {
        if let Some(slot) = usize::try_from(row.rating - 1).ok().and_then(|i| distribution.get_mut(i)) {
            *slot += 1;
        }
    }
    let count = rows.len() as u64;
    let mean = (count > 0).then(|| rows.iter().map(|r| f64::from(r.rating)).sum::<f64>() / count as f64);
    let comments =
        rows.into_iter().filter_map(|r| r.comment.map(|comment| Comment { rating: r.rating, comment, created_at: r.created_at })).collect();
    Ok(Results { count, mean, distribution, comments })
}

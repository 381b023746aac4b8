//! What the service holds about a candidate, and erasing it on request (UK GDPR articles 15, 17).

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait};
use uuid::Uuid;

use super::events::Event;
use super::outbox::OutboxMessage;
use super::registrations::{Candidate, Registration};
use super::{ServiceError, ServiceResult, Services};
use crate::domain::Actor;
use crate::store::Json;
use crate::store::entity::{
    candidate, event, feedback, feedback_link, idempotency_key, invitation, outbox, outcome, registration, registration_answer,
    registration_token,
};

/// Everything held about one candidate.
pub struct CandidateExport {
    pub candidate: Candidate,
    pub registrations: Vec<(Registration, Option<Event>)>,
    /// What they answered to events' questions, by registration.
    pub answers: std::collections::HashMap<Uuid, Vec<super::questions::Answered>>,
    pub messages: Vec<OutboxMessage>,
}

pub async fn export(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<CandidateExport> {
    super::policy::organiser(actor)?;
    let candidate = candidate::Entity::find_by_id(id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    let registrations = registration::Entity::find()
        .filter(registration::Column::CandidateId.eq(id))
        .order_by_asc(registration::Column::CreatedAt)
        .all(&svc.db.read)
        .await?;
    let events = event::Entity::find().filter(event::Column::Id.is_in(registrations.iter().map(|r| r.event_id))).all(&svc.db.read).await?;
    let events: Vec<Event> = events.into_iter().map(Event::from).collect();
    let ids: Vec<Uuid> = registrations.iter().map(|r| r.id).collect();
    let answers = super::questions::answers_of(&svc.db.read, &ids).await?;
    let registrations = registrations
        .into_iter()
        .map(|r| {
            let event = events.iter().find(|e| e.id == r.event_id).cloned();
            (r.into(), event)
        })
        .collect();
    let messages = outbox::Entity::find()
        .filter(outbox::Column::ToAddress.eq(&candidate.email))
        .order_by_asc(outbox::Column::CreatedAt)
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(OutboxMessage::from)
        .collect();
    Ok(CandidateExport { candidate: candidate.into(), registrations, answers, messages })
}

/// Erases a candidate's personal data. Their registrations stay, without anything that says
/// who they were, so counts and attendance figures still add up. Messages and invitations to
/// them are deleted (they hold their name and links) and their manage links stop working.
#[tracing::instrument(skip_all, fields(candidate_id = %id))]
pub async fn erase(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    super::policy::organiser(actor)?;
    let now = svc.clock.now();
    let txn = svc.db.write.begin().await?;
    let current = candidate::Entity::find_by_id(id).one(&txn).await?.ok_or(ServiceError::NotFound)?;
    if current.erased_at.is_some() {
        return Ok(());
    }
    outbox::Entity::delete_many().filter(outbox::Column::ToAddress.eq(&current.email)).exec(&txn).await?;
    invitation::Entity::delete_many().filter(invitation::Column::Email.eq(&current.email)).exec(&txn).await?;
    let registration_ids: Vec<Uuid> =
        registration::Entity::find().filter(registration::Column::CandidateId.eq(id)).all(&txn).await?.into_iter().map(|r| r.id).collect();
    // An idempotency record holds the first answer (with a manage link) to replay it: none
    // may replay an erased person's registration.
    for chunk in registration_ids.chunks(100) {
        let mut any = sea_orm::Condition::any();
        for id in chunk {
            any = any.add(idempotency_key::Column::Response.contains(id.to_string()));
        }
        idempotency_key::Entity::delete_many().filter(any).exec(&txn).await?;
    }
    // Their feedback's rating stays in the event's figures; what they wrote and their link go.
    feedback::Entity::update_many()
        .col_expr(feedback::Column::Comment, sea_orm::sea_query::Expr::value(Option::<String>::None))
        .filter(feedback::Column::RegistrationId.is_in(registration_ids.iter().copied()))
        .exec(&txn)
        .await?;
    feedback_link::Entity::delete_many()
        .filter(feedback_link::Column::RegistrationId.is_in(registration_ids.iter().copied()))
        .exec(&txn)
        .await?;
    // The stages reached stay in the campaign's figures; notes about the person go.
    outcome::Entity::update_many()
        .col_expr(outcome::Column::Note, sea_orm::sea_query::Expr::value(Option::<String>::None))
        .filter(outcome::Column::RegistrationId.is_in(registration_ids.iter().copied()))
        .exec(&txn)
        .await?;
    // What they answered can say who they are (access needs, their circumstances).
    registration_answer::Entity::delete_many()
        .filter(registration_answer::Column::RegistrationId.is_in(registration_ids.iter().copied()))
        .exec(&txn)
        .await?;
    registration_token::Entity::delete_many().filter(registration_token::Column::RegistrationId.is_in(registration_ids)).exec(&txn).await?;
    let mut model: candidate::ActiveModel = current.into();
    // The email column is unique and required: an address that cannot be anyone's keeps both.
    model.email = Set(format!("erased-{}@erased.invalid", id.simple()));
    model.name = Set(String::new());
    model.phone = Set(None);
    model.postcode = Set(None);
    model.interests = Set(Json(Vec::new()));
    model.source = Set(None);
    model.consent_marketing = Set(false);
    model.consent_at = Set(None);
    model.erased_at = Set(Some(now));
    model.updated_at = Set(now);
    model.update(&txn).await?;
    txn.commit().await?;
    Ok(())
}

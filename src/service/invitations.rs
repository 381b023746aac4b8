//! Invitations: an organiser invites people to an event by email; each invitation carries RSVP
//! links, and the first answer given through them counts. Accepting registers the person (or
//! puts them on the waiting list) exactly as the public form would.

use std::collections::HashSet;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::auth::{hash_token, new_token};
use super::outbox::{self, MessageKind};
use super::registrar::{Person, RegisterRequest, Registered};
use super::{ServiceError, ServiceResult, Services};
pub use crate::domain::Answer;
use crate::domain::{Actor, EmailAddress, EventStatus, Text, Validation, ValidationErrors, new_id};
use crate::store::entity::{event, invitation};
use crate::store::insert_all;

/// The most recipients one call may name.
pub const MAX_RECIPIENTS: usize = 1000;

#[derive(Debug, Clone)]
pub struct Recipient {
    pub name: Text,
    pub email: EmailAddress,
}

/// The longest note an organiser may add to an invitation.
pub const MESSAGE_MAX: usize = 2_000;

/// Who to invite and the note to add, as a face received them: checked together, every bad
/// field named (`recipients[2].email`).
pub fn parse_invite(
    recipients: Vec<(String, String)>,
    message: Option<String>,
) -> Result<(Vec<Recipient>, Option<Text>), ValidationErrors> {
    let mut v = Validation::new();
    if recipients.is_empty() {
        v.fail("recipients", "must name at least one recipient");
    }
    if recipients.len() > MAX_RECIPIENTS {
        v.fail("recipients", format!("must name at most {MAX_RECIPIENTS} recipients"));
    }
    let message = v.check_opt("message", message.filter(|m| !m.trim().is_empty()), |m| Text::parse(&m, 1, MESSAGE_MAX)).flatten();
    let mut out = Vec::with_capacity(recipients.len().min(MAX_RECIPIENTS));
    for (i, (name, email)) in recipients.into_iter().enumerate().take(MAX_RECIPIENTS) {
        let name = v.check(&format!("recipients[{i}].name"), Text::person_name(&name));
        let email = v.check(&format!("recipients[{i}].email"), EmailAddress::parse(&email));
        if let (Some(name), Some(email)) = (name, email) {
            out.push(Recipient { name, email });
        }
    }
    v.finish()?;
    Ok((out, message))
}

/// One line of a pasted list or an uploaded CSV as `(name, email)`: the cell holding an `@` is
/// the address, the rest the name (`Jane Doe, jane@example.org`, `jane@example.org;Jane Doe`,
/// `Jane Doe <jane@example.org>`). A bare address gets its local part as the name. A header
/// line (`name,email`) and blank lines give nothing.
pub fn recipient_line(line: &str) -> Option<(String, String)> {
    let line = line.trim().trim_start_matches('\u{feff}');
    if line.is_empty() || line.eq_ignore_ascii_case("name,email") || line.eq_ignore_ascii_case("email,name") {
        return None;
    }
    if let Some((name, rest)) = line.split_once('<') {
        let email = rest.trim_end_matches('>').trim();
        return Some((name.trim().trim_matches('"').to_owned(), email.to_owned()));
    }
    let cells: Vec<&str> = line.split([',', ';', '\t']).map(|c| c.trim().trim_matches('"').trim()).filter(|c| !c.is_empty()).collect();
    let email = cells.iter().find(|c| c.contains('@')).copied().unwrap_or(line);
    let name: Vec<&str> = cells.iter().filter(|c| !c.contains('@')).copied().collect();
    let name = if name.is_empty() { email.split('@').next().unwrap_or_default().replace(['.', '_'], " ") } else { name.join(" ") };
    Some((name, email.to_owned()))
}

/// An invitation as the organisers' list shows it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub name: String,
    pub email: String,
    pub answer: Option<Answer>,
    pub answered_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Everyone invited to an event, newest first, with their answers (organisers).
pub async fn sent(svc: &Services, actor: &Actor, event_id: Uuid) -> ServiceResult<Vec<Sent>> {
    use sea_orm::{QueryOrder, QuerySelect};
    super::policy::organiser(actor)?;
    event::Entity::find_by_id(event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    let rows = invitation::Entity::find()
        .filter(invitation::Column::EventId.eq(event_id))
        .order_by_desc(invitation::Column::CreatedAt)
        .limit(2_000)
        .all(&svc.db.read)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Sent { name: r.name, email: r.email, answer: r.answer, answered_at: r.answered_at, created_at: r.created_at })
        .collect())
}

/// The link that answers an invitation.
pub fn rsvp_url(public_url: &str, token: &str, answer: Answer) -> String {
    format!("{public_url}/rsvp/{token}?answer={}", answer.as_str())
}

/// Queues one invitation per distinct address (the first name given for an address is used).
/// The event must be published. Returns how many were queued.
pub async fn invite(
    svc: &Services,
    actor: &Actor,
    event_id: Uuid,
    recipients: Vec<Recipient>,
    message: Option<Text>,
) -> ServiceResult<usize> {
    super::policy::organiser(actor)?;
    let mut seen = HashSet::new();
    let recipients: Vec<Recipient> = recipients.into_iter().filter(|r| seen.insert(r.email.as_str().to_owned())).collect();
    let now = svc.clock.now();
    let public_url = svc.settings.public_url();
    let txn = svc.db.write.begin().await?;
    let event = event::Entity::find_by_id(event_id).one(&txn).await?.ok_or(ServiceError::NotFound)?;
    match event.status {
        EventStatus::Published => {}
        status => {
            return Err(ServiceError::conflict(format!("invitations are sent for published events; this event is {}", status.as_str())));
        }
    }
    if event.ends_at <= now {
        return Err(ServiceError::conflict("the event is over"));
    }
    let mut invitations = Vec::with_capacity(recipients.len());
    let mut messages = Vec::with_capacity(recipients.len());
    let mut subjects = outbox::Subjects::default();
    for recipient in &recipients {
        let id = new_id();
        let (token, token_hash) = new_token();
        invitations.push(invitation::ActiveModel {
            id: Set(id),
            event_id: Set(event_id),
            email: Set(recipient.email.as_str().to_owned()),
            name: Set(recipient.name.as_str().to_owned()),
            token_hash: Set(token_hash),
            answer: Set(None),
            answered_at: Set(None),
            registration_id: Set(None),
            created_at: Set(now),
        });
        let payload = json!({
            "event_id": event_id,
            "invitation_id": id,
            "name": recipient.name.as_str(),
            "accept_url": rsvp_url(public_url, &token, Answer::Accept),
            "decline_url": rsvp_url(public_url, &token, Answer::Decline),
            "message": message.as_ref().map(Text::as_str),
        });
        messages.push(subjects.message(public_url, now, recipient.email.as_str(), MessageKind::Invitation, &event.title, payload));
    }
    insert_all(&txn, invitations).await?;
    outbox::queue(&txn, messages).await?;
    txn.commit().await?;
    svc.mail_wake.notify_one();
    tracing::info!(event_id = %event_id, queued = recipients.len(), "invitations queued");
    Ok(recipients.len())
}

/// What an RSVP did.
#[derive(Debug, Clone)]
pub struct RsvpOutcome {
    pub event_id: Uuid,
    /// `accepted` or `declined`.
    pub answer: Answer,
    /// The place taken by accepting, when this call took it.
    pub registration: Option<Registered>,
    /// The invitation had been answered before; nothing changed.
    pub already_answered: bool,
}

/// An invitation as its page shows it: whom it is for, the event, and any answer given.
pub struct Invitation {
    pub name: String,
    /// Once answered.
    pub answer: Option<Answer>,
    pub event: super::events::Event,
}

/// The invitation an RSVP link's token opens; reading it changes nothing (mail scanners follow
/// links).
pub async fn invitation(svc: &Services, token: &str) -> ServiceResult<Invitation> {
    let found = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(hash_token(token)))
        .one(&svc.db.read)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let event = super::events::get(svc, None, found.event_id).await?;
    Ok(Invitation { name: found.name, answer: found.answer, event })
}

/// What an invited person says: yes or no and, with a yes, what a registration takes besides
/// their name and address (answers to the event's questions, consent to share with employers).
#[derive(Debug, Clone)]
pub struct Reply {
    pub answer: Answer,
    pub given: std::collections::BTreeMap<String, super::questions::Given>,
    pub consent_share_with_employers: bool,
}

/// Answers an invitation. The first answer counts: asking the same again repeats it, asking the
/// other is a conflict. A yes is checked as a registration is, its answers against the event's
/// questions (422 naming `answers.{question_id}`, and the invitation stays unanswered). An answer
/// is a public write from `client`, limited like registrations.
pub async fn rsvp(svc: &Services, token: &str, reply: Reply, client: Option<std::net::IpAddr>) -> ServiceResult<RsvpOutcome> {
    let answer = reply.answer;
    super::admit_public_write(svc, client)?;
    let found = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(hash_token(token)))
        .one(&svc.db.write)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if let Some(recorded) = &found.answer {
        if *recorded != answer {
            return Err(ServiceError::conflict(format!("this invitation was already answered: {}", recorded.recorded())));
        }
        return Ok(RsvpOutcome { event_id: found.event_id, answer, registration: None, already_answered: true });
    }
    let registration = match answer {
        Answer::Decline => None,
        Answer::Accept => {
            let person = Person {
                name: Text::one_line(&found.name, 1, 200).map_err(|e| anyhow::anyhow!("invitation {} name: {e}", found.id))?,
                email: EmailAddress::parse(&found.email).map_err(|e| anyhow::anyhow!("invitation {} email: {e}", found.id))?,
                phone: None,
                postcode: None,
                interests: Vec::new(),
                consent_marketing: false,
                source: Text::one_line("invitation", 1, 200).ok(),
            };
            Some(
                svc.registrar
                    .register(RegisterRequest {
                        event_id: found.event_id,
                        person,
                        idempotency: None,
                        given: reply.given,
                        consent_share_with_employers: reply.consent_share_with_employers,
                    })
                    .await?,
            )
        }
    };
    // Only the first answer is written; a concurrent second one finds the row answered.
    let written = invitation::Entity::update_many()
        .col_expr(invitation::Column::Answer, Expr::value(Some(answer)))
        .col_expr(invitation::Column::AnsweredAt, Expr::value(Some(svc.clock.now())))
        .col_expr(invitation::Column::RegistrationId, Expr::value(registration.as_ref().map(|r| r.id)))
        .filter(invitation::Column::Id.eq(found.id))
        .filter(invitation::Column::Answer.is_null())
        .exec(&svc.db.write)
        .await?;
    Ok(RsvpOutcome { event_id: found.event_id, answer, registration, already_answered: written.rows_affected == 0 })
}

#[cfg(test)]
mod tests {
    use super::recipient_line;

    #[test]
    fn a_line_gives_a_name_and_an_address_in_either_order() {
        let pair = |n: &str, e: &str| Some((n.to_owned(), e.to_owned()));
        assert_eq!(recipient_line("Jane Doe, jane@example.org"), pair("Jane Doe", "jane@example.org"));
        assert_eq!(recipient_line("jane@example.org;Jane Doe"), pair("Jane Doe", "jane@example.org"));
        assert_eq!(recipient_line("\"Jane Doe\"\tjane@example.org"), pair("Jane Doe", "jane@example.org"));
        assert_eq!(recipient_line("Jane Doe <jane@example.org>"), pair("Jane Doe", "jane@example.org"));
        assert_eq!(recipient_line("jane.doe@example.org"), pair("jane doe", "jane.doe@example.org"));
        assert_eq!(recipient_line("\u{feff}name,email"), None);
        assert_eq!(recipient_line("   "), None);
        assert_eq!(recipient_line("Jane Doe"), pair("Jane Doe", "Jane Doe"), "no address: the email rule refuses it");
    }
}

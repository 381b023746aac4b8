//! The mail worker: claims due outbox messages, renders them from the templates and the current
//! state of their event, hands them to the transport, and records each outcome. It runs inside
//! `serve` and alone as `carefair worker`; any number may share a database.
//!
//! Delivery is at least once: a message is marked sent only after the server took it, so a
//! worker that dies mid-round leaves its messages `sending` until their lease runs out, and then
//! another worker sends them. Leases are short and renewed while the round goes on, so a dead
//! worker's messages wait at most [`LEASE_SECS`] for a live one; on SQLite, where one process
//! owns the database, a starting worker takes back every claimed message at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as StdDuration;

use chrono::Duration;
use futures::StreamExt;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tokio::sync::watch;
use uuid::Uuid;

use super::calendar::{context, with_venues};
use super::events::Event;
use super::outbox::{self, MessageKind, OutboxMessage};
use super::{ServiceResult, Services};
use crate::calendar::{self, CalendarEvent, Method, Person};
use crate::domain::{TicketCode, describe_span};
use crate::mail::{CalendarPart, Draft, InlineImage, Mailer, compose, templates};
use crate::store::entity::{candidate, event, registration};

/// Messages claimed in one round.
const BATCH: u64 = 200;

/// Where a message's HTML finds the ticket's QR code: the image part's Content-ID.
const TICKET_IMAGE: &str = "cid:ticket-qr";
/// How long a round may wait for a registration rush in this process to pause, and how often it
/// looks. The worker and the registration writer share the CPU; a message can wait a moment, the
/// people waiting for their place should not.
const RUSH_HOLD: StdDuration = StdDuration::from_secs(2);
const RUSH_STEP: StdDuration = StdDuration::from_millis(50);
/// How long a claim holds without renewal: what a dead worker's messages wait for a live one.
pub const LEASE_SECS: i64 = 30;
/// How often a round renews its claims: well inside the lease, so a live worker's messages are
/// never claimed twice even when a database write is slow.
const RENEW_EVERY: StdDuration = StdDuration::from_secs(10);

/// Counts since the process started, for `/metrics`.
#[derive(Debug, Default)]
pub struct MailStats {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
}

/// One worker.
pub struct MailWorker {
    svc: Services,
    mailer: Mailer,
}

/// What a round knows about the messages it sends, loaded in a few queries for the whole round.
#[derive(Default)]
struct RoundData {
    events: HashMap<Uuid, (Event, CalendarEvent)>,
    /// By registration id: the person, and the ticket's code while the place is held.
    people: HashMap<Uuid, (candidate::Model, Option<TicketCode>)>,
}

impl MailWorker {
    pub fn new(svc: Services, mailer: Mailer) -> Self {
        Self { svc, mailer }
    }

    /// On SQLite, where one process owns the database, takes back every message a stopped
    /// worker had claimed. Awaited before the process reports ready (and before any worker of
    /// it rounds), so it can never take back what a live worker of this process just claimed.
    pub async fn take_back_stale_claims(svc: &Services) {
        if !svc.db.is_sqlite() {
            return;
        }
        match outbox::release_claims(&svc.db.write).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(messages = n, "took back messages a stopped worker had claimed"),
            Err(err) => tracing::error!(error = %err, "taking back claimed messages failed"),
        }
    }

    /// Rounds until `shutdown` turns true; a round under way is finished first, so no message is
    /// left half-sent. Between rounds it waits `mail.poll_interval_ms`, or less when a change in
    /// this process queued mail.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let poll = StdDuration::from_millis(self.svc.settings.mail.poll_interval_ms);
        loop {
            if *shutdown.borrow() {
                break;
            }
            let held = std::time::Instant::now();
            while self.svc.registrar.is_busy() && held.elapsed() < RUSH_HOLD && !*shutdown.borrow() {
                tokio::time::sleep(RUSH_STEP).await;
            }
            let claimed = match self.run_once().await {
                Ok(n) => n,
                Err(err) => {
                    tracing::error!(error = %err, "mail worker round failed");
                    0
                }
            };
            if claimed as u64 == BATCH {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(poll) => {}
                () = self.svc.mail_wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("mail worker stopped");
    }

    /// One round: claim, send, record. Returns how many messages were claimed.
    pub async fn run_once(&self) -> ServiceResult<usize> {
        let svc = &self.svc;
        let claimed = outbox::claim(&svc.db.write, svc.clock.now(), Duration::seconds(LEASE_SECS), BATCH).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let count = claimed.len();
        let ids: Vec<Uuid> = claimed.iter().map(|m| m.id).collect();
        // Each payload is read once, for loading the round and for rendering.
        let claimed: Vec<(OutboxMessage, Option<Value>)> = claimed
            .into_iter()
            .map(|m| {
                let payload = serde_json::from_str(&m.payload).ok();
                (m, payload)
            })
            .collect();
        let round = &self.load(claimed.iter().filter_map(|(_, p)| p.as_ref())).await?;
        let concurrency = self.mailer.concurrency(&svc.settings.mail);
        let sending = futures::stream::iter(claimed)
            .map(|(message, payload)| async move {
                let outcome = match self.render(&message, payload.as_ref(), round) {
                    Ok(mime) => self.mailer.send(mime).await,
                    Err(err) => Err(err),
                };
                (message, outcome)
            })
            .buffer_unordered(concurrency)
            .collect::<Vec<(OutboxMessage, Result<(), String>)>>();
        let renewing = async {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                if let Err(err) = outbox::renew_claims(&svc.db.write, &ids, svc.clock.now() + Duration::seconds(LEASE_SECS)).await {
                    tracing::warn!(error = %err, "renewing the round's claims failed");
                }
            }
        };
        let outcomes = tokio::select! {
            outcomes = sending => outcomes,
            () = renewing => unreachable!("renewing never ends"),
        };

        let now = svc.clock.now();
        let mut sent = Vec::new();
        for (message, outcome) in outcomes {
            match outcome {
                Ok(()) => sent.push(message.id),
                Err(err) => {
                    let failed = outbox::mark_attempt_failed(&svc.db.write, &svc.settings.mail, &message, &err, now).await?;
                    let counter = if failed { &svc.mail_stats.failed } else { &svc.mail_stats.retried };
                    counter.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(message_id = %message.message_id, attempts = message.attempts, failed, error = %err, "mail not sent");
                }
            }
        }
        svc.mail_stats.sent.fetch_add(sent.len() as u64, Ordering::Relaxed);
        outbox::mark_sent(&svc.db.write, sent, now).await?;
        Ok(count)
    }

    async fn load(&self, payloads: impl Iterator<Item = &Value> + Clone) -> ServiceResult<RoundData> {
        let uuid_of = |p: &Value, key: &str| p.get(key).and_then(Value::as_str).and_then(|s| s.parse::<Uuid>().ok());
        let mut event_ids: Vec<Uuid> = payloads.clone().filter_map(|p| uuid_of(p, "event_id")).collect();
        event_ids.sort_unstable();
        event_ids.dedup();
        let mut registration_ids: Vec<Uuid> = payloads.filter_map(|p| uuid_of(p, "registration_id")).collect();
        registration_ids.sort_unstable();
        registration_ids.dedup();

        let svc = &self.svc;
        let events: Vec<Event> = event::Entity::find()
            .filter(event::Column::Id.is_in(event_ids))
            .all(&svc.db.read)
            .await?
            .into_iter()
            .map(Event::from)
            .collect();
        let shown = with_venues(svc, &events).await?;
        let events = events.into_iter().zip(shown).map(|(e, c)| (e.id, (e, c))).collect();

        let mut people = HashMap::new();
        for chunk in registration_ids.chunks(500) {
            let registrations =
                registration::Entity::find().filter(registration::Column::Id.is_in(chunk.iter().copied())).all(&svc.db.read).await?;
            let candidates: HashMap<Uuid, candidate::Model> = candidate::Entity::find()
                .filter(candidate::Column::Id.is_in(registrations.iter().map(|r| r.candidate_id)))
                .all(&svc.db.read)
                .await?
                .into_iter()
                .map(|c| (c.id, c))
                .collect();
            for r in registrations {
                if let Some(c) = candidates.get(&r.candidate_id) {
                    let ticket = r.status.holds_place().then(|| TicketCode::stored(r.ticket_code));
                    people.insert(r.id, (c.clone(), ticket));
                }
            }
        }
        Ok(RoundData { events, people })
    }

    /// The message as MIME: text and HTML from the templates, and the calendar its kind carries.
    fn render(&self, message: &OutboxMessage, payload: Option<&Value>, round: &RoundData) -> Result<lettre::Message, String> {
        let kind = message.kind;
        let payload = payload.ok_or("the payload is not JSON")?;
        if let Some(context) = payload.get("context") {
            return self.render_notice(kind, message, context, payload.get("calendar"));
        }
        let field = |key: &str| payload.get(key).and_then(Value::as_str);
        let event_id = field("event_id").and_then(|s| s.parse::<Uuid>().ok()).ok_or("payload names no event")?;
        let (event, shown) = round.events.get(&event_id).ok_or_else(|| format!("event {event_id} no longer exists"))?;
        let (name, ticket) = match field("registration_id").and_then(|s| s.parse::<Uuid>().ok()) {
            Some(id) => {
                let (person, ticket) = round.people.get(&id).ok_or_else(|| format!("registration {id} no longer exists"))?;
                if person.erased_at.is_some() {
                    return Err("the recipient's personal data was erased".into());
                }
                (person.name.clone(), ticket.clone())
            }
            None => (field("name").unwrap_or_default().to_owned(), None),
        };
        // The ticket travels with the mail that gives a place, as an image inside the message:
        // no mail client need load anything to show it.
        let ticket = ticket.filter(|_| matches!(kind, MessageKind::RegistrationConfirmed | MessageKind::RegistrationPromoted));
        let ticket_image = match &ticket {
            Some(code) => Some(code.qr_png(6)?),
            None => None,
        };

        let values = json!({
            "person": {"name": name},
            "event": {
                "title": event.title,
                "when": describe_span(shown.starts_at, shown.ends_at, shown.timezone),
                "location": shown.location,
                "url": shown.url,
                "cancel_reason": event.cancel_reason,
            },
            "manage_url": field("manage_url"),
            "position": payload.get("position"),
            "accept_url": field("accept_url"),
            "decline_url": field("decline_url"),
            "message": field("message"),
            "feedback_url": field("feedback_url"),
            "offer_expires": field("offer_expires"),
            "ticket": ticket.as_ref().map(|code| json!({"code": code.grouped(), "image": TICKET_IMAGE})),
        });
        let templates = templates()?;
        let text = templates.render(kind.as_str(), "body.txt", &values)?;
        let html = templates.render(kind.as_str(), "body.html", &values)?;

        let attendee = Person { name: name.clone(), email: message.to_address.clone() };
        let ctx = context(&self.svc);
        let calendar = match kind {
            // No place to put in a calendar: a waiting place, an event that is over, a place
            // offered and not yet claimed, or one that passed on.
            MessageKind::RegistrationWaitlisted | MessageKind::Feedback | MessageKind::PlaceOffered | MessageKind::OfferLapsed => None,
            _ if shown.cancelled => Some((Method::Cancel, calendar::cancel(shown, &attendee, &ctx))),
            MessageKind::RegistrationCancelled => {
                // Only this attendee's copy is withdrawn; see `calendar::registration_file`.
                let mut withdrawn = shown.clone();
                withdrawn.sequence += 1;
                Some((Method::Cancel, calendar::cancel(&withdrawn, &attendee, &ctx)))
            }
            MessageKind::EventCancelled => Some((Method::Cancel, calendar::cancel(shown, &attendee, &ctx))),
            _ => Some((Method::Request, calendar::request(shown, &attendee, &ctx))),
        };
        let list_unsubscribe = (kind == MessageKind::Invitation).then(|| format!("mailto:{}?subject=unsubscribe", ctx.organizer.email));
        compose(Draft {
            message_id: &message.message_id,
            from: &self.svc.settings.mail.from,
            to_name: &name,
            to_email: &message.to_address,
            subject: &message.subject,
            text,
            html,
            calendar: calendar.map(|(method, text)| CalendarPart { method, text }),
            list_unsubscribe,
            inline_image: ticket_image.map(|png| InlineImage { content_id: TICKET_IMAGE.trim_start_matches("cid:").to_owned(), png }),
        })
    }

    /// A message about an organisation: all it shows was written into its payload when queued.
    fn render_notice(
        &self,
        kind: MessageKind,
        message: &OutboxMessage,
        context: &Value,
        calendar: Option<&Value>,
    ) -> Result<lettre::Message, String> {
        let templates = templates()?;
        let name = context.pointer("/person/name").and_then(Value::as_str).unwrap_or_default();
        compose(Draft {
            message_id: &message.message_id,
            from: &self.svc.settings.mail.from,
            to_name: name,
            to_email: &message.to_address,
            subject: &message.subject,
            text: templates.render(kind.as_str(), "body.txt", context)?,
            html: templates.render(kind.as_str(), "body.html", context)?,
            calendar: match calendar {
                Some(part) => {
                    let method = match part.get("method").and_then(Value::as_str) {
                        Some("CANCEL") => Method::Cancel,
                        Some("REQUEST") => Method::Request,
                        other => return Err(format!("a notice's calendar has no known method: {other:?}")),
                    };
                    let text = part.get("text").and_then(Value::as_str).ok_or("a notice's calendar has no text")?;
                    Some(CalendarPart { method, text: text.to_owned() })
                }
                None => None,
            },
            list_unsubscribe: None,
            inline_image: None,
        })
    }
}

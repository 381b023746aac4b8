//! Queuing mail: every message is an outbox row written in the transaction of the change that
//! causes it, so a message is never lost and never sent for a change that rolled back. The mail
//! worker renders and sends them.

use chrono::{DateTime, Utc};
use sea_orm::Set;
use serde_json::Value;

use crate::config::public_host;
use crate::domain::new_id;
use crate::store::entity::outbox;

/// What a message is about; the worker picks the template by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    RegistrationConfirmed,
    RegistrationWaitlisted,
    RegistrationPromoted,
    RegistrationCancelled,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::RegistrationConfirmed => "registration_confirmed",
            MessageKind::RegistrationWaitlisted => "registration_waitlisted",
            MessageKind::RegistrationPromoted => "registration_promoted",
            MessageKind::RegistrationCancelled => "registration_cancelled",
        }
    }
}

pub const PENDING: &str = "pending";

/// A pending outbox row. Its `Message-ID` is fixed now, so it stays the same across retries.
pub fn message(public_url: &str, now: DateTime<Utc>, to: &str, kind: MessageKind, subject: String, payload: Value) -> outbox::ActiveModel {
    let id = new_id();
    outbox::ActiveModel {
        id: Set(id),
        to_address: Set(to.to_owned()),
        subject: Set(subject),
        kind: Set(kind.as_str().to_owned()),
        payload: Set(payload.to_string()),
        status: Set(PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        last_error: Set(None),
        message_id: Set(format!("<{}@{}>", id.simple(), public_host(public_url))),
        created_at: Set(now),
        sent_at: Set(None),
    }
}

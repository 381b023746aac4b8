//! Outgoing mail as infrastructure: the templates a message is written from, the MIME structure
//! it is put into, and the transport that carries it. What to send and when is decided in
//! `service`; this module knows nothing of the database.

mod compose;
mod templates;
mod transport;

pub use compose::{CalendarPart, Draft, InlineImage, compose};
pub use templates::{Templates, templates};
pub use transport::Mailer;

//! sea-orm entities: the rows as the database holds them. Only `store` and `service` see these.

pub mod auth_token;
pub mod campaign;
pub mod candidate;
pub mod door_link;
pub mod employer;
pub mod engagement_employer;
pub mod event;
pub mod exhibitor;
pub mod feedback;
pub mod feedback_link;
pub mod idempotency_key;
pub mod interview_slot;
pub mod invitation;
pub mod outbox;
pub mod outcome;
pub mod password_link;
pub mod postcode;
pub mod registration;
pub mod registration_answer;
pub mod registration_question;
pub mod registration_token;
pub mod school;
pub mod school_link;
pub mod slot_booking;
pub mod user;
pub mod venue;

//! sea-orm entities: the rows as the database holds them. Only `store` and `service` see these.

pub mod auth_token;
pub mod campaign;
pub mod event;
pub mod user;
pub mod venue;

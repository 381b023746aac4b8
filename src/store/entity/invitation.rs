use sea_orm::entity::prelude::*;

use crate::domain::Answer;

/// An invitation to an event, answered once through its RSVP link. The token is held as its
/// SHA-256.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: Uuid,
    pub email: String,
    pub name: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    /// `accepted` or `declined` once answered.
    pub answer: Option<Answer>,
    pub answered_at: Option<DateTimeUtc>,
    pub registration_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

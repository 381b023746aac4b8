use sea_orm::entity::prelude::*;

/// What one attendee thought of an event: 1 to 5, and what they said.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "feedback")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub registration_id: Uuid,
    pub event_id: Uuid,
    pub rating: i32,
    /// Cleared when the person's data is erased.
    pub comment: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

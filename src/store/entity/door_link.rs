use sea_orm::entity::prelude::*;

/// A secret link for volunteers at one event's door, held as its token's SHA-256.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "door_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: Uuid,
    /// Which door it is for ("Front door"); shown beside each check-in it makes.
    pub label: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    /// When the event's check-in window closes.
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

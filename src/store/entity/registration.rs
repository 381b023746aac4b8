use sea_orm::entity::prelude::*;

use crate::domain::RegistrationStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "registrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: Uuid,
    pub candidate_id: Uuid,
    pub status: RegistrationStatus,
    /// Arrival order on the waiting list (set while waitlisted and kept after).
    pub waitlist_seq: Option<i64>,
    /// When the person was checked in at the door; cleared by an undo.
    pub checked_in_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

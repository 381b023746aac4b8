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
    /// Which door checked the person in: a door link's label, or the organiser's name.
    pub checked_in_by: Option<String>,
    /// Typed at the door when the QR code cannot be scanned; unique within the event.
    pub ticket_code: String,
    /// Whether they agreed, when registering, that the employers at the fair may see their
    /// name and email address and record what came of meeting them.
    pub consent_share_with_employers: bool,
    /// While `offered`: when the offer passes to the next person.
    pub offer_expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

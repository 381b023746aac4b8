use sea_orm::entity::prelude::*;

/// What came of a meeting at a fair between an attendee (who agreed to share their details)
/// and an employer: one row a stage reached.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outcomes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: Uuid,
    pub registration_id: Uuid,
    pub employer_id: Uuid,
    /// `met`, `interviewed`, `offered` or `started`.
    pub stage: String,
    pub note: Option<String>,
    /// The name of the user who recorded it.
    pub recorded_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

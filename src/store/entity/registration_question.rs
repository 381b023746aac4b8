use sea_orm::entity::prelude::*;

use crate::store::Json;

/// A question an event's registration form asks, with why it is asked.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "registration_questions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: Uuid,
    pub label: String,
    /// `text`, `choice` or `yes_no`.
    pub kind: String,
    /// A choice's options; empty for the other kinds.
    pub options: Json<Vec<String>>,
    pub required: bool,
    /// Why it is asked: shown beside it on the form.
    pub purpose: String,
    /// No longer asked; kept because someone answered it.
    pub hidden: bool,
    /// Its place on the form, first is lowest.
    pub position: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

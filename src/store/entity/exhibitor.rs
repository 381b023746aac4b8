use sea_orm::entity::prelude::*;

use crate::store::Json;

use crate::domain::ExhibitorStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "exhibitors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: Uuid,
    pub employer_id: Uuid,
    pub status: ExhibitorStatus,
    pub stand_label: Option<String>,
    pub staff_count: i32,
    /// Role names, stored as a JSON array.
    pub roles_offered: Json<Vec<String>>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

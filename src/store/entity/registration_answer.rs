use sea_orm::entity::prelude::*;

/// What one registration answered to one question, as text (`yes` or `no` for a yes/no one).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "registration_answers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub registration_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub question_id: Uuid,
    pub value: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

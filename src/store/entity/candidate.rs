use sea_orm::entity::prelude::*;

use crate::store::Json;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "candidates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub postcode: Option<String>,
    /// Free-text interests, stored as a JSON array.
    pub interests: Json<Vec<String>>,
    pub consent_marketing: bool,
    pub consent_at: Option<DateTimeUtc>,
    pub source: Option<String>,
    pub erased_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

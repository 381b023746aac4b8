use sea_orm::entity::prelude::*;

/// The postcode directory (ONS Postcode Directory or OS Code-Point Open): where a postcode is.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "postcodes")]
pub struct Model {
    /// Normalised, as `Postcode` writes it (`CM1 1QH`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub postcode: String,
    pub latitude: f64,
    pub longitude: f64,
    /// When the postcode stopped being used (the first of the month ONS gives), if it has.
    pub terminated_on: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

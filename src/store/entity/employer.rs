use sea_orm::entity::prelude::*;

use crate::domain::{EmployerStatus, ProviderType};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "employers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub provider_type: ProviderType,
    #[sea_orm(unique)]
    pub cqc_location_id: Option<String>,
    pub address: String,
    pub postcode: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub website: Option<String>,
    pub contact_name: String,
    pub contact_email: String,
    pub status: EmployerStatus,
    /// SHA-256 of the calendar feed's token; the token itself is shown once, when made.
    #[sea_orm(unique)]
    pub feed_token_hash: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! The postcode directory: a venue, employer or school saved without coordinates takes them from
//! its postcode here. Loaded by `carefair import postcodes`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Postcodes {
    Table,
    Postcode,
    Latitude,
    Longitude,
    TerminatedOn,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Postcodes::Table)
                    .col(string_len(Postcodes::Postcode, 8).primary_key())
                    .col(double(Postcodes::Latitude))
                    .col(double(Postcodes::Longitude))
                    .col(date_null(Postcodes::TerminatedOn))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Postcodes::Table).to_owned()).await
    }
}

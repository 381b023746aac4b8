//! Waiting-list offers: with `offer_hours` set on an event, a freed place is offered to the first
//! person waiting (status `offered`, until `offer_expires_at`) instead of given at once; it
//! passes to the next when unclaimed in time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    OfferHours,
}

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Status,
    OfferExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Events::Table).add_column(integer_null(Events::OfferHours)).to_owned()).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Registrations::Table)
                    .add_column(timestamp_with_time_zone_null(Registrations::OfferExpiresAt))
                    .to_owned(),
            )
            .await?;
        // The sweep that passes unclaimed offers on looks for offers by when they expire.
        manager
            .create_index(
                Index::create()
                    .name("idx_registrations_offers")
                    .table(Registrations::Table)
                    .col(Registrations::Status)
                    .col(Registrations::OfferExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_registrations_offers").table(Registrations::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Registrations::Table).drop_column(Registrations::OfferExpiresAt).to_owned()).await?;
        manager.alter_table(Table::alter().table(Events::Table).drop_column(Events::OfferHours).to_owned()).await
    }
}

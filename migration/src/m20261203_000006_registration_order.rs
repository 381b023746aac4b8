//! An event's registrations in the order they were made, read a page at a time: the back
//! office's list and the streamed CSV walk this index instead of sorting the event's rows on
//! every page.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Registrations {
    Table,
    EventId,
    CreatedAt,
    Id,
}

const NAME: &str = "idx_registrations_event_created";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Registrations::Table)
                    .col(Registrations::EventId)
                    .col(Registrations::CreatedAt)
                    .col(Registrations::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(NAME).table(Registrations::Table).to_owned()).await
    }
}

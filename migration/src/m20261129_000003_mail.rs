//! Mail beyond registrations: invitations with their RSVP tokens, and the mark that an event's
//! reminders have been queued (so each person is reminded once).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    ReminderQueuedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    EventId,
    Email,
    Name,
    TokenHash,
    Answer,
    AnsweredAt,
    RegistrationId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Events::Table).add_column(timestamp_with_time_zone_null(Events::ReminderQueuedAt)).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(uuid(Invitations::Id).primary_key())
                    .col(uuid(Invitations::EventId))
                    .col(string(Invitations::Email))
                    .col(string(Invitations::Name))
                    .col(string_uniq(Invitations::TokenHash))
                    // `accepted` or `declined` once answered.
                    .col(string_null(Invitations::Answer))
                    .col(timestamp_with_time_zone_null(Invitations::AnsweredAt))
                    .col(uuid_null(Invitations::RegistrationId))
                    .col(timestamp_with_time_zone(Invitations::CreatedAt))
                    .foreign_key(ForeignKey::create().from(Invitations::Table, Invitations::EventId).to(Events::Table, Events::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_invitations_event").table(Invitations::Table).col(Invitations::EventId).to_owned())
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Invitations::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Events::Table).drop_column(Events::ReminderQueuedAt).to_owned()).await?;
        Ok(())
    }
}

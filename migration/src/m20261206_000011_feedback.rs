//! Feedback: when an event with attendees ends, each attendee is mailed a link (its token held
//! as a hash) to rate it from 1 to 5 and say what they thought, once; the event remembers that
//! the mail went out.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    FeedbackQueuedAt,
}

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum FeedbackLinks {
    Table,
    TokenHash,
    RegistrationId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Feedback {
    Table,
    RegistrationId,
    EventId,
    Rating,
    Comment,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Events::Table).add_column(timestamp_with_time_zone_null(Events::FeedbackQueuedAt)).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FeedbackLinks::Table)
                    .col(string(FeedbackLinks::TokenHash).primary_key())
                    .col(uuid(FeedbackLinks::RegistrationId))
                    .col(timestamp_with_time_zone(FeedbackLinks::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(FeedbackLinks::Table, FeedbackLinks::RegistrationId)
                            .to(Registrations::Table, Registrations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Feedback::Table)
                    // One answer a registration, whatever the application does.
                    .col(uuid(Feedback::RegistrationId).primary_key())
                    .col(uuid(Feedback::EventId))
                    .col(integer(Feedback::Rating))
                    .col(text_null(Feedback::Comment))
                    .col(timestamp_with_time_zone(Feedback::CreatedAt))
                    .foreign_key(
                        ForeignKey::create().from(Feedback::Table, Feedback::RegistrationId).to(Registrations::Table, Registrations::Id),
                    )
                    .foreign_key(ForeignKey::create().from(Feedback::Table, Feedback::EventId).to(Events::Table, Events::Id))
                    .to_owned(),
            )
            .await?;
        manager.create_index(Index::create().name("idx_feedback_event").table(Feedback::Table).col(Feedback::EventId).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Feedback::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(FeedbackLinks::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Events::Table).drop_column(Events::FeedbackQueuedAt).to_owned()).await
    }
}

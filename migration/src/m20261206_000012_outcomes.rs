//! From a booking to a hire: at registration a person may agree to share their details with
//! the employers at the fair (off unless they tick it); employers with a confirmed stand then
//! record what came of meeting those who agreed: met, interviewed, offered, started.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Employers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
    ConsentShareWithEmployers,
}

#[derive(DeriveIden)]
enum Outcomes {
    Table,
    Id,
    EventId,
    RegistrationId,
    EmployerId,
    Stage,
    Note,
    RecordedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Registrations::Table)
                    .add_column(boolean(Registrations::ConsentShareWithEmployers).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Outcomes::Table)
                    .col(uuid(Outcomes::Id).primary_key())
                    .col(uuid(Outcomes::EventId))
                    .col(uuid(Outcomes::RegistrationId))
                    .col(uuid(Outcomes::EmployerId))
                    // `met`, `interviewed`, `offered` or `started`.
                    .col(string(Outcomes::Stage))
                    .col(text_null(Outcomes::Note))
                    // Who recorded it: a user's name.
                    .col(string(Outcomes::RecordedBy))
                    .col(timestamp_with_time_zone(Outcomes::CreatedAt))
                    .foreign_key(ForeignKey::create().from(Outcomes::Table, Outcomes::EventId).to(Events::Table, Events::Id))
                    .foreign_key(
                        ForeignKey::create().from(Outcomes::Table, Outcomes::RegistrationId).to(Registrations::Table, Registrations::Id),
                    )
                    .foreign_key(ForeignKey::create().from(Outcomes::Table, Outcomes::EmployerId).to(Employers::Table, Employers::Id))
                    .to_owned(),
            )
            .await?;
        // Each stage once per person and employer, whatever the application does.
        manager
            .create_index(
                Index::create()
                    .name("uq_outcomes_stage")
                    .table(Outcomes::Table)
                    .col(Outcomes::RegistrationId)
                    .col(Outcomes::EmployerId)
                    .col(Outcomes::Stage)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager.create_index(Index::create().name("idx_outcomes_event").table(Outcomes::Table).col(Outcomes::EventId).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Outcomes::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Registrations::Table).drop_column(Registrations::ConsentShareWithEmployers).to_owned())
            .await
    }
}

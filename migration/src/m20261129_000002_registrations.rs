//! Candidates, registrations with their manage tokens, idempotency keys, the mail outbox, and the
//! counters on each event that let capacity be decided without counting rows.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    ConfirmedCount,
    WaitlistedCount,
    WaitlistSeq,
}

#[derive(DeriveIden)]
enum Candidates {
    Table,
    Id,
    Email,
    Name,
    Phone,
    Postcode,
    Interests,
    ConsentMarketing,
    ConsentAt,
    Source,
    ErasedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
    EventId,
    CandidateId,
    Status,
    WaitlistSeq,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RegistrationTokens {
    Table,
    TokenHash,
    RegistrationId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    EventId,
    Key,
    RequestHash,
    Response,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    ToAddress,
    Subject,
    Kind,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    MessageId,
    CreatedAt,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [
            integer(Events::ConfirmedCount).default(0),
            integer(Events::WaitlistedCount).default(0),
            big_integer(Events::WaitlistSeq).default(0),
        ] {
            manager.alter_table(Table::alter().table(Events::Table).add_column(column).to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Candidates::Table)
                    .col(uuid(Candidates::Id).primary_key())
                    // Stored in lower case, so unique regardless of how it was typed.
                    .col(string_uniq(Candidates::Email))
                    .col(string(Candidates::Name))
                    .col(string_null(Candidates::Phone))
                    .col(string_null(Candidates::Postcode))
                    .col(text(Candidates::Interests))
                    .col(boolean(Candidates::ConsentMarketing))
                    .col(timestamp_with_time_zone_null(Candidates::ConsentAt))
                    .col(string_null(Candidates::Source))
                    .col(timestamp_with_time_zone_null(Candidates::ErasedAt))
                    .col(timestamp_with_time_zone(Candidates::CreatedAt))
                    .col(timestamp_with_time_zone(Candidates::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Registrations::Table)
                    .col(uuid(Registrations::Id).primary_key())
                    .col(uuid(Registrations::EventId))
                    .col(uuid(Registrations::CandidateId))
                    .col(string(Registrations::Status))
                    // Arrival order on the waiting list; the position shown is derived from it.
                    .col(big_integer_null(Registrations::WaitlistSeq))
                    .col(timestamp_with_time_zone(Registrations::CreatedAt))
                    .col(timestamp_with_time_zone(Registrations::UpdatedAt))
                    .foreign_key(ForeignKey::create().from(Registrations::Table, Registrations::EventId).to(Events::Table, Events::Id))
                    .foreign_key(
                        ForeignKey::create().from(Registrations::Table, Registrations::CandidateId).to(Candidates::Table, Candidates::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_registrations_event_status_seq")
                    .table(Registrations::Table)
                    .col(Registrations::EventId)
                    .col(Registrations::Status)
                    .col(Registrations::WaitlistSeq)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_registrations_candidate").table(Registrations::Table).col(Registrations::CandidateId).to_owned(),
            )
            .await?;
        // One live registration per candidate per event, whatever the application does: the last
        // line of defence under concurrency. Partial indexes read the same on both databases.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_registrations_live ON registrations (event_id, candidate_id) WHERE status <> 'cancelled'",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RegistrationTokens::Table)
                    .col(string(RegistrationTokens::TokenHash).primary_key())
                    .col(uuid(RegistrationTokens::RegistrationId))
                    .col(timestamp_with_time_zone(RegistrationTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RegistrationTokens::Table, RegistrationTokens::RegistrationId)
                            .to(Registrations::Table, Registrations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_registration_tokens_registration")
                    .table(RegistrationTokens::Table)
                    .col(RegistrationTokens::RegistrationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(uuid(IdempotencyKeys::EventId))
                    .col(string(IdempotencyKeys::Key))
                    .col(string(IdempotencyKeys::RequestHash))
                    .col(text(IdempotencyKeys::Response))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(Index::create().col(IdempotencyKeys::EventId).col(IdempotencyKeys::Key))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(uuid(Outbox::Id).primary_key())
                    .col(string(Outbox::ToAddress))
                    .col(string(Outbox::Subject))
                    .col(string(Outbox::Kind))
                    // JSON: what the message is about, for the worker to render.
                    .col(text(Outbox::Payload))
                    .col(string(Outbox::Status))
                    .col(integer(Outbox::Attempts))
                    .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(Outbox::LockedUntil))
                    .col(text_null(Outbox::LastError))
                    .col(string_uniq(Outbox::MessageId))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(Outbox::SentAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_outbox_due").table(Outbox::Table).col(Outbox::Status).col(Outbox::NextAttemptAt).to_owned(),
            )
            .await?;
        manager.create_index(Index::create().name("idx_outbox_to").table(Outbox::Table).col(Outbox::ToAddress).to_owned()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Outbox::Table.into_iden(),
            IdempotencyKeys::Table.into_iden(),
            RegistrationTokens::Table.into_iden(),
            Registrations::Table.into_iden(),
            Candidates::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        for column in [Events::ConfirmedCount, Events::WaitlistedCount, Events::WaitlistSeq] {
            manager.alter_table(Table::alter().table(Events::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

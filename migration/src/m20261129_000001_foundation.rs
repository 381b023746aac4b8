//! Users and their login tokens, campaigns, venues and events.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    Role,
    EmployerId,
    SchoolId,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuthTokens {
    Table,
    Id,
    UserId,
    TokenHash,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    Slug,
    Name,
    Description,
    StartsOn,
    EndsOn,
    Objectives,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Venues {
    Table,
    Id,
    Name,
    Address,
    Postcode,
    Latitude,
    Longitude,
    Capacity,
    Accessibility,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    Kind,
    Title,
    Description,
    CampaignId,
    VenueId,
    OnlineUrl,
    StartsAt,
    EndsAt,
    Timezone,
    Capacity,
    RegistrationOpensAt,
    RegistrationClosesAt,
    Status,
    Sequence,
    SchoolId,
    MaxExhibitors,
    CancelReason,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(uuid(Users::Id).primary_key())
                    .col(string_uniq(Users::Email))
                    .col(string(Users::Name))
                    .col(string(Users::Role))
                    .col(uuid_null(Users::EmployerId))
                    .col(uuid_null(Users::SchoolId))
                    .col(string(Users::PasswordHash))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuthTokens::Table)
                    .col(uuid(AuthTokens::Id).primary_key())
                    .col(uuid(AuthTokens::UserId))
                    .col(string_uniq(AuthTokens::TokenHash))
                    .col(timestamp_with_time_zone(AuthTokens::ExpiresAt))
                    .col(timestamp_with_time_zone(AuthTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AuthTokens::Table, AuthTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Campaigns::Table)
                    .col(uuid(Campaigns::Id).primary_key())
                    .col(string_uniq(Campaigns::Slug))
                    .col(string(Campaigns::Name))
                    .col(text(Campaigns::Description))
                    .col(date(Campaigns::StartsOn))
                    .col(date(Campaigns::EndsOn))
                    // A JSON array of objective names.
                    .col(text(Campaigns::Objectives))
                    .col(timestamp_with_time_zone(Campaigns::CreatedAt))
                    .col(timestamp_with_time_zone(Campaigns::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Venues::Table)
                    .col(uuid(Venues::Id).primary_key())
                    .col(string(Venues::Name))
                    .col(text(Venues::Address))
                    .col(string(Venues::Postcode))
                    .col(double_null(Venues::Latitude))
                    .col(double_null(Venues::Longitude))
                    .col(integer_null(Venues::Capacity))
                    .col(text_null(Venues::Accessibility))
                    .col(timestamp_with_time_zone(Venues::CreatedAt))
                    .col(timestamp_with_time_zone(Venues::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(uuid(Events::Id).primary_key())
                    .col(string(Events::Kind))
                    .col(string(Events::Title))
                    .col(text(Events::Description))
                    .col(uuid_null(Events::CampaignId))
                    .col(uuid_null(Events::VenueId))
                    .col(text_null(Events::OnlineUrl))
                    .col(timestamp_with_time_zone(Events::StartsAt))
                    .col(timestamp_with_time_zone(Events::EndsAt))
                    .col(string(Events::Timezone))
                    .col(integer_null(Events::Capacity))
                    .col(timestamp_with_time_zone_null(Events::RegistrationOpensAt))
                    .col(timestamp_with_time_zone_null(Events::RegistrationClosesAt))
                    .col(string(Events::Status))
                    .col(integer(Events::Sequence))
                    // The school's table arrives with the employers-and-schools change; until
                    // then the service checks the id.
                    .col(uuid_null(Events::SchoolId))
                    .col(integer_null(Events::MaxExhibitors))
                    .col(text_null(Events::CancelReason))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .col(timestamp_with_time_zone(Events::UpdatedAt))
                    .foreign_key(ForeignKey::create().from(Events::Table, Events::CampaignId).to(Campaigns::Table, Campaigns::Id))
                    .foreign_key(ForeignKey::create().from(Events::Table, Events::VenueId).to(Venues::Table, Venues::Id))
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create().name("idx_events_status_starts").table(Events::Table).col(Events::Status).col(Events::StartsAt).to_owned(),
            )
            .await?;
        manager.create_index(Index::create().name("idx_events_campaign").table(Events::Table).col(Events::CampaignId).to_owned()).await?;
        manager.create_index(Index::create().name("idx_events_venue").table(Events::Table).col(Events::VenueId).to_owned()).await?;
        manager
            .create_index(Index::create().name("idx_auth_tokens_user").table(AuthTokens::Table).col(AuthTokens::UserId).to_owned())
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Events::Table.into_iden(),
            Venues::Table.into_iden(),
            Campaigns::Table.into_iden(),
            AuthTokens::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

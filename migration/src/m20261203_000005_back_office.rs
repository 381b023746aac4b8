//! The back office: when each person was checked in, whether a user may still sign in, and the
//! single-use links that set a password (a reset asked for, or an invitation).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Registrations {
    Table,
    CheckedInAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Active,
}

#[derive(DeriveIden)]
enum PasswordLinks {
    Table,
    Id,
    UserId,
    TokenHash,
    Purpose,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        manager
            .alter_table(
                Table::alter().table(Registrations::Table).add_column(timestamp_with_time_zone_null(Registrations::CheckedInAt)).to_owned(),
            )
            .await?;
        manager.alter_table(Table::alter().table(Users::Table).add_column(boolean(Users::Active).default(true)).to_owned()).await?;
        manager
            .create_table(
                Table::create()
                    .table(PasswordLinks::Table)
                    .col(uuid(PasswordLinks::Id).primary_key())
                    .col(uuid(PasswordLinks::UserId))
                    .col(string_uniq(PasswordLinks::TokenHash))
                    .col(string(PasswordLinks::Purpose))
                    .col(timestamp_with_time_zone(PasswordLinks::ExpiresAt))
                    .col(timestamp_with_time_zone_null(PasswordLinks::UsedAt))
                    .col(timestamp_with_time_zone(PasswordLinks::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PasswordLinks::Table, PasswordLinks::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_password_links_user").table(PasswordLinks::Table).col(PasswordLinks::UserId).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PasswordLinks::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::Active).to_owned()).await?;
        manager.alter_table(Table::alter().table(Registrations::Table).drop_column(Registrations::CheckedInAt).to_owned()).await
    }
}

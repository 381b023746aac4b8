//! Care employers and schools, the links between them, stands at fairs, and the details of school
//! engagements (an event of kind `school_engagement` plus the columns and employers here).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Employers {
    Table,
    Id,
    Name,
    ProviderType,
    CqcLocationId,
    Address,
    Postcode,
    Latitude,
    Longitude,
    Website,
    ContactName,
    ContactEmail,
    Status,
    FeedTokenHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Schools {
    Table,
    Id,
    Urn,
    Name,
    Address,
    Postcode,
    Latitude,
    Longitude,
    District,
    CareersLeaderName,
    CareersLeaderEmail,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SchoolLinks {
    Table,
    Id,
    EmployerId,
    SchoolId,
    Status,
    Notes,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Exhibitors {
    Table,
    Id,
    EventId,
    EmployerId,
    Status,
    StandLabel,
    StaffCount,
    RolesOffered,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EngagementEmployers {
    Table,
    EventId,
    EmployerId,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    EmployerIds,
    Activity,
    YearGroups,
    ExpectedPupils,
    PupilsReached,
    PurposeBriefed,
    LearningOutcomes,
    TwoWayInteraction,
    Reflection,
    Supervised,
    RiskAssessmentRef,
    OutcomeRecordedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Employers::Table)
                    .col(uuid(Employers::Id).primary_key())
                    .col(string(Employers::Name))
                    .col(string(Employers::ProviderType))
                    .col(string_null(Employers::CqcLocationId).unique_key())
                    .col(text(Employers::Address))
                    .col(string(Employers::Postcode))
                    .col(double_null(Employers::Latitude))
                    .col(double_null(Employers::Longitude))
                    .col(string_null(Employers::Website))
                    .col(string(Employers::ContactName))
                    .col(string(Employers::ContactEmail))
                    .col(string(Employers::Status))
                    .col(string_null(Employers::FeedTokenHash).unique_key())
                    .col(timestamp_with_time_zone(Employers::CreatedAt))
                    .col(timestamp_with_time_zone(Employers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager.create_index(Index::create().name("idx_employers_name").table(Employers::Table).col(Employers::Name).to_owned()).await?;

        manager
            .create_table(
                Table::create()
                    .table(Schools::Table)
                    .col(uuid(Schools::Id).primary_key())
                    .col(string_uniq(Schools::Urn))
                    .col(string(Schools::Name))
                    .col(text(Schools::Address))
                    .col(string(Schools::Postcode))
                    .col(double_null(Schools::Latitude))
                    .col(double_null(Schools::Longitude))
                    .col(string_null(Schools::District))
                    .col(string_null(Schools::CareersLeaderName))
                    .col(string_null(Schools::CareersLeaderEmail))
                    .col(timestamp_with_time_zone(Schools::CreatedAt))
                    .col(timestamp_with_time_zone(Schools::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Suggestions look schools up by a latitude band first, then longitude.
        manager
            .create_index(
                Index::create()
                    .name("idx_schools_position")
                    .table(Schools::Table)
                    .col(Schools::Latitude)
                    .col(Schools::Longitude)
                    .to_owned(),
            )
            .await?;
        manager.create_index(Index::create().name("idx_schools_name").table(Schools::Table).col(Schools::Name).to_owned()).await?;

        manager
            .create_table(
                Table::create()
                    .table(SchoolLinks::Table)
                    .col(uuid(SchoolLinks::Id).primary_key())
                    .col(uuid(SchoolLinks::EmployerId))
                    .col(uuid(SchoolLinks::SchoolId))
                    .col(string(SchoolLinks::Status))
                    .col(text_null(SchoolLinks::Notes))
                    .col(timestamp_with_time_zone(SchoolLinks::CreatedAt))
                    .col(timestamp_with_time_zone(SchoolLinks::UpdatedAt))
                    .foreign_key(ForeignKey::create().from(SchoolLinks::Table, SchoolLinks::EmployerId).to(Employers::Table, Employers::Id))
                    .foreign_key(ForeignKey::create().from(SchoolLinks::Table, SchoolLinks::SchoolId).to(Schools::Table, Schools::Id))
                    .to_owned(),
            )
            .await?;
        // At most one link per pair that has not ended: the database holds the rule, so two
        // requests at once cannot both get in. Partial indexes read the same on both databases.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_school_links_open_pair ON school_links (employer_id, school_id) WHERE status <> 'ended'",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_school_links_school_status")
                    .table(SchoolLinks::Table)
                    .col(SchoolLinks::SchoolId)
                    .col(SchoolLinks::Status)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Exhibitors::Table)
                    .col(uuid(Exhibitors::Id).primary_key())
                    .col(uuid(Exhibitors::EventId))
                    .col(uuid(Exhibitors::EmployerId))
                    .col(string(Exhibitors::Status))
                    .col(string_null(Exhibitors::StandLabel))
                    .col(integer(Exhibitors::StaffCount))
                    // A JSON array of role names.
                    .col(text(Exhibitors::RolesOffered))
                    .col(timestamp_with_time_zone(Exhibitors::CreatedAt))
                    .col(timestamp_with_time_zone(Exhibitors::UpdatedAt))
                    .foreign_key(ForeignKey::create().from(Exhibitors::Table, Exhibitors::EventId).to(Events::Table, Events::Id))
                    .foreign_key(ForeignKey::create().from(Exhibitors::Table, Exhibitors::EmployerId).to(Employers::Table, Employers::Id))
                    .to_owned(),
            )
            .await?;
        // An employer exhibits once per fair; a stand label names one stand per fair (NULLs,
        // for stands not yet confirmed, are distinct on both databases).
        manager
            .create_index(
                Index::create()
                    .name("idx_exhibitors_event_employer")
                    .table(Exhibitors::Table)
                    .col(Exhibitors::EventId)
                    .col(Exhibitors::EmployerId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_exhibitors_event_stand")
                    .table(Exhibitors::Table)
                    .col(Exhibitors::EventId)
                    .col(Exhibitors::StandLabel)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_exhibitors_employer").table(Exhibitors::Table).col(Exhibitors::EmployerId).to_owned())
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EngagementEmployers::Table)
                    .col(uuid(EngagementEmployers::EventId))
                    .col(uuid(EngagementEmployers::EmployerId))
                    .primary_key(Index::create().col(EngagementEmployers::EventId).col(EngagementEmployers::EmployerId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EngagementEmployers::Table, EngagementEmployers::EventId)
                            .to(Events::Table, Events::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EngagementEmployers::Table, EngagementEmployers::EmployerId)
                            .to(Employers::Table, Employers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_engagement_employers_employer")
                    .table(EngagementEmployers::Table)
                    .col(EngagementEmployers::EmployerId)
                    .to_owned(),
            )
            .await?;

        // SQLite adds one column per ALTER TABLE.
        let columns = [
            // A JSON array, kept beside `engagement_employers` so an event reads in one row.
            text_null(Events::EmployerIds),
            string_null(Events::Activity),
            text_null(Events::YearGroups),
            integer_null(Events::ExpectedPupils),
            integer_null(Events::PupilsReached),
            boolean_null(Events::PurposeBriefed),
            boolean_null(Events::LearningOutcomes),
            boolean_null(Events::TwoWayInteraction),
            boolean_null(Events::Reflection),
            boolean_null(Events::Supervised),
            string_null(Events::RiskAssessmentRef),
            timestamp_with_time_zone_null(Events::OutcomeRecordedAt),
        ];
        for column in columns {
            let mut column = column;
            manager.alter_table(Table::alter().table(Events::Table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .create_index(Index::create().name("idx_events_school").table(Events::Table).col(Alias::new("school_id")).to_owned())
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_events_school").table(Events::Table).to_owned()).await?;
        for column in [
            Events::EmployerIds,
            Events::Activity,
            Events::YearGroups,
            Events::ExpectedPupils,
            Events::PupilsReached,
            Events::PurposeBriefed,
            Events::LearningOutcomes,
            Events::TwoWayInteraction,
            Events::Reflection,
            Events::Supervised,
            Events::RiskAssessmentRef,
            Events::OutcomeRecordedAt,
        ] {
            manager.alter_table(Table::alter().table(Events::Table).drop_column(column).to_owned()).await?;
        }
        for table in [EngagementEmployers::Table.into_iden(), Exhibitors::Table.into_iden(), SchoolLinks::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(Schools::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Employers::Table).to_owned()).await?;
        Ok(())
    }
}

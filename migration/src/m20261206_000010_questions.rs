//! Registration questions: what organisers must know to welcome someone (access needs, a
//! driving licence for home care), asked per event, each with why it is asked; and the answers
//! people give, one row a question, so that a question someone answered can be found and kept.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RegistrationQuestions {
    Table,
    Id,
    EventId,
    Label,
    Kind,
    Options,
    Required,
    Purpose,
    Hidden,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RegistrationAnswers {
    Table,
    RegistrationId,
    QuestionId,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RegistrationQuestions::Table)
                    .col(uuid(RegistrationQuestions::Id).primary_key())
                    .col(uuid(RegistrationQuestions::EventId))
                    .col(text(RegistrationQuestions::Label))
                    // `text`, `choice` or `yes_no`.
                    .col(string(RegistrationQuestions::Kind))
                    // A choice's options, as a JSON array of strings.
                    .col(text(RegistrationQuestions::Options))
                    .col(boolean(RegistrationQuestions::Required))
                    .col(text(RegistrationQuestions::Purpose))
                    .col(boolean(RegistrationQuestions::Hidden).default(false))
                    .col(integer(RegistrationQuestions::Position))
                    .col(timestamp_with_time_zone(RegistrationQuestions::CreatedAt))
                    .col(timestamp_with_time_zone(RegistrationQuestions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RegistrationQuestions::Table, RegistrationQuestions::EventId)
                            .to(Events::Table, Events::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_registration_questions_event")
                    .table(RegistrationQuestions::Table)
                    .col(RegistrationQuestions::EventId)
                    .col(RegistrationQuestions::Position)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RegistrationAnswers::Table)
                    .col(uuid(RegistrationAnswers::RegistrationId))
                    .col(uuid(RegistrationAnswers::QuestionId))
                    .col(text(RegistrationAnswers::Value))
                    .primary_key(Index::create().col(RegistrationAnswers::RegistrationId).col(RegistrationAnswers::QuestionId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RegistrationAnswers::Table, RegistrationAnswers::RegistrationId)
                            .to(Registrations::Table, Registrations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RegistrationAnswers::Table, RegistrationAnswers::QuestionId)
                            .to(RegistrationQuestions::Table, RegistrationQuestions::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // "Has anyone answered this question?" before a question may be deleted.
        manager
            .create_index(
                Index::create()
                    .name("idx_registration_answers_question")
                    .table(RegistrationAnswers::Table)
                    .col(RegistrationAnswers::QuestionId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RegistrationAnswers::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(RegistrationQuestions::Table).to_owned()).await
    }
}

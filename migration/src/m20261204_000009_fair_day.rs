//! The day of a fair: every registration gets a ticket code (typed at the door when a phone
//! cannot scan its QR code) and remembers which door checked it in; door links let volunteers
//! without accounts check people in at one event; employers' stands cut their interview time
//! into slots that candidates book.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Exhibitors {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
    EventId,
    TicketCode,
    CheckedInBy,
}

#[derive(DeriveIden)]
enum DoorLinks {
    Table,
    Id,
    EventId,
    Label,
    TokenHash,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum InterviewSlots {
    Table,
    Id,
    EventId,
    ExhibitorId,
    StartsAt,
    EndsAt,
    Interviewers,
    Booked,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SlotBookings {
    Table,
    Id,
    SlotId,
    ExhibitorId,
    RegistrationId,
    CreatedAt,
}

/// Crockford's base32 without I, L, O and U: what a ticket code is written in.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ticket code for a registration made before codes existed. The service makes its own from
/// the system's random source; this one only has to be unpredictable enough for old rows, and
/// the unique index below stops a repeat.
fn old_row_code(seed: &mut u64) -> String {
    (0..10)
        .map(|_| {
            // xorshift64*, seeded from the clock and the row's id
            *seed ^= *seed >> 12;
            *seed ^= *seed << 25;
            *seed ^= *seed >> 27;
            let n = seed.wrapping_mul(0x2545_F491_4F6C_DD1D);
            ALPHABET[(n >> 59) as usize] as char
        })
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [string_null(Registrations::TicketCode), string_null(Registrations::CheckedInBy)] {
            manager.alter_table(Table::alter().table(Registrations::Table).add_column(column).to_owned()).await?;
        }
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let rows = db.query_all_raw(Statement::from_string(backend, "SELECT id FROM registrations WHERE ticket_code IS NULL")).await?;
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        for row in rows {
            let id: sea_orm_migration::sea_orm::prelude::Uuid = row.try_get("", "id")?;
            let mut seed = nanos ^ (id.as_u128() as u64) ^ ((id.as_u128() >> 64) as u64) | 1;
            let code = old_row_code(&mut seed);
            let sql = match backend {
                sea_orm_migration::sea_orm::DbBackend::Postgres => "UPDATE registrations SET ticket_code = $1 WHERE id = $2",
                _ => "UPDATE registrations SET ticket_code = ? WHERE id = ?",
            };
            db.execute_raw(Statement::from_sql_and_values(backend, sql, [code.into(), id.into()])).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("uq_registrations_ticket")
                    .table(Registrations::Table)
                    .col(Registrations::EventId)
                    .col(Registrations::TicketCode)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DoorLinks::Table)
                    .col(uuid(DoorLinks::Id).primary_key())
                    .col(uuid(DoorLinks::EventId))
                    .col(string(DoorLinks::Label))
                    .col(string_uniq(DoorLinks::TokenHash))
                    .col(timestamp_with_time_zone(DoorLinks::ExpiresAt))
                    .col(timestamp_with_time_zone(DoorLinks::CreatedAt))
                    .foreign_key(ForeignKey::create().from(DoorLinks::Table, DoorLinks::EventId).to(Events::Table, Events::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_door_links_event").table(DoorLinks::Table).col(DoorLinks::EventId).to_owned())
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(InterviewSlots::Table)
                    .col(uuid(InterviewSlots::Id).primary_key())
                    .col(uuid(InterviewSlots::EventId))
                    .col(uuid(InterviewSlots::ExhibitorId))
                    .col(timestamp_with_time_zone(InterviewSlots::StartsAt))
                    .col(timestamp_with_time_zone(InterviewSlots::EndsAt))
                    .col(integer(InterviewSlots::Interviewers))
                    // How many hold it now: a booking raises it only while it is below
                    // `interviewers`, in one conditional UPDATE, so no slot is ever overbooked.
                    .col(integer(InterviewSlots::Booked).default(0))
                    .col(timestamp_with_time_zone(InterviewSlots::CreatedAt))
                    .foreign_key(ForeignKey::create().from(InterviewSlots::Table, InterviewSlots::EventId).to(Events::Table, Events::Id))
                    .foreign_key(
                        ForeignKey::create().from(InterviewSlots::Table, InterviewSlots::ExhibitorId).to(Exhibitors::Table, Exhibitors::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_interview_slots_event")
                    .table(InterviewSlots::Table)
                    .col(InterviewSlots::EventId)
                    .col(InterviewSlots::StartsAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_interview_slots_exhibitor")
                    .table(InterviewSlots::Table)
                    .col(InterviewSlots::ExhibitorId)
                    .col(InterviewSlots::StartsAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SlotBookings::Table)
                    .col(uuid(SlotBookings::Id).primary_key())
                    .col(uuid(SlotBookings::SlotId))
                    .col(uuid(SlotBookings::ExhibitorId))
                    .col(uuid(SlotBookings::RegistrationId))
                    .col(timestamp_with_time_zone(SlotBookings::CreatedAt))
                    .foreign_key(
                        ForeignKey::create().from(SlotBookings::Table, SlotBookings::SlotId).to(InterviewSlots::Table, InterviewSlots::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SlotBookings::Table, SlotBookings::RegistrationId)
                            .to(Registrations::Table, Registrations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One slot per stand per person, whatever the application does.
        manager
            .create_index(
                Index::create()
                    .name("uq_slot_bookings_stand")
                    .table(SlotBookings::Table)
                    .col(SlotBookings::RegistrationId)
                    .col(SlotBookings::ExhibitorId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_slot_bookings_slot").table(SlotBookings::Table).col(SlotBookings::SlotId).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SlotBookings::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(InterviewSlots::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(DoorLinks::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("uq_registrations_ticket").table(Registrations::Table).to_owned()).await?;
        for column in [Registrations::CheckedInBy, Registrations::TicketCode] {
            manager.alter_table(Table::alter().table(Registrations::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

//! carefair's schema, one file per change. A migration is never edited once it has landed: a
//! change to the schema is a new file. Every migration runs on SQLite and PostgreSQL alike, so
//! only portable column types are used (UUIDs, timestamps with time zone, text holding JSON).

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_foundation;
mod m20261129_000002_registrations;
mod m20261129_000003_mail;
mod m20261129_000004_organisations;
mod m20261203_000005_back_office;
mod m20261203_000006_registration_order;
mod m20261203_000007_postcodes;
mod m20261203_000008_outcome_notes;
mod m20261204_000009_fair_day;
mod m20261206_000010_questions;
mod m20261206_000011_feedback;
mod m20261206_000012_outcomes;
mod m20261206_000013_offers;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_foundation::Migration),
            Box::new(m20261129_000002_registrations::Migration),
            Box::new(m20261129_000003_mail::Migration),
            Box::new(m20261129_000004_organisations::Migration),
            Box::new(m20261203_000005_back_office::Migration),
            Box::new(m20261203_000006_registration_order::Migration),
            Box::new(m20261203_000007_postcodes::Migration),
            Box::new(m20261203_000008_outcome_notes::Migration),
            Box::new(m20261204_000009_fair_day::Migration),
            Box::new(m20261206_000010_questions::Migration),
            Box::new(m20261206_000011_feedback::Migration),
            Box::new(m20261206_000012_outcomes::Migration),
            Box::new(m20261206_000013_offers::Migration),
        ]
    }
}

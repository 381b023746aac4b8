//! carefair's benchmarks. Each starts the release server on a fresh database, drives it over
//! loopback HTTP, and reports its figures next to a reference measured in the same run, so the
//! numbers mean something on any machine. See bench/README.md.

mod backoffice;
mod fairday;
mod feed;
mod load;
mod mail;
mod postcodes;
mod rush;
mod server;
mod suggestions;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "carefair benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The registration rush: N registrations from C concurrent clients for one fair.
    Rush(rush::Options),
    /// The public feed: 2,000 published events, against Python icalendar.
    Feed(feed::Options),
    /// Mail: 5,000 invitations through a local SMTP server, against a plain SMTP client.
    Mail(mail::Options),
    /// Employer–school suggestions at 5,000 × 5,000, against a full scan of the same data.
    Suggestions(suggestions::Options),
    /// The back office: an event's registrations pages with 10,000 registrations, and a CSV of 100,000.
    Backoffice(backoffice::Options),
    /// The postcode directory: a 2.7-million-row ONS file loaded, then 10,000 lookups.
    Postcodes(postcodes::Options),
    /// The door on a fair's day: four doors with door links scanning 500 tickets each at once.
    Checkin(fairday::CheckinOptions),
    /// Interview slots: 1,000 candidates racing for the 60 slots of one interviewer.
    Slots(fairday::SlotsOptions),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Rush(options) => rush::run(options).await,
        Command::Feed(options) => feed::run(options).await,
        Command::Mail(options) => mail::run(options).await,
        Command::Suggestions(options) => suggestions::run(options).await,
        Command::Backoffice(options) => backoffice::run(options).await,
        Command::Postcodes(options) => postcodes::run(options).await,
        Command::Checkin(options) => fairday::checkin(options).await,
        Command::Slots(options) => fairday::slots(options).await,
    }
}

//! The `carefair` command: parse arguments, load settings, run one command.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use carefair::clock::SystemClock;
use carefair::config::Settings;
use carefair::domain::{Actor, EmailAddress, Role, Text};
use carefair::service::auth::Password;
use carefair::service::{demo, imports, postcodes, schema, users};
use carefair::startup::{Application, command_services, run_worker, shutdown_signal};
use carefair::telemetry;

#[derive(Parser)]
#[command(name = "carefair", version, about = "Recruitment events for adult social care")]
struct Cli {
    /// Folder holding default.toml and the $CAREFAIR_ENV.toml overlays.
    #[arg(long, global = true, default_value = "config", env = "CAREFAIR_CONFIG_DIR")]
    config_dir: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run migrations, then serve HTTP (the default).
    Serve,
    /// Schema migrations only.
    Migrate {
        #[arg(value_enum, default_value = "up")]
        action: MigrateAction,
    },
    /// The mail worker alone, for running it as separate processes.
    Worker,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Import schools (DfE establishment CSV) or care providers (CQC locations CSV).
    Import {
        #[arg(value_enum)]
        what: ImportKind,
        file: PathBuf,
    },
    /// Load a demo data set: the Gift of Care campaign, fairs, schools, employers.
    Demo,
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportKind {
    /// Upsert by URN; keeps open secondary schools.
    Schools,
    /// Upsert by CQC location id; keeps adult social care locations.
    Employers,
    /// The postcode directory: the ONS Postcode Directory or OS Code-Point Open, upserted.
    Postcodes,
}

#[derive(Clone, Copy, ValueEnum)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the latest migration.
    Down,
    /// List applied and pending migrations.
    Status,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "organiser", "employer", "school"])]
        role: String,
        /// Display name; the part of the email before @ when left out.
        #[arg(long)]
        name: Option<String>,
        /// The employer an employer user belongs to.
        #[arg(long = "employer")]
        employer_id: Option<uuid::Uuid>,
        /// The school a school user belongs to.
        #[arg(long = "school")]
        school_id: Option<uuid::Uuid>,
    },
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("carefair: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(start())
}

/// At most four malloc arenas per core. glibc gives each thread that allocates while another
/// holds an arena one of its own, up to eight per core, and keeps what each has grown to: the
/// SQLite driver's thread per connection and the runtime's workers, passing rows and pages
/// between them, made an export of 100,000 registrations grow the server by 25–28 MiB with
/// eight a core, by none with one, and by 15 MiB with four (the target is under 20). With one,
/// a race for interview slots waited on the arenas' locks: four a core gave it a quarter more
/// throughput and a p99 of 48–68 ms against 66–73 (bench/README.md). Set before the runtime
/// starts any thread, so every thread sees it. glibc's own `MALLOC_ARENA_MAX`, when set, is
/// left to decide.
const ARENAS_PER_CORE: usize = 4;

fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let arenas = libc::c_int::try_from(cores.saturating_mul(ARENAS_PER_CORE)).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets an allocator option; it is called before any other thread
        // exists, and a value it refuses leaves the default in place.
        let _ = unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) };
    }
}

async fn start() -> ExitCode {
    telemetry::init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("carefair: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(&cli.config_dir)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings, Arc::new(SystemClock)).await?;
            app.run_until(shutdown_signal()).await?;
        }
        Command::Worker => run_worker(settings, Arc::new(SystemClock), shutdown_signal()).await?,
        Command::Migrate { action } => {
            let action = match action {
                MigrateAction::Up => schema::Migration::Up,
                MigrateAction::Down => schema::Migration::Down,
                MigrateAction::Status => schema::Migration::Status,
            };
            let state = schema::migrate(&settings.database.url, action).await?;
            if matches!(action, schema::Migration::Status) {
                for (name, applied) in state {
                    println!("{}  {name}", if applied { "applied" } else { "pending" });
                }
            }
        }
        Command::User { command: UserCommand::Add { email, role, name, employer_id, school_id } } => {
            let email = EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
            let role = Role::parse(&role).map_err(|e| anyhow::anyhow!("--role {e}"))?;
            let name = name.unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("").to_owned());
            let name = Text::name(&name).map_err(|e| anyhow::anyhow!("--name {e}"))?.into_string();
            let password = read_password()?;
            let password = Password::parse(&password).map_err(|e| anyhow::anyhow!("password {e}"))?;
            let svc = command_services(settings).await?;
            let user = users::create(&svc, &Actor::system(), users::NewUser { email, name, role, employer_id, school_id, password })
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created {} ({}) {}", user.email, user.role.as_str(), user.id);
        }
        Command::Import { what: ImportKind::Postcodes, file } => {
            let opened = std::fs::File::open(&file).with_context(|| format!("reading {}", file.display()))?;
            let size = opened.metadata().map(|m| m.len()).unwrap_or(0);
            let svc = command_services(settings).await?;
            let terminal = std::io::stderr().is_terminal();
            let started = std::time::Instant::now();
            let report = postcodes::load(&svc, opened, |done| {
                if terminal {
                    let percent = (done.bytes * 100).checked_div(size).unwrap_or(0);
                    eprint!("\rloading postcodes: {} rows read ({percent}%)", done.rows);
                }
            })
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            if terminal {
                eprintln!();
            }
            println!("loaded {}, rejected {} in {:.1} s", report.loaded, report.rejected.len(), started.elapsed().as_secs_f64());
            const SHOWN: usize = 100;
            for (line, reason) in report.rejected.iter().take(SHOWN) {
                println!("line {line}: rejected: {reason}");
            }
            if report.rejected.len() > SHOWN {
                println!("… and {} more rejected", report.rejected.len() - SHOWN);
            }
        }
        Command::Import { what, file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let svc = command_services(settings).await?;
            let report = match what {
                ImportKind::Schools => imports::schools(&svc, &bytes).await,
                ImportKind::Employers => imports::employers(&svc, &bytes).await,
                ImportKind::Postcodes => unreachable!("postcodes are streamed above"),
            }
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            print_report(&report);
        }
        Command::Demo => {
            let svc = command_services(settings).await?;
            let loaded = demo::load(&svc).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{loaded}");
        }
    }
    Ok(())
}

fn print_report(report: &imports::ImportReport) {
    println!(
        "added {}, updated {}, unchanged {}, skipped {}, rejected {}",
        report.added,
        report.updated,
        report.unchanged,
        report.skipped.len(),
        report.rejected.len()
    );
    for (line, reason) in &report.skipped {
        println!("line {line}: skipped: {reason}");
    }
    for (line, reason) in &report.rejected {
        println!("line {line}: rejected: {reason}");
    }
}

/// The password from standard input: prompted for without echo on a terminal, otherwise the
/// first line of piped input.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        return Ok(rpassword::prompt_password("Password: ")?);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

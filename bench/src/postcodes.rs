//! The postcode directory (SPEC §7): a generated file of 2.7 million rows in the ONS Postcode
//! Directory's layout loaded by the release binary's `carefair import postcodes` (wall time and
//! the process's resident memory, sampled through the load), then 10,000 lookups of random
//! postcodes through the same query the service places records with
//! (`carefair::service::postcodes::locate`), each timed, after 100 untimed ones that warm the
//! connection pool as a serving process's would be.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::rush::{ms, on_database, percentile};

#[derive(clap::Args)]
pub struct Options {
    /// Rows in the generated file.
    #[arg(long, default_value_t = 2_700_000)]
    rows: usize,
    /// Lookups after the load.
    #[arg(long, default_value_t = 10_000)]
    lookups: usize,
    /// Run on this PostgreSQL server (a fresh database is made and dropped) instead of SQLite.
    #[arg(long)]
    postgres: Option<String>,
}

/// A made-up but well-formed postcode for `n`: outward codes from AB1 to ZE99, inward 0AA–9ZZ.
fn postcode(n: usize) -> String {
    const AREAS: [&str; 24] = [
        "AB", "BA", "CB", "CM", "CO", "DA", "EN", "GU", "HP", "IP", "KT", "LU", "ME", "NR", "OX", "PE", "RG", "SG", "SL", "SS", "TN", "WD",
        "YO", "ZE",
    ];
    const LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
    let inward_count = 10 * LETTERS.len() * LETTERS.len();
    let (outward, inward) = (n / inward_count, n % inward_count);
    let area = AREAS[outward % AREAS.len()];
    let district = outward / AREAS.len() + 1;
    let digit = inward / (LETTERS.len() * LETTERS.len());
    let pair = inward % (LETTERS.len() * LETTERS.len());
    let (a, b) = (LETTERS[pair / LETTERS.len()] as char, LETTERS[pair % LETTERS.len()] as char);
    format!("{area}{district} {digit}{a}{b}")
}

/// Writes the file in the ONS layout, with a few of its other columns so the reader has to find
/// its four by name.
fn generate(path: &Path, rows: usize) -> anyhow::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "pcd,pcd2,pcds,dointr,doterm,usertype,oseast1m,osnrth1m,osgrdind,ctry,rgn,lat,long")?;
    for n in 0..rows {
        let code = postcode(n);
        let compact = code.replace(' ', "");
        let lat = 50.0 + (n % 9_000) as f64 / 1_000.0;
        let lon = -5.0 + (n % 7_000) as f64 / 1_000.0;
        let doterm = if n % 10 == 0 { "202001" } else { "" };
        writeln!(out, "{compact},{code},{code},198001,{doterm},0,500000,200000,1,E92000001,E12000006,{lat:.6},{lon:.6}")?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn memory_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let postgres = o.postgres.clone();
    on_database(postgres.as_deref(), |db| async move { run_on(&o, db.as_deref()).await }).await
}

async fn run_on(o: &Options, database: Option<&str>) -> anyhow::Result<()> {
    let (root, binary) = crate::server::release_binary()?;
    let dir = crate::server::fresh_dir()?;
    let result = measure(o, database, &binary, &root, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(o: &Options, database: Option<&str>, binary: &Path, root: &Path, dir: &Path) -> anyhow::Result<()> {
    let url = match database {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
    };
    let file = dir.join("onspd.csv");
    let started = Instant::now();
    let size = generate(&file, o.rows)?;
    println!(
        "postcodes on {}: a generated ONS file of {} rows ({:.0} MB, written in {:.1} s)",
        if database.is_some() { "PostgreSQL" } else { "SQLite" },
        o.rows,
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let load = |label: &'static str| -> anyhow::Result<()> {
        let started = Instant::now();
        let mut child = Command::new(binary)
            .arg("--config-dir")
            .arg(root.join("config"))
            .args(["import", "postcodes"])
            .arg(&file)
            .env("CAREFAIR__DATABASE__URL", &url)
            .env("RUST_LOG", "warn")
            .env_remove("CAREFAIR_ENV")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the import")?;
        let mut samples = Vec::new();
        while child.try_wait()?.is_none() {
            samples.push(memory_kib(child.id()));
            std::thread::sleep(Duration::from_millis(100));
        }
        let output = child.wait_with_output()?;
        if !output.status.success() {
            bail!("the import failed");
        }
        let elapsed = started.elapsed().as_secs_f64();
        let report = String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or_default().to_owned();
        let samples: Vec<u64> = samples.into_iter().filter(|&k| k > 0).collect();
        let at = |fraction: f64| samples.get(((samples.len() as f64 - 1.0) * fraction) as usize).copied().unwrap_or(0) as f64 / 1024.0;
        let peak = samples.iter().copied().max().unwrap_or(0) as f64 / 1024.0;
        println!(
            "  {label:<12} {elapsed:.1} s ({:.0} rows/s): \"{report}\"; memory at 10/50/90% of the load {:.0}/{:.0}/{:.0} MiB, peak {peak:.0} MiB",
            o.rows as f64 / elapsed,
            at(0.1),
            at(0.5),
            at(0.9)
        );
        Ok(())
    };
    load("first load")?;
    load("again")?;

    // Lookups through the service's own query, on a connection of their own.
    let db = sea_orm::Database::connect(&url).await?;
    // A serving process's connections are warm: the first queries on a new pool (connecting,
    // preparing the statement) are not what a placing costs, so 100 go first, untimed.
    for n in 0..100 {
        carefair::service::postcodes::locate(&db, &postcode(n * 7)).await?;
    }
    let mut times = Vec::with_capacity(o.lookups);
    let mut found = 0;
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..o.lookups {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let code = postcode((seed % o.rows as u64) as usize);
        let started = Instant::now();
        let hit = carefair::service::postcodes::locate(&db, &code).await?;
        times.push(started.elapsed());
        found += usize::from(hit.is_some());
    }
    if found != o.lookups {
        bail!("{found} of {} lookups found their postcode", o.lookups);
    }
    times.sort_unstable();
    let pct = |p: f64| ms(percentile(&times, p));
    println!("  {} lookups    p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (target < 1 ms each)", o.lookups, pct(50.0), pct(99.0), pct(100.0));
    Ok(())
}

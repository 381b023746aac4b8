//! The registration rush (SPEC §7): 10,000 registrations from 200 concurrent clients for one
//! fair of capacity 500, against the same server's `GET /healthz` throughput.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::load::{self, Request};
use crate::server::Server;

#[derive(clap::Args)]
pub struct Options {
    /// Registrations to send.
    #[arg(long, default_value_t = 10_000)]
    registrations: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// Places at the fair.
    #[arg(long, default_value_t = 500)]
    capacity: usize,
    /// Requests for the /healthz reference.
    #[arg(long, default_value_t = 50_000)]
    health_requests: usize,
    /// A PostgreSQL URL to run on (a fresh database is created there and dropped after);
    /// SQLite in a temporary file when left out.
    #[arg(long)]
    postgres: Option<String>,
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub async fn fresh_postgres(url: &str) -> anyhow::Result<(String, String)> {
    let name = format!("carefair_bench_{}", uuid::Uuid::now_v7().simple());
    let status =
        std::process::Command::new("psql").arg(url).arg("-qc").arg(format!("CREATE DATABASE {name}")).status().context("running psql")?;
    if !status.success() {
        bail!("could not create database {name}");
    }
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    Ok((format!("{server}/{name}{query}"), name))
}

/// Runs `bench` on a fresh PostgreSQL database on `postgres` (dropped afterwards, whatever the
/// outcome), or on SQLite (`None`) when no URL is given.
pub async fn on_database<F, Fut>(postgres: Option<&str>, bench: F) -> anyhow::Result<()>
where
    F: FnOnce(Option<String>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let pg = match postgres {
        Some(url) => Some((url.to_owned(), fresh_postgres(url).await?)),
        None => None,
    };
    let result = bench(pg.as_ref().map(|(_, (db, _))| db.clone())).await;
    if let Some((admin, (_, name))) = pg {
        let _ =
            std::process::Command::new("psql").arg(&admin).arg("-qc").arg(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).status();
    }
    result
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let postgres = o.postgres.clone();
    on_database(postgres.as_deref(), |db| async move { run_on(&o, db.as_deref()).await }).await
}

async fn run_on(o: &Options, database: Option<&str>) -> anyhow::Result<()> {
    let server = Server::start(database)?;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle_rss, _) = server.memory_kib();

    // The reference: the HTTP stack's ceiling on this machine, in this run.
    let address: SocketAddr = base.trim_start_matches("http://").parse().context("the server's address")?;
    let health = load::run(address, o.clients, o.health_requests, false, |_| Request {
        method: "GET",
        path: "/healthz".into(),
        body: None,
        cookie: None,
        bearer: None,
    })?;
    let health_rate = o.health_requests as f64 / health.elapsed.as_secs_f64();

    let token = server.admin_token(&client).await?;
    let event: Value = client
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(&token)
        .json(&json!({"kind": "recruitment_fair", "title": "Benchmark fair", "starts_at": "2099-01-05T10:00:00Z",
            "ends_at": "2099-01-05T13:00:00Z", "capacity": o.capacity, "max_exhibitors": 20}))
        .send()
        .await?
        .json()
        .await?;
    let event_id = event["id"].as_str().context("no event id")?.to_owned();
    client.post(format!("{base}/api/v1/events/{event_id}/publish")).bearer_auth(&token).send().await?.error_for_status()?;

    let server_cpu_before = server.cpu_seconds();
    let own_cpu_before = crate::server::cpu_seconds_of("/proc/self/stat");
    let register_path = format!("/api/v1/events/{event_id}/registrations");
    let rush = load::run(address, o.clients, o.registrations, true, move |i| Request {
        method: "POST",
        path: register_path.clone(),
        body: Some(format!(r#"{{"name":"Candidate {i}","email":"candidate{i}@bench.example","consent_marketing":{}}}"#, i % 2 == 0)),
        cookie: None,
        bearer: None,
    })?;
    let (_, peak_rss) = server.memory_kib();
    let server_cpu = server.cpu_seconds() - server_cpu_before;
    let own_cpu = crate::server::cpu_seconds_of("/proc/self/stat") - own_cpu_before;

    let answers: Vec<Value> = rush.bodies.iter().map(|b| serde_json::from_slice(b).unwrap_or(Value::Null)).collect();
    let confirmed = answers.iter().filter(|b| b["status"] == "confirmed").count();
    let waitlisted = answers.iter().filter(|b| b["status"] == "waitlisted").count();
    let count = |status: &'static str| {
        let c = client.clone();
        let url = format!("{base}/api/v1/events/{event_id}/registrations?status={status}&limit=1");
        let token = token.clone();
        async move {
            let v: Value = c.get(url).bearer_auth(token).send().await?.json().await?;
            anyhow::Ok(v["total"].as_u64().unwrap_or(0))
        }
    };
    let stored_confirmed = count("confirmed").await?;
    let stored_waitlisted = count("waitlisted").await?;

    let rate = o.registrations as f64 / rush.elapsed.as_secs_f64();
    let db = if database.is_some() { "PostgreSQL" } else { "SQLite" };
    println!("registration rush on {db}: {} registrations, {} clients, capacity {}", o.registrations, o.clients, o.capacity);
    println!("  errors                  {}", rush.errors);
    println!("  confirmed / waitlisted  {confirmed} / {waitlisted} (answers), {stored_confirmed} / {stored_waitlisted} (stored)");
    println!("  registrations/s         {rate:.0}");
    println!("  latency p50 / p99       {:.1} ms / {:.1} ms", ms(percentile(&rush.latencies, 50.0)), ms(percentile(&rush.latencies, 99.0)));
    println!("  GET /healthz/s          {health_rate:.0} (reference, same server and run)");
    println!("  ratio to /healthz       {:.3}", rate / health_rate);
    println!(
        "  CPU during the rush     server {:.2} cores, load generator {:.2} cores",
        server_cpu / rush.elapsed.as_secs_f64(),
        own_cpu / rush.elapsed.as_secs_f64()
    );
    println!("  resident memory         {:.1} MiB idle, {:.1} MiB peak", idle_rss as f64 / 1024.0, peak_rss as f64 / 1024.0);

    let want_waitlisted = o.registrations.saturating_sub(o.capacity);
    if rush.errors > 0
        || confirmed != o.capacity
        || waitlisted != want_waitlisted
        || stored_confirmed != o.capacity as u64
        || stored_waitlisted != want_waitlisted as u64
    {
        bail!("the rush was not exact: want {} confirmed and {want_waitlisted} waitlisted with no errors", o.capacity);
    }
    Ok(())
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

//! The back office (SPEC §7): an event with 10,000 registrations; its registrations page (the
//! first page, a search, a status filter) timed over HTTP with a signed-in session, next to the
//! same server's `/healthz` in the same run; then the CSV of 100,000 registrations (time to the
//! first byte, rows a second, and how much the server's memory grew).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::load::{self, Request};
use crate::rush::{ms, on_database, percentile};
use crate::server::Server;

#[derive(clap::Args)]
pub struct Options {
    /// Registrations at the event whose pages are timed.
    #[arg(long, default_value_t = 10_000)]
    registrations: usize,
    /// Timed requests of each page.
    #[arg(long, default_value_t = 2_000)]
    requests: usize,
    /// Concurrent clients for the timed pages.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Registrations in the CSV.
    #[arg(long, default_value_t = 100_000)]
    csv_rows: usize,
    /// A PostgreSQL URL to run on (a fresh database is created there and dropped after).
    #[arg(long)]
    postgres: Option<String>,
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let postgres = o.postgres.clone();
    on_database(postgres.as_deref(), |db| async move { run_on(&o, db.as_deref()).await }).await
}

/// A published fair with `n` registrations, sent by the load generator.
async fn fair_with(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    address: SocketAddr,
    n: usize,
    title: &str,
) -> anyhow::Result<String> {
    let event: Value = client
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(token)
        .json(&json!({"kind": "recruitment_fair", "title": title, "starts_at": "2099-01-05T10:00:00Z",
            "ends_at": "2099-01-05T13:00:00Z", "capacity": n / 2, "max_exhibitors": 20}))
        .send()
        .await?
        .json()
        .await?;
    let id = event["id"].as_str().context("no event id")?.to_owned();
    client.post(format!("{base}/api/v1/events/{id}/publish")).bearer_auth(token).send().await?.error_for_status()?;
    let path = format!("/api/v1/events/{id}/registrations");
    let tag = title.replace(' ', "").to_lowercase();
    let rush = load::run(address, 100, n, false, move |i| Request {
        method: "POST",
        path: path.clone(),
        body: Some(format!(r#"{{"name":"Candidate {i}","email":"{tag}{i}@bench.example","consent_marketing":{}}}"#, i % 2 == 0)),
        cookie: None,
        bearer: None,
    })?;
    if rush.errors > 0 {
        bail!("{} registrations failed", rush.errors);
    }
    Ok(id)
}

/// Signs in through the form as the bootstrap admin: the session and CSRF cookies.
async fn session(base: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let form = client.get(format!("{base}/sign-in")).send().await?;
    let csrf_cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("carefair_csrf="))
        .and_then(|c| c.split(';').next())
        .context("no CSRF cookie")?
        .to_owned();
    let html = form.text().await?;
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).context("no CSRF field")? + marker.len();
    let csrf = html[start..].split('"').next().unwrap_or_default().to_owned();
    let (email, password) = crate::server::admin_credentials();
    let signed_in = client
        .post(format!("{base}/sign-in"))
        .header("cookie", &csrf_cookie)
        .form(&[("csrf", csrf.as_str()), ("email", email), ("password", password)])
        .send()
        .await?;
    let session = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("carefair_session="))
        .and_then(|c| c.split(';').next())
        .context("signing in set no session")?
        .to_owned();
    Ok(format!("{session}; {csrf_cookie}"))
}

fn timed(address: SocketAddr, o: &Options, path: String, cookie: &Arc<str>) -> anyhow::Result<load::Load> {
    let cookie = cookie.clone();
    let result = load::run(address, o.clients, o.requests, false, move |_| Request {
        method: "GET",
        path: path.clone(),
        body: None,
        cookie: Some(cookie.clone()),
        bearer: None,
    })?;
    if result.errors > 0 {
        bail!("{} requests failed", result.errors);
    }
    Ok(result)
}

async fn run_on(o: &Options, database: Option<&str>) -> anyhow::Result<()> {
    // The mail worker is off: the setup's registrations queue a confirmation each (110,000 of
    // them, each with its calendar and QR code), and rendering them beside the timed pages would
    // time the pages against the setup's mail instead of against the server.
    let server = Server::start_with(database, &[("CAREFAIR__MAIL__RUN_WORKER", "false".into())])?;
    let base = server.base.clone();
    let address: SocketAddr = base.trim_start_matches("http://").parse().context("the server's address")?;
    let client = reqwest::Client::new();
    let token = server.admin_token(&client).await?;
    let db = if database.is_some() { "PostgreSQL" } else { "SQLite" };

    let event = fair_with(&client, &base, &token, address, o.registrations, "Pages fair").await?;
    let cookie: Arc<str> = session(&base).await?.into();
    let health = load::run(address, o.clients, o.requests * 5, false, |_| Request {
        method: "GET",
        path: "/healthz".into(),
        body: None,
        cookie: None,
        bearer: None,
    })?;
    let health_p99 = percentile(&health.latencies, 99.0);
    println!("back office on {db}: an event with {} registrations, {} requests each, {} clients", o.registrations, o.requests, o.clients);
    println!("  GET /healthz            p50 {:.2} ms, p99 {:.2} ms (reference)", ms(percentile(&health.latencies, 50.0)), ms(health_p99));
    let pages = [
        ("first page", format!("/manage/events/{event}/registrations")),
        ("a search", format!("/manage/events/{event}/registrations?q=Candidate%204321")),
        ("a status filter", format!("/manage/events/{event}/registrations?status=waitlisted&page=20")),
    ];
    for (name, path) in pages {
        // The page must be the real one: a sign-in redirect would be quick and wrong.
        let check = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        let page = check.get(format!("{base}{path}")).header("cookie", cookie.as_ref()).send().await?;
        if page.status() != 200 || !page.text().await?.contains("Candidate") {
            bail!("{path} did not answer the registrations page");
        }
        let result = timed(address, o, path, &cookie)?;
        let p99 = percentile(&result.latencies, 99.0);
        println!(
            "  {name:<22}  p50 {:.2} ms, p99 {:.2} ms, {:.0} pages/s, p99 {:.1}× /healthz's",
            ms(percentile(&result.latencies, 50.0)),
            ms(p99),
            o.requests as f64 / result.elapsed.as_secs_f64(),
            p99.as_secs_f64() / health_p99.as_secs_f64().max(1e-9)
        );
    }

    // The CSV of a large event.
    let big = fair_with(&client, &base, &token, address, o.csv_rows, "CSV fair").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (before, _) = server.memory_kib();
    let started = Instant::now();
    let mut response = client.get(format!("{base}/manage/events/{big}/registrations.csv")).header("cookie", cookie.as_ref()).send().await?;
    if response.status() != 200 {
        bail!("the CSV answered {}", response.status());
    }
    let mut first_byte = None;
    let mut bytes = 0usize;
    let mut rows = 0usize;
    // Resident memory sampled as the answer arrives (the high-water mark would still hold the
    // registrations' rush).
    let mut peak = before;
    while let Some(chunk) = response.chunk().await? {
        first_byte.get_or_insert_with(|| started.elapsed());
        peak = peak.max(server.memory_kib().0);
        bytes += chunk.len();
        rows += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let elapsed = started.elapsed();
    let rows = rows.saturating_sub(1);
    if rows != o.csv_rows {
        bail!("the CSV holds {rows} rows, not {}", o.csv_rows);
    }
    println!(
        "  CSV of {rows} rows       first byte {:.0} ms, all in {:.2} s ({:.0} rows/s, {:.1} MB), server memory {:.1} → {:.1} MiB (growth {:.1} MiB)",
        ms(first_byte.unwrap_or_default()),
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64(),
        bytes as f64 / 1e6,
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        (peak.saturating_sub(before)) as f64 / 1024.0
    );
    Ok(())
}

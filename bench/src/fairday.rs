//! Fair day (SPEC §7): `checkin`, four doors with door links scanning 500 tickets each at once
//! (every check-in exact, p99 < 20 ms); `slots`, 1,000 candidates racing for the 60 interview
//! slots of one interviewer (exactly 60 booked, no one twice at a stand, p99 < 50 ms). Each
//! reports `/healthz` from the same server in the same run as its reference.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::load::{self, Request};
use crate::rush::{ms, on_database, percentile};
use crate::server::Server;

#[derive(clap::Args)]
pub struct CheckinOptions {
    /// Doors scanning at once, each with its own door link.
    #[arg(long, default_value_t = 4)]
    doors: usize,
    /// Tickets each door scans.
    #[arg(long, default_value_t = 500)]
    scans: usize,
    /// A PostgreSQL URL to run on (a fresh database is created there and dropped after).
    #[arg(long)]
    postgres: Option<String>,
}

#[derive(clap::Args)]
pub struct SlotsOptions {
    /// Candidates with a place at the fair.
    #[arg(long, default_value_t = 1_000)]
    candidates: usize,
    /// Slots of one interviewer at one stand.
    #[arg(long, default_value_t = 60)]
    slots: usize,
    /// Booking attempts each candidate makes (for different slots of the same stand).
    #[arg(long, default_value_t = 2)]
    tries: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// First run the same race, untimed, at another employer's stand (a warm server).
    #[arg(long)]
    warm: bool,
    #[arg(long)]
    postgres: Option<String>,
}

pub async fn checkin(o: CheckinOptions) -> anyhow::Result<()> {
    let postgres = o.postgres.clone();
    on_database(postgres.as_deref(), |db| async move { checkin_on(&o, db.as_deref()).await }).await
}

pub async fn slots(o: SlotsOptions) -> anyhow::Result<()> {
    let postgres = o.postgres.clone();
    on_database(postgres.as_deref(), |db| async move { slots_on(&o, db.as_deref()).await }).await
}

/// A published fair starting within the hour (its check-in window open), with `n` places
/// registered by the load generator: its id and each registration's answer.
async fn fair_today(server: &Server, client: &reqwest::Client, token: &str, n: usize) -> anyhow::Result<(String, Vec<Value>)> {
    let base = &server.base;
    let address: SocketAddr = base.trim_start_matches("http://").parse().context("the server's address")?;
    let starts = chrono::Utc::now() + chrono::Duration::minutes(30);
    let ends = starts + chrono::Duration::hours(6);
    let event: Value = client
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(token)
        .json(&json!({"kind": "recruitment_fair", "title": "Fair day", "starts_at": starts.to_rfc3339(), "ends_at": ends.to_rfc3339(),
            "capacity": n, "max_exhibitors": 10}))
        .send()
        .await?
        .json()
        .await?;
    let id = event["id"].as_str().context("no event id")?.to_owned();
    client.post(format!("{base}/api/v1/events/{id}/publish")).bearer_auth(token).send().await?.error_for_status()?;
    let path = format!("/api/v1/events/{id}/registrations");
    let rush = load::run(address, 50, n, true, move |i| Request {
        method: "POST",
        path: path.clone(),
        body: Some(format!(r#"{{"name":"Candidate {i}","email":"fairday{i}@bench.example","consent_marketing":false}}"#)),
        cookie: None,
        bearer: None,
    })?;
    if rush.errors > 0 {
        bail!("{} registrations failed", rush.errors);
    }
    let answers = rush.bodies.iter().map(|b| serde_json::from_slice(b)).collect::<Result<Vec<Value>, _>>()?;
    Ok((id, answers))
}

fn health(address: SocketAddr, clients: usize, n: usize) -> anyhow::Result<std::time::Duration> {
    let health = load::run(address, clients, n, false, |_| Request {
        method: "GET",
        path: "/healthz".into(),
        body: None,
        cookie: None,
        bearer: None,
    })?;
    Ok(percentile(&health.latencies, 99.0))
}

async fn checkin_on(o: &CheckinOptions, database: Option<&str>) -> anyhow::Result<()> {
    let server = Server::start(database)?;
    let base = server.base.clone();
    let address: SocketAddr = base.trim_start_matches("http://").parse()?;
    let client = reqwest::Client::new();
    let token = server.admin_token(&client).await?;
    let db = if database.is_some() { "PostgreSQL" } else { "SQLite" };
    let total = o.doors * o.scans;
    let (event, answers) = fair_today(&server, &client, &token, total).await?;
    let codes: Arc<Vec<String>> = Arc::new(answers.iter().filter_map(|a| a["ticket_code"].as_str().map(str::to_owned)).collect());
    if codes.len() != total {
        bail!("{} of {total} registrations have a ticket code", codes.len());
    }
    let mut doors: Vec<Arc<str>> = Vec::new();
    for d in 0..o.doors {
        let link: Value = client
            .post(format!("{base}/api/v1/events/{event}/door-links"))
            .bearer_auth(&token)
            .json(&json!({"label": format!("Door {}", d + 1)}))
            .send()
            .await?
            .json()
            .await?;
        doors.push(link["token"].as_str().context("no door link token")?.into());
    }
    // The setup's confirmations (a QR code each) are sent before the doors open, not during.
    server.mail_sent(&client, &token).await?;
    let health_p99 = health(address, o.doors, 2_000)?;
    let doors = Arc::new(doors);
    let path = format!("/api/v1/events/{event}/check-ins");
    let n_doors = o.doors;
    // Request i is ticket i, scanned at door i mod doors: each door's connection takes the next.
    let scans = load::run(address, o.doors, total, true, move |i| Request {
        method: "POST",
        path: path.clone(),
        body: Some(format!(r#"{{"code":"{}"}}"#, codes[i])),
        cookie: None,
        bearer: Some(doors[i % n_doors].clone()),
    })?;
    if scans.errors > 0 {
        bail!("{} scans failed", scans.errors);
    }
    let answers = scans.bodies.iter().map(|b| serde_json::from_slice(b)).collect::<Result<Vec<Value>, _>>()?;
    let first: HashSet<&str> = answers.iter().filter(|a| a["already"] == false).filter_map(|a| a["registration"]["id"].as_str()).collect();
    let attended: Value = client
        .get(format!("{base}/api/v1/events/{event}/registrations?status=attended&limit=1"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let exact = first.len() == total && attended["total"].as_u64() == Some(total as u64);
    let p99 = percentile(&scans.latencies, 99.0);
    println!("check-in on {db}: {} doors × {} scans at once", o.doors, o.scans);
    println!("  GET /healthz      p99 {:.2} ms (reference)", ms(health_p99));
    println!(
        "  a scan            p50 {:.2} ms, p99 {:.2} ms ({:.0} scans/s), p99 {:.1}× /healthz's; {} checked in once, {} attended: {}",
        ms(percentile(&scans.latencies, 50.0)),
        ms(p99),
        total as f64 / scans.elapsed.as_secs_f64(),
        p99.as_secs_f64() / health_p99.as_secs_f64().max(1e-9),
        first.len(),
        attended["total"],
        if exact { "exact" } else { "NOT EXACT" }
    );
    if !exact {
        bail!("the check-ins were not exact");
    }
    Ok(())
}

async fn slots_on(o: &SlotsOptions, database: Option<&str>) -> anyhow::Result<()> {
    let server = Server::start(database)?;
    let base = server.base.clone();
    let address: SocketAddr = base.trim_start_matches("http://").parse()?;
    let client = reqwest::Client::new();
    let token = server.admin_token(&client).await?;
    let db = if database.is_some() { "PostgreSQL" } else { "SQLite" };
    let (event, answers) = fair_today(&server, &client, &token, o.candidates).await?;
    let tokens: Arc<Vec<String>> =
        Arc::new(answers.iter().filter_map(|a| a["manage_url"].as_str().and_then(|u| u.rsplit('/').next()).map(str::to_owned)).collect());

    let (employer_id, slot_ids) = stand_with_slots(&client, &base, &token, &event, ("Bench Care", "A1"), o.slots).await?;
    let warm = if o.warm { Some(stand_with_slots(&client, &base, &token, &event, ("Warm-up Care", "B1"), o.slots).await?.1) } else { None };
    // The setup's confirmations (a QR code each) are sent before the race, not during it.
    server.mail_sent(&client, &token).await?;
    let health_p99 = health(address, o.clients.min(16), 2_000)?;
    let (n, tries) = (tokens.len(), o.tries);
    let total = n * tries;
    if let Some(warm) = warm {
        // The same race at another employer's stand, not timed: the server's connections, its
        // prepared statements and the database's pages are then as a server that has run a
        // while has them.
        let before = race(address, o.clients, tries, tokens.clone(), warm)?;
        let p99 = ms(percentile(&every_answer(&before), 99.0));
        println!("  warm-up race at another stand (not counted): {} booked, p99 {p99:.2} ms", before.latencies.len());
        server.mail_sent(&client, &token).await?;
    }
    let race = race(address, o.clients, tries, tokens, slot_ids)?;
    if race.errors != race.conflicts.len() {
        bail!("{} bookings failed other than with a 409", race.errors - race.conflicts.len());
    }
    let schedule: Value =
        client.get(format!("{base}/api/v1/employers/{employer_id}/schedule")).bearer_auth(&token).send().await?.json().await?;
    let bookings = schedule.as_array().cloned().unwrap_or_default();
    let people: HashSet<&str> = bookings.iter().filter_map(|b| b["registration_id"].as_str()).collect();
    let slots_held: HashSet<&str> = bookings.iter().filter_map(|b| b["slot"]["id"].as_str()).collect();
    let exact = race.latencies.len() == o.slots && bookings.len() == o.slots && people.len() == o.slots && slots_held.len() == o.slots;
    let all = every_answer(&race);
    let p99 = percentile(&all, 99.0);
    println!("interview slots on {db}: {} candidates × {} tries for {} slots of one interviewer, {} clients", n, tries, o.slots, o.clients);
    println!("  GET /healthz      p99 {:.2} ms (reference)", ms(health_p99));
    println!(
        "  a booking         p50 {:.2} ms, p99 {:.2} ms ({:.0} requests/s), p99 {:.1}× /healthz's; {} booked, {} refused, {} people, {} slots: {}",
        ms(percentile(&all, 50.0)),
        ms(p99),
        total as f64 / race.elapsed.as_secs_f64(),
        p99.as_secs_f64() / health_p99.as_secs_f64().max(1e-9),
        race.latencies.len(),
        race.conflicts.len(),
        people.len(),
        slots_held.len(),
        if exact { "exact" } else { "NOT EXACT" }
    );
    println!(
        "  of which           bookings p50 {:.2} ms, p99 {:.2} ms; refusals p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&race.latencies, 50.0)),
        ms(percentile(&race.latencies, 99.0)),
        ms(percentile(&race.conflicts, 50.0)),
        ms(percentile(&race.conflicts, 99.0)),
    );
    if !exact {
        bail!("the bookings were not exact");
    }
    Ok(())
}

/// Every candidate (`tokens`) tries `tries` slots of one stand (`slot_ids`) with `clients`
/// clients: request i is candidate i / tries trying slot (i × 7) mod slots, so every slot is
/// fought over and each candidate tries more than one slot of the same stand.
fn race(
    address: SocketAddr,
    clients: usize,
    tries: usize,
    tokens: Arc<Vec<String>>,
    slot_ids: Arc<Vec<String>>,
) -> anyhow::Result<load::Load> {
    let n = tokens.len();
    load::run(address, clients, n * tries, true, move |i| Request {
        method: "POST",
        path: format!("/api/v1/registrations/{}/slots", tokens[(i / tries) % n]),
        body: Some(format!(r#"{{"slot_id":"{}"}}"#, slot_ids[(i * 7) % slot_ids.len()])),
        cookie: None,
        bearer: None,
    })
}

/// Every answer's latency, won or refused, in order.
fn every_answer(race: &load::Load) -> Vec<std::time::Duration> {
    let mut all = race.latencies.clone();
    all.extend(race.conflicts.iter().copied());
    all.sort_unstable();
    all
}

/// A new employer's confirmed stand (`label`) at `event`, its time from the fair's start cut into `slots`
/// slots of 5 minutes and one interviewer: the employer's id and the slots' ids.
async fn stand_with_slots(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    event: &str,
    (name, label): (&str, &str),
    slots: usize,
) -> anyhow::Result<(String, Arc<Vec<String>>)> {
    let employer: Value = client
        .post(format!("{base}/api/v1/employers"))
        .bearer_auth(token)
        .json(&json!({"name": name, "provider_type": "residential", "address": "1 High Street, Chelmsford", "postcode": "CM1 1AA",
            "latitude": 51.73, "longitude": 0.47, "contact_name": "Pat Jones", "contact_email": "pat@bench.example"}))
        .send()
        .await?
        .json()
        .await?;
    let employer_id = employer["id"].as_str().context("no employer id")?;
    let stand: Value = client
        .post(format!("{base}/api/v1/events/{event}/exhibitors"))
        .bearer_auth(token)
        .json(&json!({"employer_id": employer_id, "staff_count": 1}))
        .send()
        .await?
        .json()
        .await?;
    let stand_id = stand["id"].as_str().context("no stand id")?;
    client
        .post(format!("{base}/api/v1/events/{event}/exhibitors/{stand_id}/confirm"))
        .bearer_auth(token)
        .json(&json!({"stand_label": label}))
        .send()
        .await?
        .error_for_status()?;
    let fair: Value = client.get(format!("{base}/api/v1/events/{event}")).send().await?.json().await?;
    let starts: chrono::DateTime<chrono::Utc> = fair["starts_at"].as_str().context("no start")?.parse()?;
    let minutes = 5;
    let made: Value = client
        .post(format!("{base}/api/v1/events/{event}/exhibitors/{stand_id}/slots"))
        .bearer_auth(token)
        .json(
            &json!({"starts_at": starts.to_rfc3339(), "ends_at": (starts + chrono::Duration::minutes(minutes * slots as i64)).to_rfc3339(),
            "minutes": minutes, "interviewers": 1}),
        )
        .send()
        .await?
        .json()
        .await?;
    let slot_ids: Arc<Vec<String>> =
        Arc::new(made["items"].as_array().into_iter().flatten().filter_map(|s| s["id"].as_str().map(str::to_owned)).collect());
    if slot_ids.len() != slots {
        bail!("{} slots were made, not {}: {made}", slot_ids.len(), slots);
    }
    Ok((employer_id.to_owned(), slot_ids))
}

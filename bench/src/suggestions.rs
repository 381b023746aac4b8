//! Employer–school suggestions (SPEC §7): 5,000 schools and 5,000 employers spread over
//! England, some schools with active links, and `GET /employers/{id}/school-suggestions` asked
//! for many employers; against a full scan of the same database in the same run (every school
//! and every active-link count read, measured and sorted, in this process with no HTTP in the
//! way).
//!
//! The data goes in as the register imports would bring it: the bench writes CSVs in the DfE
//! and CQC layouts and runs `carefair import` on them.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use carefair::domain::LinkStatus;
use carefair::domain::geo::{LatLon, distance_km};
use carefair::service::suggestions::LINK_PENALTY_KM;
use carefair::store::entity::{school, school_link};
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::server::Server;

#[derive(clap::Args)]
pub struct Options {
    #[arg(long, default_value_t = 5_000)]
    schools: usize,
    #[arg(long, default_value_t = 5_000)]
    employers: usize,
    /// Employers linked with one school each.
    #[arg(long, default_value_t = 1_000)]
    links: usize,
    /// Timed suggestion requests (each for another employer).
    #[arg(long, default_value_t = 1_000)]
    requests: usize,
    /// Timed full scans.
    #[arg(long, default_value_t = 100)]
    scans: usize,
}

/// A small deterministic generator (xorshift), so every run places the same points.
struct Points(u64);

impl Points {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Somewhere in England, roughly.
    fn place(&mut self) -> LatLon {
        LatLon { lat: 50.6 + 4.4 * self.next(), lon: -3.5 + 5.2 * self.next() }
    }
}

fn write_csvs(dir: &Path, o: &Options) -> anyhow::Result<()> {
    let mut points = Points(0x9E37_79B9_7F4A_7C15);
    let mut schools = String::from(
        "URN,EstablishmentName,EstablishmentStatus (name),PhaseOfEducation (name),Street,Town,Postcode,Easting,Northing,Latitude,Longitude\r\n",
    );
    for i in 0..o.schools {
        let p = points.place();
        schools.push_str(&format!(
            "{},School {i},Open,Secondary,School Lane,Town {i},CM1 1AA,,,{:.6},{:.6}\r\n",
            300_000 + i,
            p.lat,
            p.lon
        ));
    }
    std::fs::write(dir.join("schools.csv"), schools)?;
    let mut employers = String::from(
        "Location ID,Location Name,Location Inspection Directorate,Location Street Address,Location City,Location Postal Code,Location Latitude,Location Longitude,Service type - Domiciliary care service\r\n",
    );
    for i in 0..o.employers {
        let p = points.place();
        employers.push_str(&format!(
            "1-{},Care {i},Adult social care,1 High Street,Town {i},CM1 1AA,{:.6},{:.6},Y\r\n",
            500_000_000 + i,
            p.lat,
            p.lon
        ));
    }
    std::fs::write(dir.join("employers.csv"), employers)?;
    Ok(())
}

fn import(database: &str, what: &str, file: &Path) -> anyhow::Result<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default();
    let out = std::process::Command::new(root.join("target/release/carefair"))
        .arg("--config-dir")
        .arg(root.join("config"))
        .args(["import", what])
        .arg(file)
        .env("CAREFAIR__DATABASE__URL", database)
        .env("RUST_LOG", "warn")
        .env_remove("CAREFAIR_ENV")
        .output()
        .context("running carefair import")?;
    if !out.status.success() {
        bail!("import {what}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().to_owned())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p / 100.0).ceil() as usize).saturating_sub(1);
    sorted.get(i.min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The straightforward way: read every school and every school's active links, measure them
/// all, sort, and keep the best `limit` (the same scoring as the service).
async fn full_scan(db: &sea_orm::DatabaseConnection, here: LatLon, linked: &[Uuid], limit: usize) -> anyhow::Result<Vec<Uuid>> {
    let schools = school::Entity::find().all(db).await?;
    let counts: HashMap<Uuid, i64> = school_link::Entity::find()
        .select_only()
        .column(school_link::Column::SchoolId)
        .column_as(school_link::Column::Id.count(), "n")
        .filter(school_link::Column::Status.eq(LinkStatus::Active.as_str()))
        .group_by(school_link::Column::SchoolId)
        .into_tuple::<(Uuid, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut scored: Vec<(f64, f64, Uuid)> = schools
        .iter()
        .filter(|s| !linked.contains(&s.id))
        .filter_map(|s| {
            let d = distance_km(here, LatLon { lat: s.latitude?, lon: s.longitude? });
            Some((d + LINK_PENALTY_KM * counts.get(&s.id).copied().unwrap_or(0) as f64, d, s.id))
        })
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    Ok(scored.into_iter().take(limit).map(|(_, _, id)| id).collect())
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("carefair-bench-suggest-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let database = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    write_csvs(&dir, &o)?;
    let server = Server::start(Some(&database))?;
    let started = Instant::now();
    println!("import schools:   {}", import(&database, "schools", &dir.join("schools.csv"))?);
    println!("import employers: {}", import(&database, "employers", &dir.join("employers.csv"))?);
    println!("  ({:.1} s for both)", started.elapsed().as_secs_f64());

    let base = server.base.clone();
    let client = reqwest::Client::new();
    let token = server.admin_token(&client).await?;
    let mut employers: Vec<Value> = Vec::new();
    let mut offset = 0;
    while employers.len() < o.employers {
        let page: Value =
            client.get(format!("{base}/api/v1/employers?limit=200&offset={offset}")).bearer_auth(&token).send().await?.json().await?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        offset += items.len();
        employers.extend(items);
    }
    let mut schools: Vec<String> = Vec::new();
    let mut offset = 0;
    while schools.len() < o.schools {
        let page: Value =
            client.get(format!("{base}/api/v1/schools?limit=200&offset={offset}")).bearer_auth(&token).send().await?.json().await?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        offset += items.len();
        schools.extend(items.iter().filter_map(|s| s["id"].as_str().map(str::to_owned)));
    }
    let employer_ids: Vec<String> = employers.iter().filter_map(|e| e["id"].as_str().map(str::to_owned)).collect();
    if employer_ids.len() != o.employers || schools.len() != o.schools {
        bail!("imported {} employers and {} schools", employer_ids.len(), schools.len());
    }

    // Suggestions are for approved employers: approve every imported one (they come in
    // pending), 20 at a time.
    let started = Instant::now();
    let mut handles = Vec::new();
    for chunk in employer_ids.chunks(employer_ids.len().div_ceil(20).max(1)) {
        let (client, base, token, chunk) = (client.clone(), base.clone(), token.clone(), chunk.to_vec());
        handles.push(tokio::spawn(async move {
            for employer in chunk {
                client.post(format!("{base}/api/v1/employers/{employer}/approve")).bearer_auth(&token).send().await?.error_for_status()?;
            }
            anyhow::Ok(())
        }));
    }
    for handle in handles {
        handle.await??;
    }
    println!("approve {} employers: {:.1} s", employer_ids.len(), started.elapsed().as_secs_f64());

    // Links: link some employers with a school each, 20 at a time.
    let started = Instant::now();
    let mut handles = Vec::new();
    let pairs: Vec<(String, String)> =
        (0..o.links).map(|i| (employer_ids[i].clone(), schools[(i * 7919) % schools.len()].clone())).collect();
    for chunk in pairs.chunks(o.links.div_ceil(20).max(1)) {
        let (client, base, token, chunk) = (client.clone(), base.clone(), token.clone(), chunk.to_vec());
        handles.push(tokio::spawn(async move {
            for (employer, school) in chunk {
                let link: Value = client
                    .post(format!("{base}/api/v1/school-links"))
                    .bearer_auth(&token)
                    .json(&json!({"employer_id": employer, "school_id": school}))
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let id = link["id"].as_str().context("no link id")?;
                client.post(format!("{base}/api/v1/school-links/{id}/accept")).bearer_auth(&token).send().await?.error_for_status()?;
            }
            anyhow::Ok(())
        }));
    }
    for h in handles {
        h.await??;
    }
    println!("{} employers linked in {:.1} s", o.links, started.elapsed().as_secs_f64());

    // Ours: one request after another, each for another employer.
    for id in employer_ids.iter().take(20) {
        client.get(format!("{base}/api/v1/employers/{id}/school-suggestions")).bearer_auth(&token).send().await?.error_for_status()?;
    }
    let mut latencies = Vec::new();
    let mut answers: Vec<(usize, Vec<String>)> = Vec::new();
    for n in 0..o.requests {
        let i = (n * 31) % employer_ids.len();
        let started = Instant::now();
        let found: Value = client
            .get(format!("{base}/api/v1/employers/{}/school-suggestions?limit=10", employer_ids[i]))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        latencies.push(started.elapsed());
        if n < 20 {
            answers
                .push((i, found.as_array().into_iter().flatten().filter_map(|s| s["school"]["id"].as_str().map(str::to_owned)).collect()));
        }
    }
    latencies.sort_unstable();

    // The reference, on the same database file.
    let db = Database::connect(carefair::store::pool_options(&database, 1)).await?;
    let mut scans = Vec::new();
    for n in 0..o.scans {
        let i = (n * 31) % employer_ids.len();
        let e = &employers[i];
        let here = LatLon { lat: e["latitude"].as_f64().unwrap_or(0.0), lon: e["longitude"].as_f64().unwrap_or(0.0) };
        let linked: Vec<Uuid> = if i < o.links { vec![schools[(i * 7919) % schools.len()].parse()?] } else { Vec::new() };
        let started = Instant::now();
        let best = full_scan(&db, here, &linked, 10).await?;
        scans.push(started.elapsed());
        if let Some((_, ours)) = answers.iter().find(|(j, _)| *j == i) {
            let theirs: Vec<String> = best.iter().map(Uuid::to_string).collect();
            if *ours != theirs {
                bail!("employer {i}: the index answered {ours:?}, the full scan {theirs:?}");
            }
        }
    }
    scans.sort_unstable();
    let (p50, p99, scan) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0), percentile(&scans, 50.0));
    println!("suggestions with {} schools and {} employers ({} active links), limit 10", o.schools, o.employers, o.links);
    println!("  carefair over HTTP      p50 {:.2} ms, p99 {:.2} ms ({} requests, one at a time)", ms(p50), ms(p99), o.requests);
    println!("  full scan, in process   p50 {:.2} ms ({} scans; the same answers)", ms(scan), o.scans);
    println!("  ratio (scan / ours)     {:.1}x at the median", scan.as_secs_f64() / p50.as_secs_f64().max(1e-9));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

//! The public feed (SPEC §7): 2,000 published events, the time to build and serve
//! `/calendar/public.ics`, against Python `icalendar` building the same feed in the same run.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::server::Server;

#[derive(clap::Args)]
pub struct Options {
    /// Published events in the feed.
    #[arg(long, default_value_t = 2_000)]
    events: usize,
    /// Timed requests for the feed.
    #[arg(long, default_value_t = 20)]
    requests: usize,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let server = Server::start(None)?;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let token = server.admin_token(&client).await?;
    let venue: Value = client
        .post(format!("{base}/api/v1/venues"))
        .bearer_auth(&token)
        .json(&json!({"name": "Chelmsford City Hall", "address": "Duke Street, Chelmsford", "postcode": "CM1 1JE"}))
        .send()
        .await?
        .json()
        .await?;
    let venue_id = venue["id"].as_str().context("no venue")?.to_owned();

    // Create and publish the events, 20 at a time.
    let mut handles = Vec::new();
    for chunk in (0..o.events).collect::<Vec<_>>().chunks(o.events.div_ceil(20).max(1)) {
        let (client, base, token, venue_id, chunk) = (client.clone(), base.clone(), token.clone(), venue_id.clone(), chunk.to_vec());
        handles.push(tokio::spawn(async move {
            for i in chunk {
                let starts = 4_070_908_800_i64 + i64::try_from(i).unwrap_or(0) * 3600; // 2099-01-01 onwards
                let event: Value = client
                    .post(format!("{base}/api/v1/events"))
                    .bearer_auth(&token)
                    .json(&json!({"kind": "recruitment_fair", "title": format!("Feed event {i}; care jobs, fair"),
                        "description": "Meet care employers from across Essex.\nBring your CV.", "venue_id": venue_id,
                        "starts_at": chrono_like(starts), "ends_at": chrono_like(starts + 3 * 3600)}))
                    .send()
                    .await?
                    .json()
                    .await?;
                let id = event["id"].as_str().context("no event id")?.to_owned();
                client.post(format!("{base}/api/v1/events/{id}/publish")).bearer_auth(&token).send().await?.error_for_status()?;
            }
            anyhow::Ok(())
        }));
    }
    for h in handles {
        h.await??;
    }

    let url = format!("{base}/calendar/public.ics");
    let started = Instant::now();
    let first = client.get(&url).send().await?.text().await?;
    let cold = started.elapsed();
    let events = first.matches("BEGIN:VEVENT").count();
    if events != o.events {
        bail!("the feed holds {events} events, not {}", o.events);
    }
    let mut samples = Vec::new();
    for _ in 0..o.requests {
        let started = Instant::now();
        let body = client.get(&url).send().await?.bytes().await?;
        samples.push(started.elapsed());
        if body.is_empty() {
            bail!("empty feed");
        }
    }
    let ours = median(samples);

    // A change to one event makes the next request build the feed afresh.
    let one: Value = client.get(format!("{base}/api/v1/events?limit=1")).send().await?.json().await?;
    let one_id = one["items"][0]["id"].as_str().context("no event")?.to_owned();
    let mut rebuilds = Vec::new();
    for i in 0..5 {
        client
            .patch(format!("{base}/api/v1/events/{one_id}"))
            .bearer_auth(&token)
            .json(&json!({"description": format!("Changed {i}")}))
            .send()
            .await?
            .error_for_status()?;
        let started = Instant::now();
        let _ = client.get(&url).send().await?.bytes().await?;
        rebuilds.push(started.elapsed());
    }
    let rebuild = median(rebuilds);
    if let Ok(seconds) = std::env::var("BENCH_HOLD_SECONDS") {
        // Keep serving the feed for a profiler to watch.
        let until = Instant::now() + Duration::from_secs(seconds.parse().unwrap_or(5));
        while Instant::now() < until {
            let _ = client.get(&url).send().await?.bytes().await?;
        }
    }

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("feed_icalendar.py");
    let out = std::process::Command::new("python3").arg(&script).arg(o.events.to_string()).output().context("running python3")?;
    if !out.status.success() {
        bail!("the icalendar reference failed (pip install icalendar): {}", String::from_utf8_lossy(&out.stderr));
    }
    let reference_ms: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().context("reading the reference's time")?;
    let ours_ms = ours.as_secs_f64() * 1000.0;
    println!("public feed of {} events ({} KiB)", o.events, first.len() / 1024);
    println!("  carefair, unchanged     {ours_ms:.1} ms (median of {}; the feed is built once per change)", o.requests);
    println!(
        "  carefair, after change  {:.1} ms (median of 5 rebuilds; first request {:.1} ms)",
        rebuild.as_secs_f64() * 1000.0,
        cold.as_secs_f64() * 1000.0
    );
    println!("  Python icalendar build  {reference_ms:.1} ms (median of 5, same events, same run)");
    println!(
        "  ratio to icalendar      {:.0}x (unchanged), {:.0}x (rebuilt)",
        reference_ms / ours_ms,
        reference_ms / (rebuild.as_secs_f64() * 1000.0)
    );
    Ok(())
}

/// RFC 3339 for a Unix time, without pulling chrono into the bench.
fn chrono_like(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, (secs % 3600) / 60, secs % 60)
}

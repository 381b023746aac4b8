//! Mail (SPEC §7): 5,000 invitations through a local SMTP server, timed from the first request
//! that queues them to the last message the server accepts, against the same server's acceptance
//! rate from a plain SMTP client in the same run.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mailin_embedded::{Handler, Response, Server as SmtpServer, response};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::server::Server;

#[derive(clap::Args)]
pub struct Options {
    /// Invitations to queue (in calls of at most 1,000).
    #[arg(long, default_value_t = 5_000)]
    invitations: usize,
    /// Messages the plain client sends for the reference.
    #[arg(long, default_value_t = 5_000)]
    reference: usize,
    /// Connections, for carefair (`mail.smtp.pool_size`) and for the plain client alike.
    #[arg(long, default_value_t = 4)]
    connections: usize,
}

/// Counts what the SMTP server accepted, and the distinct Message-IDs among it.
#[derive(Clone, Default)]
struct Sink {
    accepted: Arc<AtomicUsize>,
    ids: Arc<Mutex<HashSet<String>>>,
    current: Vec<u8>,
}

impl Handler for Sink {
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let data = std::mem::take(&mut self.current);
        let text = String::from_utf8_lossy(&data);
        if let Some(id) = text.lines().find_map(|l| l.strip_prefix("Message-ID:")) {
            self.ids.lock().unwrap_or_else(|e| e.into_inner()).insert(id.trim().to_owned());
        }
        self.accepted.fetch_add(1, Ordering::SeqCst);
        response::OK
    }
}

impl Sink {
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn distinct(&self) -> usize {
        self.ids.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn reset(&self) {
        self.accepted.store(0, Ordering::SeqCst);
        self.ids.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn start_sink() -> anyhow::Result<(Sink, u16)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let sink = Sink::default();
    let mut server = SmtpServer::new(sink.clone());
    server.with_name("sink.bench").with_num_threads(32).with_tcp_listener(listener);
    std::thread::spawn(move || {
        if let Err(err) = server.serve() {
            eprintln!("the SMTP sink stopped: {err}");
        }
    });
    Ok((sink, port))
}

type Replies = tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>;

/// Reads one reply (all its lines) and checks its code.
async fn read_reply(lines: &mut Replies, code: &str) -> anyhow::Result<()> {
    loop {
        let line = lines.next_line().await?.context("the server closed the connection")?;
        if !line.starts_with(code) {
            bail!("expected {code}, got {line}");
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}

/// The reference: a plain SMTP client (no pool library, no rendering, no database) sending one
/// ready-made message `n` times over `connections` connections.
async fn plain_client(port: u16, n: usize, connections: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let share = n / connections + usize::from(c < n % connections);
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(("127.0.0.1", port)).await?;
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            // The greeting, then EHLO's multi-line answer.
            read_reply(&mut lines, "220").await?;
            write.write_all(b"EHLO client.bench\r\n").await?;
            read_reply(&mut lines, "250").await?;
            for i in 0..share {
                let message = format!(
                    "From: bench@carefair.invalid\r\nTo: guest@example.org\r\nSubject: Reference\r\nMessage-ID: <ref-{c}-{i}@bench>\r\n\r\n{}\r\n.\r\n",
                    "A plain reference message of a few hundred octets, about as long as a short email body.\r\n".repeat(40)
                );
                write.write_all(b"MAIL FROM:<bench@carefair.invalid>\r\n").await?;
                read_reply(&mut lines, "250").await?;
                write.write_all(b"RCPT TO:<guest@example.org>\r\n").await?;
                read_reply(&mut lines, "250").await?;
                write.write_all(b"DATA\r\n").await?;
                read_reply(&mut lines, "354").await?;
                write.write_all(message.as_bytes()).await?;
                read_reply(&mut lines, "250").await?;
            }
            write.write_all(b"QUIT\r\n").await?;
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let (sink, port) = start_sink()?;

    let reference = plain_client(port, o.reference, o.connections).await?;
    let reference_rate = o.reference as f64 / reference.as_secs_f64();
    if sink.accepted() != o.reference {
        bail!("the reference client's messages: {} accepted of {}", sink.accepted(), o.reference);
    }
    sink.reset();

    let server = Server::start_with(
        None,
        &[
            ("CAREFAIR__MAIL__TRANSPORT", "smtp".into()),
            ("CAREFAIR__MAIL__SMTP__HOST", "127.0.0.1".into()),
            ("CAREFAIR__MAIL__SMTP__PORT", port.to_string()),
            ("CAREFAIR__MAIL__SMTP__POOL_SIZE", o.connections.to_string()),
        ],
    )?;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let token = server.admin_token(&client).await?;
    let event: Value = client
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(&token)
        .json(&json!({"kind": "recruitment_fair", "title": "Chelmsford Care Jobs Fair", "description": "Meet care employers.",
            "starts_at": "2099-01-05T10:00:00Z", "ends_at": "2099-01-05T13:00:00Z", "capacity": 500}))
        .send()
        .await?
        .json()
        .await?;
    let id = event["id"].as_str().context("no event id")?.to_owned();
    client.post(format!("{base}/api/v1/events/{id}/publish")).bearer_auth(&token).send().await?.error_for_status()?;

    let started = Instant::now();
    let mut queued = 0;
    for chunk in (0..o.invitations).collect::<Vec<_>>().chunks(1000) {
        let recipients: Vec<Value> =
            chunk.iter().map(|i| json!({"name": format!("Guest {i}"), "email": format!("guest{i}@example.org")})).collect();
        let answer: Value = client
            .post(format!("{base}/api/v1/events/{id}/invitations"))
            .bearer_auth(&token)
            .json(&json!({"recipients": recipients}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        queued += answer["queued"].as_u64().unwrap_or(0) as usize;
    }
    let queued_in = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    while sink.accepted() < o.invitations && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    let rate = o.invitations as f64 / elapsed.as_secs_f64();
    let cpu = server.cpu_seconds();
    let (rss, peak) = server.memory_kib();

    // What the server recorded: every message sent, none failed or waiting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let count = |status: &'static str| {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        async move {
            let page: Value =
                client.get(format!("{base}/api/v1/outbox?status={status}&limit=1")).bearer_auth(&token).send().await?.json().await?;
            anyhow::Ok(page["total"].as_u64().unwrap_or(u64::MAX))
        }
    };
    let (sent, failed, pending) = (count("sent").await?, count("failed").await?, count("pending").await?);

    println!("mail: {} invitations through a local SMTP server ({} connections)", o.invitations, o.connections);
    println!("  queued (5 API calls)     {queued} in {:.0} ms", queued_in.as_secs_f64() * 1000.0);
    println!("  enqueue → accepted       {:.2} s   {rate:.0} messages/s", elapsed.as_secs_f64());
    println!("  reference (plain client) {reference_rate:.0} messages/s   ratio {:.2}", rate / reference_rate);
    println!(
        "  accepted {}, distinct Message-IDs {}, outbox sent {sent} failed {failed} pending {pending}",
        sink.accepted(),
        sink.distinct()
    );
    println!("  server CPU {cpu:.1} s; memory now {} MiB, peak {} MiB", rss / 1024, peak / 1024);
    if queued != o.invitations || sink.accepted() != o.invitations || sink.distinct() != o.invitations || sent != o.invitations as u64 {
        bail!("messages were lost or sent twice");
    }
    Ok(())
}

//! A lean HTTP/1.1 load generator: `clients` keep-alive connections on one thread, each sending
//! its next request as soon as the last answer is read.
//!
//! On a 2-core machine the generator shares the CPU with the server it measures, so every
//! microsecond it spends is one the server does not get. A general client (reqwest, on a runtime
//! of several threads, encoding and decoding JSON inside the timed loop) took about half a core
//! at 6,500 requests/s; this one writes requests it formats itself, reads answers by their
//! `Content-Length`, and leaves decoding the bodies until the load is over, as `wrk` does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request: method, path, a JSON body when there is one, and a `Cookie` header when the
/// request is a signed-in page's.
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub body: Option<String>,
    pub cookie: Option<std::sync::Arc<str>>,
    /// `Authorization: Bearer …`, for an API call with a token.
    pub bearer: Option<std::sync::Arc<str>>,
}

/// What a load did: its wall time, the latency of every successful request (sorted), the
/// requests that failed, and the bodies of the successful ones when asked for.
pub struct Load {
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
    pub errors: usize,
    pub bodies: Vec<Vec<u8>>,
    /// The latency of each answer that was a 409 (counted among `errors` too): a race's losers.
    pub conflicts: Vec<Duration>,
}

/// Sends `total` requests to `address` over `clients` connections; `make(i)` builds request `i`.
/// Runs on a thread of its own with a single-threaded runtime, and returns when all are answered.
pub fn run<F>(address: SocketAddr, clients: usize, total: usize, keep_bodies: bool, make: F) -> anyhow::Result<Load>
where
    F: Fn(usize) -> Request + Send + Sync + 'static,
{
    let make = Arc::new(make);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(drive(address, clients, total, keep_bodies, make))
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the load generator's thread panicked"))?
}

async fn drive<F>(address: SocketAddr, clients: usize, total: usize, keep_bodies: bool, make: Arc<F>) -> anyhow::Result<Load>
where
    F: Fn(usize) -> Request + Send + Sync + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        let stream = TcpStream::connect(address).await.context("connecting to the server")?;
        stream.set_nodelay(true)?;
        connections.push(stream);
    }
    let started = Instant::now();
    // On a current-thread runtime every spawned task runs on the generator's one thread.
    let mut tasks = tokio::task::JoinSet::new();
    for stream in connections {
        tasks.spawn(client(stream, address, total, keep_bodies, next.clone(), make.clone()));
    }
    let mut load =
        Load { elapsed: Duration::ZERO, latencies: Vec::with_capacity(total), errors: 0, bodies: Vec::new(), conflicts: Vec::new() };
    while let Some(done) = tasks.join_next().await {
        let (latencies, bodies, errors, conflicts) = done?;
        load.latencies.extend(latencies);
        load.bodies.extend(bodies);
        load.errors += errors;
        load.conflicts.extend(conflicts);
    }
    load.elapsed = started.elapsed();
    load.latencies.sort_unstable();
    load.conflicts.sort_unstable();
    Ok(load)
}

type ClientResult = (Vec<Duration>, Vec<Vec<u8>>, usize, Vec<Duration>);

/// One connection: takes the next request number until there are none left. A request that
/// fails (connection error, or a status other than 2xx) counts as an error; after a connection
/// error the client reconnects.
async fn client<F>(
    mut stream: TcpStream,
    address: SocketAddr,
    total: usize,
    keep_bodies: bool,
    next: Arc<AtomicUsize>,
    make: Arc<F>,
) -> ClientResult
where
    F: Fn(usize) -> Request,
{
    let mut latencies = Vec::new();
    let mut bodies = Vec::new();
    let mut errors = 0;
    let mut conflicts = Vec::new();
    let mut buffer = Vec::with_capacity(4096);
    let mut out = Vec::with_capacity(512);
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= total {
            break;
        }
        let request = make(i);
        encode(&request, address, &mut out);
        let t = Instant::now();
        match exchange(&mut stream, &out, &mut buffer).await {
            Ok((status, body)) if (200..300).contains(&status) => {
                latencies.push(t.elapsed());
                if keep_bodies {
                    bodies.push(body);
                }
            }
            Ok((409, _)) => {
                conflicts.push(t.elapsed());
                errors += 1;
            }
            Ok(_) => errors += 1,
            Err(_) => {
                errors += 1;
                match TcpStream::connect(address).await {
                    Ok(fresh) => {
                        let _ = fresh.set_nodelay(true);
                        stream = fresh;
                        buffer.clear();
                    }
                    Err(_) => break,
                }
            }
        }
    }
    (latencies, bodies, errors, conflicts)
}

fn encode(request: &Request, address: SocketAddr, out: &mut Vec<u8>) {
    use std::io::Write;
    out.clear();
    let _ = write!(out, "{} {} HTTP/1.1\r\nhost: {address}\r\n", request.method, request.path);
    if let Some(cookie) = &request.cookie {
        let _ = write!(out, "cookie: {cookie}\r\n");
    }
    if let Some(token) = &request.bearer {
        let _ = write!(out, "authorization: Bearer {token}\r\n");
    }
    match &request.body {
        Some(body) => {
            let _ = write!(out, "content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len());
        }
        None => out.extend_from_slice(b"\r\n"),
    }
}

/// Writes one request and reads its answer: the status and the body.
async fn exchange(stream: &mut TcpStream, request: &[u8], buffer: &mut Vec<u8>) -> anyhow::Result<(u16, Vec<u8>)> {
    stream.write_all(request).await?;
    loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            let head = std::str::from_utf8(&buffer[..end]).context("a response head that is not UTF-8")?;
            let status = head.split(' ').nth(1).and_then(|s| s.parse::<u16>().ok()).context("no status in the response")?;
            let length = head
                .split("\r\n")
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                .context("a response without Content-Length")?;
            let body_start = end + 4;
            while buffer.len() < body_start + length {
                read_more(stream, buffer).await?;
            }
            let body = buffer[body_start..body_start + length].to_vec();
            buffer.drain(..body_start + length);
            return Ok((status, body));
        }
        read_more(stream, buffer).await?;
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> anyhow::Result<()> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        bail!("the server closed the connection");
    }
    buffer.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

//! Starting the release server on a fresh database and reading its memory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

const ADMIN_EMAIL: &str = "bench-admin@carefair.test";
const ADMIN_PASSWORD: &str = "bench-admin-password";

/// The bootstrap admin every bench server starts with.
pub fn admin_credentials() -> (&'static str, &'static str) {
    (ADMIN_EMAIL, ADMIN_PASSWORD)
}

pub struct Server {
    child: Child,
    pub base: String,
    _dir: tempfile_dir::Dir,
}

/// A temporary directory removed on drop, without another dependency.
mod tempfile_dir {
    use std::path::PathBuf;

    pub struct Dir(pub PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The workspace's root and its release binary, which the benchmarks run.
pub fn release_binary() -> anyhow::Result<(PathBuf, PathBuf)> {
    let root = workspace_root();
    let binary = root.join("target/release/carefair");
    if !binary.exists() {
        bail!("{} is missing: run `cargo build --release` first", binary.display());
    }
    Ok((root, binary))
}

/// A new directory for one run, under `BENCH_TMP` or the system's temporary directory.
pub fn fresh_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var("BENCH_TMP")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir())
        .join(format!("carefair-bench-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

impl Server {
    /// Starts `target/release/carefair` on `database` (a fresh SQLite file when `None`).
    pub fn start(database: Option<&str>) -> anyhow::Result<Self> {
        Self::start_with(database, &[])
    }

    /// As `start`, with more settings as `CAREFAIR__…` environment variables.
    pub fn start_with(database: Option<&str>, settings: &[(&str, String)]) -> anyhow::Result<Self> {
        let (root, binary) = release_binary()?;
        let dir = fresh_dir()?;
        let database = match database {
            Some(url) => url.to_owned(),
            None => format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
        };
        let mut child = Command::new(&binary)
            .arg("--config-dir")
            .arg(root.join("config"))
            .arg("serve")
            .env("CAREFAIR__SERVER__BIND", "127.0.0.1:0")
            // The load comes from one address; the per-address limit on public writes would refuse it.
            .env("CAREFAIR__LIMITS__PUBLIC_WRITES_PER_MINUTE", "0")
            .env("CAREFAIR__DATABASE__URL", &database)
            .env("CAREFAIR__MAIL__FILE_DIR", dir.join("mail"))
            .env("CAREFAIR__AUTH__BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("CAREFAIR__AUTH__BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn,carefair::startup=info".into()))
            .env_remove("CAREFAIR_ENV")
            .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
            .stderr(Stdio::piped())
            .spawn()
            .context("starting the server")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let address = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some((_, addr)) = line.split_once("listening on ") {
                        break addr.trim().to_owned();
                    }
                }
                _ => bail!("the server stopped before it listened"),
            }
        };
        // Keep draining the log (echoing it when asked) so the server never blocks on a full pipe.
        let echo = std::env::var("BENCH_SERVER_LOG").is_ok();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if echo {
                    eprintln!("{line}");
                }
            }
        });
        Ok(Self { child, base: format!("http://{address}"), _dir: tempfile_dir::Dir(dir) })
    }

    /// Signs in as the bootstrap admin.
    pub async fn admin_token(&self, client: &reqwest::Client) -> anyhow::Result<String> {
        let login: serde_json::Value = client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await?
            .json()
            .await?;
        Ok(login["token"].as_str().context("no token in the login answer")?.to_owned())
    }

    /// Waits until the mail worker has sent everything queued so far (none pending or being
    /// sent), so that what is timed next does not share the cores with the setup's mail.
    pub async fn mail_sent(&self, client: &reqwest::Client, token: &str) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        loop {
            let mut waiting = 0;
            for status in ["pending", "sending"] {
                let list: serde_json::Value = client
                    .get(format!("{}/api/v1/outbox?status={status}&limit=1", self.base))
                    .bearer_auth(token)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                waiting += list["total"].as_u64().context("no total in the outbox list")?;
            }
            if waiting == 0 {
                return Ok(());
            }
            if started.elapsed() > std::time::Duration::from_secs(300) {
                anyhow::bail!("{waiting} messages still waiting after five minutes");
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// CPU seconds the server has used so far (user + system), from /proc.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(&format!("/proc/{}/stat", self.child.id()))
    }

    /// (current, peak) resident memory in KiB, from /proc.
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// User plus system CPU seconds from a /proc/…/stat file (fields 14 and 15, in clock ticks of
/// 1/100 s on Linux).
pub fn cpu_seconds_of(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

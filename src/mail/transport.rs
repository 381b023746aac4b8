//! The transports of `mail.transport`: `.eml` files for a newcomer's machine, SMTP for real use.
//!
//! SMTP connections are made here and handed to lettre's SMTP client, rather than left to
//! lettre's own pool, for one reason: lettre writes a message and its closing `.` in two writes,
//! and on a socket with Nagle's algorithm on (lettre leaves it on) the second write waits for the
//! server's delayed ACK, about 40 ms a message. With `TCP_NODELAY` set here a local server takes
//! thousands of messages a second instead of under a hundred (see `bench/README.md`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use crate::config::{MailSettings, MailTransportKind, SmtpSettings, SmtpTls};

/// How long connecting, or one whole message's conversation, may take before it is given up
/// (and the message retried later), so a hung server cannot stall the worker.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);
/// Connections unused this long are closed and made afresh, sooner than servers drop them.
const SMTP_IDLE: Duration = Duration::from_secs(30);

/// Where messages go.
pub enum Mailer {
    /// Each message becomes an `.eml` file in a folder.
    File(AsyncFileTransport<Tokio1Executor>),
    /// Through an SMTP server in plain text or with STARTTLS, over `pool_size` connections of
    /// our own with `TCP_NODELAY`.
    Smtp(Box<SmtpLanes>),
    /// Through an SMTP server over implicit TLS, with lettre's own pool.
    SmtpTls(AsyncSmtpTransport<Tokio1Executor>),
}

impl Mailer {
    pub fn from_settings(mail: &MailSettings) -> anyhow::Result<Self> {
        match mail.transport {
            MailTransportKind::File => {
                std::fs::create_dir_all(&mail.file_dir).with_context(|| format!("creating mail.file_dir {}", mail.file_dir))?;
                Ok(Mailer::File(AsyncFileTransport::new(&mail.file_dir)))
            }
            MailTransportKind::Smtp => {
                let smtp = &mail.smtp;
                match smtp.tls {
                    SmtpTls::None | SmtpTls::Starttls => Ok(Mailer::Smtp(Box::new(SmtpLanes::new(smtp)?))),
                    SmtpTls::Tls => {
                        let tls = Tls::Wrapper(TlsParameters::new(smtp.host.clone()).context("mail.smtp.tls")?);
                        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
                            .port(smtp.port)
                            .tls(tls)
                            .timeout(Some(SMTP_TIMEOUT))
                            .pool_config(PoolConfig::new().max_size(smtp.pool_size).idle_timeout(SMTP_IDLE));
                        if let Some(credentials) = credentials(smtp) {
                            builder = builder.credentials(credentials);
                        }
                        Ok(Mailer::SmtpTls(builder.build()))
                    }
                }
            }
        }
    }

    /// How many messages may be on their way at once.
    pub fn concurrency(&self, mail: &MailSettings) -> usize {
        match self {
            Mailer::File(_) => 4,
            Mailer::Smtp(_) | Mailer::SmtpTls(_) => usize::try_from(mail.smtp.pool_size).unwrap_or(4),
        }
    }

    /// Hands one message over; an error says why the server (or the disk) refused it.
    pub async fn send(&self, message: Message) -> Result<(), String> {
        match self {
            Mailer::File(transport) => transport.send(message).await.map(drop).map_err(|e| e.to_string()),
            Mailer::Smtp(lanes) => lanes.send(&message).await,
            Mailer::SmtpTls(transport) => transport.send(message).await.map(drop).map_err(|e| e.to_string()),
        }
    }
}

fn credentials(smtp: &SmtpSettings) -> Option<Credentials> {
    match (&smtp.username, &smtp.password) {
        (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.expose_secret().to_owned())),
        _ => None,
    }
}

/// One connection slot: a connection (made when first needed) and when it was last used.
struct Lane {
    connection: Option<AsyncSmtpConnection>,
    last_used: Instant,
}

/// `pool_size` SMTP connections, each used by one send at a time.
pub struct SmtpLanes {
    host: String,
    port: u16,
    starttls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    lanes: Vec<Mutex<Lane>>,
    next: AtomicUsize,
}

impl SmtpLanes {
    fn new(smtp: &SmtpSettings) -> anyhow::Result<Self> {
        let starttls = match smtp.tls {
            SmtpTls::Starttls => Some(TlsParameters::new(smtp.host.clone()).context("mail.smtp.tls")?),
            _ => None,
        };
        let lanes = (0..smtp.pool_size.max(1)).map(|_| Mutex::new(Lane { connection: None, last_used: Instant::now() })).collect();
        Ok(Self {
            host: smtp.host.clone(),
            port: smtp.port,
            starttls,
            credentials: credentials(smtp),
            hello: ClientId::default(),
            lanes,
            next: AtomicUsize::new(0),
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("connecting to {}:{}: {e}", self.host, self.port))?;
        stream.set_nodelay(true).map_err(|e| format!("setting TCP_NODELAY: {e}"))?;
        let mut connection = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello).await.map_err(|e| e.to_string())?;
        if let Some(tls) = &self.starttls {
            connection.starttls(tls.clone(), &self.hello).await.map_err(|e| format!("STARTTLS: {e}"))?;
        }
        if let Some(credentials) = &self.credentials {
            connection.auth(&[Mechanism::Plain, Mechanism::Login], credentials).await.map_err(|e| format!("authenticating: {e}"))?;
        }
        Ok(connection)
    }

    async fn send(&self, message: &Message) -> Result<(), String> {
        // A free lane if there is one, else wait for the next in turn.
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.lanes.len();
        let free = (0..n).find_map(|i| self.lanes[(start + i) % n].try_lock().ok());
        let mut lane = match free {
            Some(lane) => lane,
            None => self.lanes[start % n].lock().await,
        };
        if lane.last_used.elapsed() > SMTP_IDLE || lane.connection.as_ref().is_some_and(AsyncSmtpConnection::has_broken) {
            lane.connection = None;
        }
        let envelope = message.envelope().clone();
        let body = message.formatted();
        let conversation = async {
            if lane.connection.is_none() {
                lane.connection = Some(self.connect().await?);
            }
            match lane.connection.as_mut() {
                Some(connection) => connection.send(&envelope, &body).await.map(drop).map_err(|e| e.to_string()),
                None => Err("no connection".to_owned()),
            }
        };
        let outcome = match tokio::time::timeout(SMTP_TIMEOUT, conversation).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("the SMTP server did not answer within {} s", SMTP_TIMEOUT.as_secs())),
        };
        // After any failure the conversation may be mid-transaction: start the next afresh.
        if outcome.is_err() {
            lane.connection = None;
        }
        lane.last_used = Instant::now();
        outcome
    }
}

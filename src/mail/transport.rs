//! The transports of `mail.transport`: `.eml` files for a newcomer's machine, SMTP for real use.

use std::time::Duration;

use anyhow::Context;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::{MailSettings, MailTransportKind, SmtpTls};

/// How long one SMTP command may take before the send is given up (and retried later), so a
/// hung server cannot stall the worker.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);
/// Pooled connections are closed after this long unused, sooner than servers close them.
const SMTP_IDLE: Duration = Duration::from_secs(30);

/// Where messages go.
#[derive(Clone)]
pub enum Mailer {
    /// Each message becomes an `.eml` file in a folder.
    File(AsyncFileTransport<Tokio1Executor>),
    /// Through an SMTP server, over a pool of connections.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
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
                let tls = match smtp.tls {
                    SmtpTls::None => Tls::None,
                    SmtpTls::Starttls => Tls::Required(TlsParameters::new(smtp.host.clone()).context("mail.smtp.tls")?),
                    SmtpTls::Tls => Tls::Wrapper(TlsParameters::new(smtp.host.clone()).context("mail.smtp.tls")?),
                };
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
                    .port(smtp.port)
                    .tls(tls)
                    .timeout(Some(SMTP_TIMEOUT))
                    .pool_config(PoolConfig::new().max_size(smtp.pool_size).idle_timeout(SMTP_IDLE));
                if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_owned()));
                }
                Ok(Mailer::Smtp(builder.build()))
            }
        }
    }

    /// How many messages may be on their way at once.
    pub fn concurrency(&self, mail: &MailSettings) -> usize {
        match self {
            Mailer::File(_) => 4,
            Mailer::Smtp(_) => usize::try_from(mail.smtp.pool_size).unwrap_or(4),
        }
    }

    /// Hands one message over; an error says why the server (or the disk) refused it.
    pub async fn send(&self, message: Message) -> Result<(), String> {
        match self {
            Mailer::File(transport) => transport.send(message).await.map(drop).map_err(|e| e.to_string()),
            Mailer::Smtp(transport) => transport.send(message).await.map(drop).map_err(|e| e.to_string()),
        }
    }
}

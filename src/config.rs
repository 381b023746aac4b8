//! Settings, loaded once at start and passed down. Layers: `config/default.toml`, then
//! `config/$CAREFAIR_ENV.toml` if present, then `CAREFAIR__SECTION__KEY` environment variables.

use std::net::SocketAddr;
use std::path::Path;

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub mail: MailSettings,
    pub auth: AuthSettings,
    #[serde(default)]
    pub limits: LimitSettings,
}

/// Limits on what one client may do.
#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    /// Registrations, signups, RSVP answers and password-reset requests one client address may
    /// make a minute; 0 turns the limit off.
    #[serde(default = "default_public_writes")]
    pub public_writes_per_minute: u32,
}

fn default_public_writes() -> u32 {
    60
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self { public_writes_per_minute: default_public_writes() }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub bind: String,
    pub public_url: String,
    /// Proxies whose `X-Forwarded-For` is believed; from anyone else it is ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A connection that sends nothing for this long (a request left half-sent) is closed.
    #[serde(default = "default_read_timeout")]
    pub read_timeout_secs: u64,
    /// When set, `GET /metrics` answers only `Authorization: Bearer` with this token (and 404
    /// to anyone else); when unset, it is not served.
    #[serde(default)]
    pub metrics_token: Option<SecretString>,
}

fn default_retention_days() -> u32 {
    30
}

fn default_read_timeout() -> u64 {
    30
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTransportKind {
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MailSettings {
    pub transport: MailTransportKind,
    pub from: String,
    pub file_dir: String,
    pub smtp: SmtpSettings,
    pub poll_interval_ms: u64,
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    /// Whether `serve` runs the mail worker; off when separate `carefair worker` processes send.
    pub run_worker: bool,
    /// How many days a sent message's payload (its links) is kept.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// Where notices for the council's organisers go (an employer signed up, a stand was asked
    /// for); unset or empty sends none.
    #[serde(default)]
    pub organisers_to: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub pool_size: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub bootstrap_admin_email: Option<String>,
    pub bootstrap_admin_password: Option<SecretString>,
    pub token_ttl_hours: u32,
}

/// A setting that stops the start, named by its key.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid settings")]
    Load(#[from] config::ConfigError),
    #[error("invalid setting {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Settings {
    /// Loads the layers from `dir` (normally `config/`), choosing the overlay by `CAREFAIR_ENV`.
    pub fn load(dir: &Path) -> Result<Self, SettingsError> {
        let env = std::env::var("CAREFAIR_ENV").ok();
        Self::load_with(dir, env.as_deref(), true)
    }

    /// Loads `default.toml`, the named overlay, and (when `from_env`) the environment variables.
    pub fn load_with(dir: &Path, overlay: Option<&str>, from_env: bool) -> Result<Self, SettingsError> {
        let mut builder = config::Config::builder().add_source(config::File::from(dir.join("default.toml")));
        if let Some(name) = overlay {
            builder = builder.add_source(config::File::from(dir.join(format!("{name}.toml"))).required(false));
        }
        if from_env {
            builder =
                builder.add_source(config::Environment::with_prefix("CAREFAIR").prefix_separator("__").separator("__").try_parsing(true));
        }
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Rules serde cannot express. Each error names the key to fix.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |key, message: &str| Err(SettingsError::Invalid { key, message: message.to_owned() });
        if self.server.bind.parse::<SocketAddr>().is_err() {
            return invalid("server.bind", "must be an address and port, like 127.0.0.1:8080");
        }
        let url = self.server.public_url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) || public_host(url).is_empty() {
            return invalid("server.public_url", "must be an http or https URL, like https://events.example.org");
        }
        if !(self.database.url.starts_with("sqlite:")
            || self.database.url.starts_with("postgres://")
            || self.database.url.starts_with("postgresql://"))
        {
            return invalid("database.url", "must start with sqlite: or postgres://");
        }
        if self.server.read_timeout_secs == 0 {
            return invalid("server.read_timeout_secs", "must be at least 1");
        }
        if self.database.max_connections == 0 {
            return invalid("database.max_connections", "must be at least 1");
        }
        if !self.mail.from.contains('@') {
            return invalid("mail.from", "must be a mailbox, like Gift of Care <events@example.org>");
        }
        if self.mail.max_attempts == 0 {
            return invalid("mail.max_attempts", "must be at least 1");
        }
        if self.mail.poll_interval_ms == 0 {
            return invalid("mail.poll_interval_ms", "must be at least 1");
        }
        if self.mail.smtp.pool_size == 0 {
            return invalid("mail.smtp.pool_size", "must be at least 1");
        }
        if self.auth.token_ttl_hours == 0 {
            return invalid("auth.token_ttl_hours", "must be at least 1");
        }
        if self.auth.bootstrap_admin_email.is_some() != self.auth.bootstrap_admin_password.is_some() {
            return invalid("auth.bootstrap_admin_password", "bootstrap_admin_email and bootstrap_admin_password must be set together");
        }
        Ok(())
    }

    /// `server.public_url` without a trailing slash, the base of every link we hand out.
    pub fn public_url(&self) -> &str {
        self.server.public_url.trim_end_matches('/')
    }
}

/// The host part of an absolute URL, used in calendar UIDs and Message-IDs.
pub fn public_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.starts_with('[') {
        return host_port.split_once(']').map_or(host_port, |(h, _)| h.trim_start_matches('['));
    }
    host_port.split(':').next().unwrap_or("")
}

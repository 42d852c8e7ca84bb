//! Settings of the billing service alone.

use std::{net::SocketAddr, time::Duration};

use paymesh_kit::config::{Env, Secret};

const DEFAULT_MAIL_FROM: &str = "paymesh <payments@localhost>";

/// Where the billing service listens for gRPC.
pub const ENV_BILLING_ADDR: &str = "PAYMESH_BILLING_ADDR";
/// How often, in milliseconds, the sweeps bill schedules whose billing date
/// has come and mark invoices overdue (default 60000).
pub const ENV_BILLING_INTERVAL_MS: &str = "PAYMESH_BILLING_INTERVAL_MS";
/// The address partners and payers reach the gateway at, from which
/// payment links' URLs are made (`https://pay.example.com`). Default: the
/// gateway of the same process, where there is one.
pub const ENV_PUBLIC_URL: &str = "PAYMESH_PUBLIC_URL";
/// The SMTP relay payment-link emails are handed to:
/// `smtp://host:port` (plain; `?tls=required` for STARTTLS), `smtps://…`
/// (TLS), user and password in the URL if it asks for them. Unset: emails
/// are recorded on their links and not sent.
pub const ENV_SMTP_URL: &str = "PAYMESH_SMTP_URL";
/// The sender of payment-link emails (default `paymesh <payments@localhost>`).
pub const ENV_MAIL_FROM: &str = "PAYMESH_MAIL_FROM";

/// The billing service's own settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The gRPC listen address (default `127.0.0.1:50055`).
    pub addr: SocketAddr,
    /// How often the sweeps run.
    pub sweep_interval: Duration,
    /// Where payment links' pages are served (no trailing slash).
    pub public_url: Option<String>,
    /// The SMTP relay of payment-link emails, if any (a secret: it may hold
    /// a password).
    pub smtp_url: Option<Secret<String>>,
    /// The sender of payment-link emails.
    pub mail_from: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 50055)),
            sweep_interval: Duration::from_secs(60),
            public_url: None,
            smtp_url: None,
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
        }
    }
}

impl Config {
    /// Reads the settings; problems are left in `env`.
    pub fn read(env: &mut Env) -> Self {
        let defaults = Self::default();
        Self {
            addr: env.listen_addr(ENV_BILLING_ADDR, defaults.addr),
            sweep_interval: env.millis(ENV_BILLING_INTERVAL_MS, 60_000, 10),
            public_url: env
                .raw(ENV_PUBLIC_URL)
                .is_some()
                .then(|| env.url(ENV_PUBLIC_URL, "http://127.0.0.1:8080").trim_end_matches('/').to_owned()),
            smtp_url: env.raw(ENV_SMTP_URL).map(|raw| Secret::new(raw.trim().to_owned())),
            mail_from: env.raw(ENV_MAIL_FROM).unwrap_or(DEFAULT_MAIL_FROM).trim().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_have_defaults_and_are_checked() {
        let mut env = Env::from_pairs(Vec::<(String, String)>::new());
        let config = Config::read(&mut env);
        assert!(env.finish().is_ok());
        assert_eq!(config.addr.port(), 50055);
        assert_eq!(config.sweep_interval, Duration::from_secs(60));
        assert_eq!(config.public_url, None);
        assert!(config.smtp_url.is_none());
        let mut env = Env::from_pairs([(ENV_PUBLIC_URL, "https://pay.example.com/")]);
        assert_eq!(Config::read(&mut env).public_url.as_deref(), Some("https://pay.example.com"));
        let mut env = Env::from_pairs([(ENV_PUBLIC_URL, "pay.example.com")]);
        let _ = Config::read(&mut env);
        assert!(env.finish().unwrap_err().to_string().contains(ENV_PUBLIC_URL));
        let mut env = Env::from_pairs([(ENV_BILLING_INTERVAL_MS, "soon")]);
        let _ = Config::read(&mut env);
        let text = env.finish().unwrap_err().to_string();
        assert!(text.contains(ENV_BILLING_INTERVAL_MS), "{text}");
    }
}

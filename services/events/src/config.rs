//! Settings of the events service alone.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use paymesh_kit::config::Env;

/// Where the events service listens for gRPC.
pub const ENV_EVENTS_ADDR: &str = "PAYMESH_EVENTS_ADDR";
/// How often, in milliseconds, the delivery worker looks for webhook
/// deliveries that are due (default 500).
pub const ENV_DELIVERY_INTERVAL_MS: &str = "PAYMESH_WEBHOOK_DELIVERY_INTERVAL_MS";
/// How many days events (and webhook logs) are kept (default 30).
pub const ENV_EVENT_RETENTION_DAYS: &str = "PAYMESH_EVENT_RETENTION_DAYS";
/// `true` lets webhooks reach loopback and private addresses: for
/// development and tests only (default `false`).
pub const ENV_WEBHOOK_ALLOW_PRIVATE: &str = "PAYMESH_WEBHOOK_ALLOW_PRIVATE";
/// A PEM file of further root certificates https deliveries trust, beside
/// the platform's (a partner's private CA, a test's); default none.
pub const ENV_WEBHOOK_CA_FILE: &str = "PAYMESH_WEBHOOK_CA_FILE";

/// The events service's own settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The gRPC listen address (default `127.0.0.1:50056`).
    pub addr: SocketAddr,
    /// How often the delivery worker runs.
    pub delivery_interval: Duration,
    /// How long events and webhook logs are kept.
    pub retention_days: u32,
    /// Whether webhooks may reach loopback and private addresses.
    pub allow_private: bool,
    /// Further root certificates https deliveries trust.
    pub ca_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 50056)),
            delivery_interval: Duration::from_millis(500),
            retention_days: 30,
            allow_private: false,
            ca_file: None,
        }
    }
}

impl Config {
    /// Reads the settings; problems are left in `env`.
    pub fn read(env: &mut Env) -> Self {
        let defaults = Self::default();
        Self {
            addr: env.listen_addr(ENV_EVENTS_ADDR, defaults.addr),
            delivery_interval: env.millis(ENV_DELIVERY_INTERVAL_MS, 500, 10),
            retention_days: env.number(ENV_EVENT_RETENTION_DAYS, 30, 1..=3650),
            allow_private: env.parse_with(ENV_WEBHOOK_ALLOW_PRIVATE, false, |raw| match raw {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err("must be true or false".to_owned()),
            }),
            ca_file: env.parse_with(ENV_WEBHOOK_CA_FILE, None, |raw| match raw.trim() {
                "" => Ok(None),
                path => Ok(Some(PathBuf::from(path))),
            }),
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
        assert_eq!(config.addr.port(), 50056);
        assert_eq!(config.retention_days, 30);
        assert!(!config.allow_private);
        assert_eq!(config.ca_file, None);
        let mut env = Env::from_pairs([(ENV_WEBHOOK_CA_FILE, "/etc/paymesh/partner-ca.pem")]);
        assert_eq!(Config::read(&mut env).ca_file, Some(PathBuf::from("/etc/paymesh/partner-ca.pem")));
        let mut env = Env::from_pairs([(ENV_WEBHOOK_ALLOW_PRIVATE, "yes")]);
        let _ = Config::read(&mut env);
        let text = env.finish().unwrap_err().to_string();
        assert!(text.contains(ENV_WEBHOOK_ALLOW_PRIVATE), "{text}");
    }
}

//! Settings of the payments service alone.

use std::{net::SocketAddr, time::Duration};

use paymesh_kit::config::Env;

/// Where the payments service listens for gRPC.
pub const ENV_PAYMENTS_ADDR: &str = "PAYMESH_PAYMENTS_ADDR";
/// How often, in milliseconds, the payments sweep runs: bank payments
/// settle, bank returns and chargebacks are applied, deposits are made
/// (default 60000).
pub const ENV_SETTLE_INTERVAL_MS: &str = "PAYMESH_SETTLE_INTERVAL_MS";
/// How long idempotency keys are kept, in seconds (default 86400: 24 h).
pub const ENV_IDEMPOTENCY_TTL: &str = "PAYMESH_IDEMPOTENCY_TTL_SECS";

/// The payments service's own settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The gRPC listen address (default `127.0.0.1:50054`).
    pub addr: SocketAddr,
    /// How often the sweep runs (settlement, returns and chargebacks,
    /// daily deposits).
    pub settle_interval: Duration,
    /// How long an idempotency key is kept.
    pub idempotency_ttl: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 50054)),
            settle_interval: Duration::from_secs(60),
            idempotency_ttl: Duration::from_secs(86_400),
        }
    }
}

impl Config {
    /// Reads the settings; problems are left in `env`.
    pub fn read(env: &mut Env) -> Self {
        let defaults = Self::default();
        Self {
            addr: env.listen_addr(ENV_PAYMENTS_ADDR, defaults.addr),
            settle_interval: env.millis(ENV_SETTLE_INTERVAL_MS, 60_000, 10),
            idempotency_ttl: env.parse_with(ENV_IDEMPOTENCY_TTL, defaults.idempotency_ttl, |raw| {
                match raw.parse() {
                    Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
                    _ => Err("must be a positive number of seconds".to_owned()),
                }
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
        assert_eq!(config.addr.port(), 50054);
        assert_eq!(config.idempotency_ttl, Duration::from_secs(86_400));
        let mut env = Env::from_pairs([(ENV_IDEMPOTENCY_TTL, "0"), (ENV_SETTLE_INTERVAL_MS, "soon")]);
        let _ = Config::read(&mut env);
        let text = env.finish().unwrap_err().to_string();
        assert!(text.contains(ENV_IDEMPOTENCY_TTL), "{text}");
        assert!(text.contains(ENV_SETTLE_INTERVAL_MS), "{text}");
    }
}

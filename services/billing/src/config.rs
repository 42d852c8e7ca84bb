//! Settings of the billing service alone.

use std::{net::SocketAddr, time::Duration};

use paymesh_kit::config::Env;

/// Where the billing service listens for gRPC.
pub const ENV_BILLING_ADDR: &str = "PAYMESH_BILLING_ADDR";
/// How often, in milliseconds, the sweeps bill schedules whose billing date
/// has come and mark invoices overdue (default 60000).
pub const ENV_BILLING_INTERVAL_MS: &str = "PAYMESH_BILLING_INTERVAL_MS";

/// The billing service's own settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The gRPC listen address (default `127.0.0.1:50055`).
    pub addr: SocketAddr,
    /// How often the sweeps run.
    pub sweep_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self { addr: SocketAddr::from(([127, 0, 0, 1], 50055)), sweep_interval: Duration::from_secs(60) }
    }
}

impl Config {
    /// Reads the settings; problems are left in `env`.
    pub fn read(env: &mut Env) -> Self {
        let defaults = Self::default();
        Self {
            addr: env.listen_addr(ENV_BILLING_ADDR, defaults.addr),
            sweep_interval: env.millis(ENV_BILLING_INTERVAL_MS, 60_000, 10),
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
        let mut env = Env::from_pairs([(ENV_BILLING_INTERVAL_MS, "soon")]);
        let _ = Config::read(&mut env);
        let text = env.finish().unwrap_err().to_string();
        assert!(text.contains(ENV_BILLING_INTERVAL_MS), "{text}");
    }
}

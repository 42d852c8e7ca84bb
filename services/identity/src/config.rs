//! Settings of the identity service alone (the shared ones are in
//! `paymesh_kit::config`).

use std::{net::SocketAddr, time::Duration};

use paymesh_kit::config::{Env, Secret};

use crate::domain::token::MIN_SECRET_BYTES;

/// Where the identity service listens for gRPC.
pub const ENV_IDENTITY_ADDR: &str = "PAYMESH_IDENTITY_ADDR";
/// The secret merchant tokens are signed with (HS256): at least 32 bytes,
/// base64. Unset: a random secret per process (tokens do not survive a
/// restart, and only work with one identity replica).
pub const ENV_MERCHANT_TOKEN_SECRET: &str = "PAYMESH_MERCHANT_TOKEN_SECRET";
/// How long a session token lives, in milliseconds.
pub const ENV_SESSION_TOKEN_TTL_MS: &str = "PAYMESH_SESSION_TOKEN_TTL_MS";

/// How long a session token lives unless configured.
pub(crate) const DEFAULT_SESSION_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// The identity service's own settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The gRPC listen address (default `127.0.0.1:50051`).
    pub addr: SocketAddr,
    /// The merchant token signing secret, if configured.
    pub merchant_token_secret: Option<Secret<Vec<u8>>>,
    /// How long a session token lives (default 15 minutes).
    pub session_token_ttl: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            merchant_token_secret: None,
            session_token_ttl: DEFAULT_SESSION_TOKEN_TTL,
        }
    }
}

impl Config {
    /// Reads the settings; problems are left in `env`.
    pub fn read(env: &mut Env) -> Self {
        let defaults = Self::default();
        Self {
            addr: env.listen_addr(ENV_IDENTITY_ADDR, defaults.addr),
            merchant_token_secret: env.key_bytes(ENV_MERCHANT_TOKEN_SECRET, MIN_SECRET_BYTES),
            session_token_ttl: env.millis(
                ENV_SESSION_TOKEN_TTL_MS,
                u64::try_from(defaults.session_token_ttl.as_millis()).unwrap_or(u64::MAX),
                1000,
            ),
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
        assert!(config.merchant_token_secret.is_none());
        assert_eq!(config.session_token_ttl, Duration::from_secs(900));
        let mut env =
            Env::from_pairs([(ENV_MERCHANT_TOKEN_SECRET, "c2hvcnQ="), (ENV_SESSION_TOKEN_TTL_MS, "1")]);
        let _ = Config::read(&mut env);
        let text = env.finish().unwrap_err().to_string();
        assert!(
            text.contains(ENV_MERCHANT_TOKEN_SECRET) && text.contains(ENV_SESSION_TOKEN_TTL_MS),
            "{text}"
        );
        assert!(!text.contains("c2hvcnQ="), "{text}");
    }
}

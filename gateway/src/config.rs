//! Settings of the gateway alone (the shared ones are in
//! `paymesh_kit::config`).

use std::net::SocketAddr;

use paymesh_kit::config::Env;

/// Where the gateway listens for HTTP.
pub const ENV_GATEWAY_ADDR: &str = "PAYMESH_GATEWAY_ADDR";
/// The largest request body accepted, in bytes; larger ones get 413.
pub const ENV_MAX_BODY_BYTES: &str = "PAYMESH_MAX_BODY_BYTES";
/// Requests a second one API key may make (0: no limit); beyond it, 429.
pub const ENV_RATE_LIMIT_PER_SEC: &str = "PAYMESH_RATE_LIMIT_PER_SEC";
/// Requests one API key may make at once after a quiet spell.
pub const ENV_RATE_LIMIT_BURST: &str = "PAYMESH_RATE_LIMIT_BURST";

/// The origins whose pages may call the browser routes with a client key:
/// `*` (the default) or a comma-separated list.
pub const ENV_CORS_ORIGINS: &str = "PAYMESH_CORS_ORIGINS";

/// The gateway's own settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The HTTP listen address (default `127.0.0.1:8080`).
    pub addr: SocketAddr,
    /// The body size limit (default 1 MiB).
    pub max_body_bytes: usize,
    /// Requests a second per key (default 100; 0 turns limiting off).
    pub rate_limit_per_sec: u32,
    /// The burst per key (default 200).
    pub rate_limit_burst: u32,
    /// The origins browsers may call from (default any).
    pub cors_origins: Origins,
}

impl Config {
    /// Reads the settings; problems are left in `env`.
    pub fn read(env: &mut Env) -> Self {
        Self {
            addr: env.listen_addr(ENV_GATEWAY_ADDR, SocketAddr::from(([127, 0, 0, 1], 8080))),
            max_body_bytes: env.number(ENV_MAX_BODY_BYTES, 1 << 20, 1024..=64 << 20) as usize,
            rate_limit_per_sec: env.number(ENV_RATE_LIMIT_PER_SEC, 100, 0..=1_000_000),
            rate_limit_burst: env.number(ENV_RATE_LIMIT_BURST, 200, 1..=1_000_000),
            cors_origins: match Origins::parse(env.raw(ENV_CORS_ORIGINS).unwrap_or("*")) {
                Ok(origins) => origins,
                Err(why) => {
                    env.problem(format!("{ENV_CORS_ORIGINS} {why}"));
                    Origins::Any
                }
            },
        }
    }
}

/// The origins allowed to call the browser routes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origins {
    /// Every origin (client keys are public by design).
    Any,
    /// Only these, as browsers send them (`https://shop.example`).
    Only(Vec<String>),
}

impl Origins {
    /// `*` or a comma-separated list of origins.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw == "*" {
            return Ok(Self::Any);
        }
        let origins: Vec<String> = raw
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if origins.is_empty() {
            return Err("must be * or a comma-separated list of origins".to_owned());
        }
        if let Some(bad) = origins.iter().find(|o| !(o.starts_with("https://") || o.starts_with("http://"))) {
            return Err(format!("{bad} is not an origin (https://host[:port])"));
        }
        Ok(Self::Only(origins))
    }

    /// Whether pages of `origin` may call the browser routes.
    pub(crate) fn allows(&self, origin: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(list) => list.iter().any(|o| o == origin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_any_or_a_list() {
        assert_eq!(Origins::parse(" * "), Ok(Origins::Any));
        let only = Origins::parse("https://shop.example, http://localhost:3000/").unwrap();
        assert_eq!(only, Origins::Only(vec!["https://shop.example".into(), "http://localhost:3000".into()]));
        assert!(only.allows("http://localhost:3000"));
        assert!(!only.allows("https://evil.example"));
        assert!(Origins::parse("shop.example").unwrap_err().contains("not an origin"));
        assert!(Origins::parse(" , ").is_err());
    }
}

//! Settings of the methods service alone (the shared ones, among them the
//! key-encryption keys, are in `paymesh_kit::config`).

use std::net::SocketAddr;

use paymesh_kit::config::{Env, Secret};

/// Where the methods service listens for gRPC.
pub const ENV_METHODS_ADDR: &str = "PAYMESH_METHODS_ADDR";
/// The key of card and bank account fingerprints (HMAC-SHA256): at least
/// 32 bytes, base64. It must stay secret and stable: with it, a
/// fingerprint and a card's first six and last four digits give the number
/// away in a few thousand guesses; a new key changes every fingerprint.
/// Unset: a public development key, refused for live-mode methods.
pub const ENV_FINGERPRINT_KEY: &str = "PAYMESH_FINGERPRINT_KEY";

/// The smallest fingerprint key accepted, in bytes.
pub(crate) const MIN_FINGERPRINT_KEY_BYTES: usize = 32;

/// The methods service's own settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The gRPC listen address (default `127.0.0.1:50052`).
    pub addr: SocketAddr,
    /// The fingerprint key, if configured.
    pub fingerprint_key: Option<Secret<Vec<u8>>>,
}

impl Default for Config {
    fn default() -> Self {
        Self { addr: SocketAddr::from(([127, 0, 0, 1], 50052)), fingerprint_key: None }
    }
}

impl Config {
    /// Reads the settings; problems are left in `env`.
    pub fn read(env: &mut Env) -> Self {
        let defaults = Self::default();
        Self {
            addr: env.listen_addr(ENV_METHODS_ADDR, defaults.addr),
            fingerprint_key: env.key_bytes(ENV_FINGERPRINT_KEY, MIN_FINGERPRINT_KEY_BYTES),
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
        assert!(config.fingerprint_key.is_none());
        assert_eq!(config.addr.port(), 50052);
        let mut env = Env::from_pairs([(ENV_FINGERPRINT_KEY, "c2hvcnQ="), (ENV_METHODS_ADDR, "nowhere")]);
        let _ = Config::read(&mut env);
        let text = env.finish().unwrap_err().to_string();
        assert!(text.contains(ENV_FINGERPRINT_KEY) && text.contains(ENV_METHODS_ADDR), "{text}");
        assert!(!text.contains("c2hvcnQ="), "secrets are never echoed: {text}");
    }
}

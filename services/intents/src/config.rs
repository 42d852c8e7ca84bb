//! Settings of the intents service alone.

use std::{net::SocketAddr, time::Duration};

use paymesh_kit::config::Env;
use rust_decimal::Decimal;

use crate::domain::{
    delivery::{Speed, Speeds},
    intent::Limits,
};

/// Where the intents service listens for gRPC.
pub const ENV_INTENTS_ADDR: &str = "PAYMESH_INTENTS_ADDR";
/// The largest target amount of an intent (default 25000.00).
pub const ENV_MAX_AMOUNT: &str = "PAYMESH_INTENT_MAX_AMOUNT";
/// Above this target amount the payer's KYC must be verified (default
/// 3000.00).
pub const ENV_KYC_THRESHOLD: &str = "PAYMESH_INTENT_KYC_THRESHOLD";
/// How long an intent with no delivery options yet (no recipient) stays
/// open, in seconds (default 86400: a day).
pub const ENV_DRAFT_LIFETIME: &str = "PAYMESH_INTENT_DRAFT_LIFETIME_SECS";
/// The delivery speeds, as JSON: a list of `{"payout_method": "ach",
/// "speed": "standard", "business_days": 2, "cutoff": "23:59:59",
/// "expedited": false}`, one speed per payout method not expedited.
/// Unset: the defaults of [`Speeds::defaults`].
pub const ENV_DELIVERY_SPEEDS: &str = "PAYMESH_DELIVERY_SPEEDS";

/// The intents service's own settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The gRPC listen address (default `127.0.0.1:50053`).
    pub addr: SocketAddr,
    /// Amount limits.
    pub limits: Limits,
    /// The lifetime of an intent without delivery options.
    pub draft_lifetime: Duration,
    /// The delivery speeds.
    pub speeds: Speeds,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 50053)),
            limits: Limits { max_amount: Decimal::from(25_000), kyc_threshold: Decimal::from(3_000) },
            draft_lifetime: Duration::from_secs(86_400),
            speeds: Speeds::defaults(),
        }
    }
}

fn positive_amount(raw: &str) -> Result<Decimal, String> {
    match raw.parse::<Decimal>() {
        Ok(value) if value > Decimal::ZERO => Ok(value),
        _ => Err("must be a positive decimal amount, e.g. 25000.00".to_owned()),
    }
}

impl Config {
    /// Reads the settings; problems are left in `env`.
    pub fn read(env: &mut Env) -> Self {
        let defaults = Self::default();
        Self {
            addr: env.listen_addr(ENV_INTENTS_ADDR, defaults.addr),
            limits: Limits {
                max_amount: env.parse_with(ENV_MAX_AMOUNT, defaults.limits.max_amount, positive_amount),
                kyc_threshold: env.parse_with(
                    ENV_KYC_THRESHOLD,
                    defaults.limits.kyc_threshold,
                    positive_amount,
                ),
            },
            draft_lifetime: env.parse_with(ENV_DRAFT_LIFETIME, defaults.draft_lifetime, |raw| {
                match raw.parse() {
                    Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
                    _ => Err("must be a positive number of seconds".to_owned()),
                }
            }),
            speeds: env.parse_with(ENV_DELIVERY_SPEEDS, defaults.speeds, |raw| {
                let speeds: Vec<Speed> = serde_json::from_str(raw).map_err(|e| e.to_string())?;
                Speeds::new(speeds)
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
        assert_eq!(config.addr.port(), 50053);
        assert_eq!(config.speeds, Speeds::defaults());
        let mut env = Env::from_pairs([
            (ENV_MAX_AMOUNT, "-5"),
            (ENV_DELIVERY_SPEEDS, r#"[{"payout_method": "ach"}]"#),
            (ENV_DRAFT_LIFETIME, "0"),
        ]);
        let _ = Config::read(&mut env);
        let text = env.finish().unwrap_err().to_string();
        for name in [ENV_MAX_AMOUNT, ENV_DELIVERY_SPEEDS, ENV_DRAFT_LIFETIME] {
            assert!(text.contains(name), "{text}");
        }
    }
}

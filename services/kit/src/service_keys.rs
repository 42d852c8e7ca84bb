//! The mesh's service secret, and the service tokens it mints.
//!
//! A partner's key is never forwarded between services: it may be a client
//! key or a restricted one that could not make the internal call, and
//! handing it on would make every service a holder of partner secrets.
//! Instead each service presents a *service token* — `svc_<name>.<mac>`,
//! where the MAC is HMAC-SHA256 of the name under the mesh's service secret
//! (`PAYMESH_SERVICE_SECRET`) — and names the partner and mode it acts for
//! in the `x-paymesh-scope` header (`<partner id>:test` or `:live`). The
//! callee verifies the token locally (no call to identity) and gives the
//! handler a [`Principal`] of kind [`KeyKind::Service`] that carries the
//! caller's name, so that an RPC such as the methods service's `Detokenize` can
//! admit one service and no partner key at all.
//!
//! Partners never hold service tokens, and the gateway never forwards the
//! scope header.
//!
//! This module is the key material alone; [`crate::auth`] turns a genuine
//! token and its scope header into a principal.

use std::{fmt, sync::Arc};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The prefix of every service token.
const PREFIX: &str = "svc_";
/// The smallest service secret accepted, in bytes.
pub const MIN_SERVICE_SECRET_BYTES: usize = 32;

/// The mesh's service secret: mints and verifies service tokens.
#[derive(Clone)]
pub struct ServiceKeys {
    secret: Arc<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for ServiceKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServiceKeys([redacted])")
    }
}

impl ServiceKeys {
    /// Keys from a configured secret of at least 32 bytes.
    pub fn new(secret: Vec<u8>) -> Result<Self, String> {
        if secret.len() < MIN_SERVICE_SECRET_BYTES {
            return Err(format!("must be at least {MIN_SERVICE_SECRET_BYTES} bytes"));
        }
        Ok(Self { secret: Arc::new(Zeroizing::new(secret)) })
    }

    /// Keys from the OS random source: good for one process (`paymesh
    /// all`), where every service shares them.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut secret = vec![0u8; MIN_SERVICE_SECRET_BYTES];
        getrandom::fill(&mut secret)?;
        Ok(Self { secret: Arc::new(Zeroizing::new(secret)) })
    }

    fn mac(&self, service: &str) -> Vec<u8> {
        // HMAC takes keys of any length; this cannot fail.
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC accepts any key length");
        mac.update(b"paymesh.service:");
        mac.update(service.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Keys that stand in while configuration fails (start-up stops before
    /// they are used).
    pub(crate) fn placeholder() -> Self {
        Self { secret: Arc::new(Zeroizing::new(vec![0; MIN_SERVICE_SECRET_BYTES])) }
    }

    /// The token of `service` (lower-case letters and underscores).
    pub fn token(&self, service: &str) -> ServiceToken {
        ServiceToken(format!("{PREFIX}{service}.{}", URL_SAFE_NO_PAD.encode(self.mac(service))))
    }

    /// The service a token stands for, if it is genuine.
    pub fn verify(&self, token: &str) -> Option<String> {
        let rest = token.strip_prefix(PREFIX)?;
        let (service, mac) = rest.split_once('.')?;
        if service.is_empty() || !service.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return None;
        }
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        #[allow(clippy::expect_used)]
        let mut check = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC accepts any key length");
        check.update(b"paymesh.service:");
        check.update(service.as_bytes());
        check.verify_slice(&mac).ok()?;
        Some(service.to_owned())
    }
}

/// Whether a credential is a service token (by its shape alone).
pub fn is_service_token(credential: &str) -> bool {
    credential.starts_with(PREFIX)
}

/// A service's token, never printed.
#[derive(Clone)]
pub struct ServiceToken(String);

impl fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServiceToken([redacted])")
    }
}

impl ServiceToken {
    /// The token, for the `authorization` header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> ServiceKeys {
        ServiceKeys::new(vec![byte; 32]).unwrap()
    }

    #[test]
    fn a_token_names_its_service_and_only_the_secret_mints_it() {
        let token = keys(1).token("payments");
        assert!(token.0.starts_with("svc_payments."));
        assert_eq!(keys(1).verify(&token.0).as_deref(), Some("payments"));
        assert_eq!(keys(2).verify(&token.0), None, "another mesh's secret");
        let forged = token.0.replace("payments", "methods");
        assert_eq!(keys(1).verify(&forged), None, "a name is bound to its MAC");
        for junk in ["", "svc_", "svc_payments", "svc_payments.!!!", "test_secret_key_x", "svc_Payments.AAAA"]
        {
            assert_eq!(keys(1).verify(junk), None, "{junk}");
        }
        assert!(!format!("{token:?}").contains("payments"));
        assert!(ServiceKeys::new(vec![0; 16]).is_err());
    }
}

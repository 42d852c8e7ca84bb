//! Envelope encryption for the values paymesh must never hold in clear:
//! card and bank account numbers, SSNs and EINs, identity documents.
//!
//! Every value is encrypted with AES-256-GCM under a data key of its own
//! (random, 256 bits), and that data key is itself encrypted ("wrapped")
//! under a key-encryption key (KEK) from configuration. The result is one
//! self-describing byte string, stored in a `bytea` column:
//!
//! ```text
//! 0x01 | kek id length | kek id | wrap nonce (12) | wrapped data key (48) | nonce (12) | ciphertext + tag
//! ```
//!
//! - The KEK id travels with every ciphertext, so several KEKs can be
//!   configured at once and old ciphertexts keep opening while
//!   [`Keyring::rewrap`] moves their data keys to the active KEK — a
//!   rotation rewrites 60 bytes per value and never touches the value.
//! - Each ciphertext is bound to a *context* (its table, column and row,
//!   e.g. `identity.owners.ssn:0192…`) as associated data: a ciphertext
//!   copied into another row does not open there.
//! - Plaintext comes back in [`Zeroizing`] buffers, data keys are wiped
//!   after use, and nothing here ever formats a key or a value.

use std::{collections::HashMap, fmt, str::FromStr};

use aes_gcm::{
    Aes256Gcm,
    aead::{Aead as _, KeyInit as _, Payload},
};
use base64::Engine as _;
use zeroize::{Zeroize as _, Zeroizing};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;
const WRAPPED_LEN: usize = KEY_LEN + TAG_LEN;
/// Associated data of a wrapped data key, before the KEK id.
const WRAP_AAD: &[u8] = b"paymesh.dek.v1:";
/// Associated data of a value, before its context.
const DATA_AAD: &[u8] = b"paymesh.data.v1:";
/// The KEK a development machine uses when none is configured. It is
/// public (it is in this file): nothing real may be sealed under it.
const DEVELOPMENT_KEK: [u8; KEY_LEN] = *b"paymesh-development-kek-00000000";

/// Why a value could not be sealed or opened. Deliberately vague about
/// the value: the messages go to logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The stored bytes are not a sealed value of a known format.
    #[error("malformed ciphertext")]
    Malformed,
    /// The ciphertext names a KEK this process was not given.
    #[error("ciphertext sealed under unknown key-encryption key {0:?}")]
    UnknownKey(String),
    /// Authentication failed: wrong key, wrong context or tampering.
    #[error("ciphertext does not authenticate (wrong key, wrong context or tampered)")]
    Forged,
    /// The operating system's random source failed.
    #[error("the OS random source failed")]
    Random,
    /// Live-mode data must not be sealed under the public development KEK.
    #[error("live-mode data cannot be sealed under the development keyring")]
    DevelopmentKeyInLiveMode,
}

impl From<CryptoError> for crate::Error {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::DevelopmentKeyInLiveMode => Self::Unavailable {
                reason:
                    "Live mode is not available: this deployment has no key-encryption key (PAYMESH_KEKS)"
                        .to_owned(),
                retry_after: None,
            },
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

// === KeyId ===

/// The name of a key-encryption key: 1 to 32 characters of `a-z 0-9 _ -`,
/// e.g. `kek-2026-11`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl FromStr for KeyId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = (1..=32).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!("{s:?} is not a key id (1 to 32 characters of a-z, 0-9, _ and -)"))
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl KeyId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// === Keyring ===

/// A key-encryption key with its id.
pub type NamedKey = (KeyId, Zeroizing<[u8; KEY_LEN]>);

/// The key-encryption keys of a process: one active (new values are sealed
/// under it) and any number of older ones (still opened).
#[derive(Clone)]
pub struct Keyring {
    active: KeyId,
    keys: HashMap<KeyId, Aes256Gcm>,
    development: bool,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<_> = self.keys.keys().map(KeyId::as_str).collect();
        ids.sort_unstable();
        f.debug_struct("Keyring")
            .field("active", &self.active.as_str())
            .field("keys", &ids)
            .field("development", &self.development)
            .finish()
    }
}

impl Keyring {
    /// A keyring of `keys` that seals under `active`, which must be one of
    /// them.
    pub fn new(keys: Vec<NamedKey>, active: KeyId) -> Result<Self, String> {
        if !keys.iter().any(|(id, _)| *id == active) {
            return Err(format!("the active key {active} is not among the configured keys"));
        }
        let mut ring = HashMap::with_capacity(keys.len());
        for (id, key) in keys {
            let cipher = Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| "a key must be 32 bytes")?;
            if ring.insert(id.clone(), cipher).is_some() {
                return Err(format!("the key {id} is configured twice"));
            }
        }
        Ok(Self { active, keys: ring, development: false })
    }

    /// The public development keyring (key id `dev`), used when no KEK is
    /// configured so that `paymesh all` runs with no set-up at all.
    /// Services warn at start-up while they use it.
    pub fn development() -> Self {
        let id = KeyId("dev".to_owned());
        let mut keys = HashMap::new();
        keys.insert(id.clone(), Aes256Gcm::new(&DEVELOPMENT_KEK.into()));
        Self { active: id, keys, development: true }
    }

    /// Whether this is the public development keyring.
    pub fn is_development(&self) -> bool {
        self.development
    }

    /// The KEK new values are sealed under.
    pub fn active(&self) -> &KeyId {
        &self.active
    }

    /// Encrypts `plaintext` for the row and column named by `context`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>, CryptoError> {
        let mut data_key = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(data_key.as_mut_slice()).map_err(|_| CryptoError::Random)?;
        let value_cipher = Aes256Gcm::new_from_slice(data_key.as_slice()).map_err(|_| CryptoError::Random)?;
        let nonce = random_nonce()?;
        let aad = [DATA_AAD, context.as_bytes()].concat();
        let ciphertext = value_cipher
            .encrypt(&nonce.into(), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| CryptoError::Random)?;
        let mut sealed = self.wrap(&self.active, &data_key)?;
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Encrypts `plaintext` of a partner's test or live mode: live-mode
    /// data is refused under the development keyring, whose KEK is public.
    pub fn seal_for_mode(
        &self,
        livemode: bool,
        plaintext: &[u8],
        context: &str,
    ) -> Result<Vec<u8>, CryptoError> {
        if livemode && self.development {
            return Err(CryptoError::DevelopmentKeyInLiveMode);
        }
        self.seal(plaintext, context)
    }

    /// Decrypts a value sealed for `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let parts = Parts::parse(sealed)?;
        let data_key = self.unwrap_key(&parts)?;
        let value_cipher = Aes256Gcm::new_from_slice(data_key.as_slice()).map_err(|_| CryptoError::Forged)?;
        let aad = [DATA_AAD, context.as_bytes()].concat();
        let nonce: [u8; NONCE_LEN] = parts.nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        value_cipher
            .decrypt(&nonce.into(), Payload { msg: parts.ciphertext, aad: &aad })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Forged)
    }

    /// Decrypts a value sealed for `context` as UTF-8 text.
    pub fn open_text(&self, sealed: &[u8], context: &str) -> Result<Zeroizing<String>, CryptoError> {
        let bytes = self.open(sealed, context)?;
        String::from_utf8(bytes.to_vec()).map(Zeroizing::new).map_err(|_| CryptoError::Malformed)
    }

    /// Moves a sealed value's data key to the active KEK; `None` when it is
    /// already there. The value itself is not decrypted: only the data key
    /// is re-wrapped, so the context is not needed.
    pub fn rewrap(&self, sealed: &[u8]) -> Result<Option<Vec<u8>>, CryptoError> {
        let parts = Parts::parse(sealed)?;
        if parts.key_id == self.active.as_str() {
            return Ok(None);
        }
        let data_key = self.unwrap_key(&parts)?;
        let mut rewrapped = self.wrap(&self.active, &data_key)?;
        rewrapped.extend_from_slice(parts.nonce);
        rewrapped.extend_from_slice(parts.ciphertext);
        Ok(Some(rewrapped))
    }

    /// The id of the KEK a sealed value's data key is wrapped under.
    pub fn key_id_of(sealed: &[u8]) -> Result<&str, CryptoError> {
        Parts::parse(sealed).map(|p| p.key_id)
    }

    /// The header and wrapped data key of a new sealed value.
    fn wrap(&self, id: &KeyId, data_key: &[u8; KEY_LEN]) -> Result<Vec<u8>, CryptoError> {
        let kek = self.keys.get(id).ok_or_else(|| CryptoError::UnknownKey(id.to_string()))?;
        let nonce = random_nonce()?;
        let aad = [WRAP_AAD, id.as_str().as_bytes()].concat();
        let wrapped = kek
            .encrypt(&nonce.into(), Payload { msg: data_key, aad: &aad })
            .map_err(|_| CryptoError::Random)?;
        let id = id.as_str().as_bytes();
        let mut out = Vec::with_capacity(2 + id.len() + NONCE_LEN + WRAPPED_LEN + NONCE_LEN + 64);
        out.push(VERSION);
        out.push(u8::try_from(id.len()).map_err(|_| CryptoError::Malformed)?);
        out.extend_from_slice(id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&wrapped);
        Ok(out)
    }

    fn unwrap_key(&self, parts: &Parts<'_>) -> Result<Zeroizing<[u8; KEY_LEN]>, CryptoError> {
        let id = KeyId::from_str(parts.key_id).map_err(|_| CryptoError::Malformed)?;
        let kek = self.keys.get(&id).ok_or_else(|| CryptoError::UnknownKey(id.to_string()))?;
        let aad = [WRAP_AAD, parts.key_id.as_bytes()].concat();
        let nonce: [u8; NONCE_LEN] = parts.wrap_nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        let mut bytes = kek
            .decrypt(&nonce.into(), Payload { msg: parts.wrapped, aad: &aad })
            .map_err(|_| CryptoError::Forged)?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            bytes.zeroize();
            return Err(CryptoError::Malformed);
        }
        key.copy_from_slice(&bytes);
        bytes.zeroize();
        Ok(key)
    }
}

fn random_nonce() -> Result<[u8; NONCE_LEN], CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|_| CryptoError::Random)?;
    Ok(nonce)
}

/// A sealed value, split into its parts (borrowed).
struct Parts<'a> {
    key_id: &'a str,
    wrap_nonce: &'a [u8],
    wrapped: &'a [u8],
    nonce: &'a [u8],
    ciphertext: &'a [u8],
}

impl<'a> Parts<'a> {
    fn parse(sealed: &'a [u8]) -> Result<Self, CryptoError> {
        let [version, id_len, rest @ ..] = sealed else { return Err(CryptoError::Malformed) };
        if *version != VERSION {
            return Err(CryptoError::Malformed);
        }
        let id_len = usize::from(*id_len);
        if rest.len() < id_len + NONCE_LEN + WRAPPED_LEN + NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (id, rest) = rest.split_at(id_len);
        let (wrap_nonce, rest) = rest.split_at(NONCE_LEN);
        let (wrapped, rest) = rest.split_at(WRAPPED_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let key_id = std::str::from_utf8(id).map_err(|_| CryptoError::Malformed)?;
        Ok(Self { key_id, wrap_nonce, wrapped, nonce, ciphertext })
    }
}

// === Sealed values in the domain ===

// Sensitive numbers (card, bank account, SSN, EIN) as a service's domain
// holds them: either just given, in clear, on their way to encryption, or
// stored, when only the ciphertext and the last four digits are known.
// Reading a record never decrypts anything.

/// A sensitive number of type `T`.
#[derive(Clone, PartialEq, Eq)]
pub enum Sealed<T> {
    /// Given in this request; the store encrypts it.
    Given(T),
    /// As stored: the envelope-encrypted value and its last four digits.
    Stored {
        /// The ciphertext (see `paymesh_kit::crypto`).
        ciphertext: Vec<u8>,
        /// The last four digits.
        last4: String,
    },
}

impl<T> std::fmt::Debug for Sealed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Given(_) => f.write_str("Sealed::Given([redacted])"),
            Self::Stored { last4, .. } => write!(f, "Sealed::Stored(…{last4})"),
        }
    }
}

/// A sensitive number: its digits, which only ever go to [`Keyring::seal`],
/// and the last four, which may be shown.
pub trait SensitiveNumber {
    /// Every digit, for sealing.
    fn digits(&self) -> &str;
    /// The last four digits.
    fn last4(&self) -> &str;
}

impl<T: SensitiveNumber> Sealed<T> {
    /// The last four digits, whether given or stored.
    pub fn last4(&self) -> &str {
        match self {
            Self::Given(value) => value.last4(),
            Self::Stored { last4, .. } => last4,
        }
    }

    /// The ciphertext and last four digits to store: a given number is
    /// sealed now for `context` (see [`Keyring::seal_for_mode`]), a stored
    /// one kept as it is.
    pub fn to_stored(
        &self,
        keyring: &Keyring,
        livemode: bool,
        context: &str,
    ) -> Result<(Vec<u8>, String), CryptoError> {
        match self {
            Self::Given(value) => Ok((
                keyring.seal_for_mode(livemode, value.digits().as_bytes(), context)?,
                value.last4().to_owned(),
            )),
            Self::Stored { ciphertext, last4 } => Ok((ciphertext.clone(), last4.clone())),
        }
    }
}

impl SensitiveNumber for crate::bank::AccountNumber {
    fn digits(&self) -> &str {
        self.expose()
    }

    fn last4(&self) -> &str {
        crate::bank::AccountNumber::last4(self)
    }
}

impl SensitiveNumber for crate::bank::CanadianAccountNumber {
    fn digits(&self) -> &str {
        self.expose()
    }

    fn last4(&self) -> &str {
        crate::bank::CanadianAccountNumber::last4(self)
    }
}

// === Configuration ===

/// Parses `PAYMESH_KEKS`: comma-separated `id:base64` pairs, each key 32
/// bytes of standard base64 (`openssl rand -base64 32`).
pub fn parse_keys(raw: &str) -> Result<Vec<NamedKey>, String> {
    let mut keys = Vec::new();
    for (i, item) in raw.split(',').map(str::trim).filter(|s| !s.is_empty()).enumerate() {
        let (id, encoded) =
            item.split_once(':').ok_or_else(|| format!("key {}: expected ID:BASE64", i + 1))?;
        let id = KeyId::from_str(id.trim()).map_err(|why| format!("key {}: {why}", i + 1))?;
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| format!("key {id}: not valid base64"))?,
        );
        let key: [u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| format!("key {id}: must be 32 bytes (44 base64 characters)"))?;
        keys.push((id, Zeroizing::new(key)));
    }
    if keys.is_empty() {
        return Err("no keys given".to_owned());
    }
    Ok(keys)
}

/// The characters of [`random_base62`].
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` characters drawn uniformly from base62 with the OS random source
/// (rejection sampling keeps every character equally likely).
pub fn random_base62(len: usize) -> Result<String, getrandom::Error> {
    let mut out = String::with_capacity(len);
    let mut buffer = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buffer)?;
        for byte in buffer {
            if out.len() == len {
                break;
            }
            if usize::from(byte) < 62 * 4 {
                out.push(char::from(BASE62[usize::from(byte) % 62]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> (KeyId, Zeroizing<[u8; KEY_LEN]>) {
        (id.parse().unwrap(), Zeroizing::new([byte; KEY_LEN]))
    }

    fn ring(keys: &[(&str, u8)], active: &str) -> Keyring {
        Keyring::new(keys.iter().map(|(id, b)| key(id, *b)).collect(), active.parse().unwrap()).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_for_its_context_only() {
        let ring = ring(&[("k1", 1)], "k1");
        let sealed = ring.seal(b"123-45-6789", "identity.owners.ssn:1").unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"123-45-6789"));
        assert_eq!(ring.open(&sealed, "identity.owners.ssn:1").unwrap().as_slice(), b"123-45-6789");
        assert_eq!(ring.open(&sealed, "identity.owners.ssn:2").unwrap_err(), CryptoError::Forged);
        assert_eq!(Keyring::key_id_of(&sealed).unwrap(), "k1");
    }

    #[test]
    fn each_value_gets_its_own_data_key_and_nonce() {
        let ring = ring(&[("k1", 1)], "k1");
        let a = ring.seal(b"same", "c").unwrap();
        let b = ring.seal(b"same", "c").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn tampering_anywhere_is_detected() {
        let ring = ring(&[("k1", 1)], "k1");
        let sealed = ring.seal(b"4242424242424242", "c").unwrap();
        for i in 2..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(ring.open(&bad, "c").is_err(), "byte {i}");
        }
        assert_eq!(ring.open(&sealed[..10], "c").unwrap_err(), CryptoError::Malformed);
        assert_eq!(ring.open(b"", "c").unwrap_err(), CryptoError::Malformed);
    }

    #[test]
    fn rotation_rewraps_data_keys_and_old_ciphertexts_keep_opening() {
        let old = ring(&[("k1", 1)], "k1");
        let sealed = old.seal(b"secret", "c").unwrap();
        // During the rotation both keys are configured; new values use k2.
        let both = ring(&[("k1", 1), ("k2", 2)], "k2");
        assert_eq!(both.open(&sealed, "c").unwrap().as_slice(), b"secret");
        let rewrapped = both.rewrap(&sealed).unwrap().unwrap();
        assert_eq!(Keyring::key_id_of(&rewrapped).unwrap(), "k2");
        assert_eq!(both.rewrap(&rewrapped).unwrap(), None);
        // Once every value is rewrapped, k1 can be dropped.
        let new = ring(&[("k2", 2)], "k2");
        assert_eq!(new.open(&rewrapped, "c").unwrap().as_slice(), b"secret");
        assert_eq!(new.open(&sealed, "c").unwrap_err(), CryptoError::UnknownKey("k1".to_owned()));
    }

    #[test]
    fn a_wrong_key_under_a_known_id_does_not_open() {
        let sealed = ring(&[("k1", 1)], "k1").seal(b"x", "c").unwrap();
        assert_eq!(ring(&[("k1", 9)], "k1").open(&sealed, "c").unwrap_err(), CryptoError::Forged);
    }

    #[test]
    fn key_configuration_is_parsed_and_checked() {
        let a = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let keys = parse_keys(&format!("k-2026:{a}, old:{a}")).unwrap();
        assert_eq!(keys.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["k-2026", "old"]);
        assert!(parse_keys("").is_err());
        assert!(parse_keys("k1").is_err());
        assert!(parse_keys("K1:abc").is_err());
        assert!(parse_keys("k1:!!!").is_err());
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        assert!(parse_keys(&format!("k1:{short}")).unwrap_err().contains("32 bytes"));
        assert!(Keyring::new(parse_keys(&format!("k1:{a}")).unwrap(), "k2".parse().unwrap()).is_err());
        assert!(Keyring::new(parse_keys(&format!("k1:{a},k1:{a}")).unwrap(), "k1".parse().unwrap()).is_err());
    }

    #[test]
    fn keyrings_never_print_key_material() {
        let ring = ring(&[("k1", 0x41)], "k1");
        let shown = format!("{ring:?}");
        assert!(shown.contains("k1") && !shown.contains("AAAA"), "{shown}");
        assert!(Keyring::development().is_development());
        assert_eq!(
            Keyring::development().seal_for_mode(true, b"123-45-6789", "ctx"),
            Err(CryptoError::DevelopmentKeyInLiveMode)
        );
        let test_mode = Keyring::development().seal_for_mode(false, b"123-45-6789", "ctx").unwrap();
        assert_eq!(&*Keyring::development().open(&test_mode, "ctx").unwrap(), b"123-45-6789");
    }
}

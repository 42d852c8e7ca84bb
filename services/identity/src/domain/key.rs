//! API keys: how they are made, recognised and stored.
//!
//! A key is its prefix (which says its mode and kind, as partners know from
//! Payload: `test_secret_key_`, `secret_key_`, `test_client_key_`,
//! `client_key_`) followed by 32 base62 characters drawn from the operating
//! system's random source (190 bits). Only its SHA-256 is stored; a fast
//! hash is right for random keys of this length, where a password hash
//! would only slow every request.

use paymesh_kit::auth::KeyKind;
use sha2::{Digest as _, Sha256};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Random characters after the prefix.
pub const SECRET_CHARS: usize = 32;

/// What a key is for: its mode and kind, and so its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyClass {
    /// Live (true) or test (false).
    pub livemode: bool,
    /// Secret or client.
    pub kind: KeyKind,
}

impl KeyClass {
    /// The four classes a partner holds one key of each.
    pub const ALL: [Self; 4] = [
        Self { livemode: false, kind: KeyKind::Secret },
        Self { livemode: false, kind: KeyKind::Client },
        Self { livemode: true, kind: KeyKind::Secret },
        Self { livemode: true, kind: KeyKind::Client },
    ];

    /// The prefix that starts every key of this class.
    pub fn prefix(self) -> &'static str {
        match (self.livemode, self.kind) {
            (false, KeyKind::Secret) => "test_secret_key_",
            (true, KeyKind::Secret) => "secret_key_",
            (false, KeyKind::Client) => "test_client_key_",
            (true, KeyKind::Client) => "client_key_",
        }
    }

    /// The class a key claims by its prefix.
    pub fn of(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|class| {
            key.strip_prefix(class.prefix()).is_some_and(|rest| {
                rest.len() == SECRET_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric())
            })
        })
    }

    /// The stored spelling of the kind.
    pub fn kind_str(self) -> &'static str {
        match self.kind {
            KeyKind::Secret => "secret",
            KeyKind::Client => "client",
        }
    }
}

/// A freshly made key, the only time its text exists.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedKey {
    /// Its class.
    pub class: KeyClass,
    /// The whole key, to show once.
    pub key: String,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey").field("class", &self.class).field("key", &"[redacted]").finish()
    }
}

impl IssuedKey {
    /// Makes a key of `class` from the OS random source.
    pub fn generate(class: KeyClass) -> Result<Self, getrandom::Error> {
        let mut key = String::with_capacity(class.prefix().len() + SECRET_CHARS);
        key.push_str(class.prefix());
        let mut filled = 0;
        let mut buffer = [0u8; 64];
        while filled < SECRET_CHARS {
            getrandom::fill(&mut buffer)?;
            // Rejection sampling keeps every character equally likely.
            for byte in buffer {
                if filled == SECRET_CHARS {
                    break;
                }
                if usize::from(byte) < 62 * 4 {
                    key.push(char::from(ALPHABET[usize::from(byte) % 62]));
                    filled += 1;
                }
            }
        }
        Ok(Self { class, key })
    }

    /// The last four characters, shown with the prefix to recognise a key.
    pub fn last4(&self) -> &str {
        &self.key[self.key.len() - 4..]
    }
}

/// The stored form of a key.
pub fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_their_class_in_the_prefix() {
        for class in KeyClass::ALL {
            let issued = IssuedKey::generate(class).unwrap();
            assert!(issued.key.starts_with(class.prefix()));
            assert_eq!(issued.key.len(), class.prefix().len() + SECRET_CHARS);
            assert_eq!(KeyClass::of(&issued.key), Some(class), "{}", class.prefix());
        }
    }

    #[test]
    fn keys_are_unique_and_never_printed() {
        let a = IssuedKey::generate(KeyClass::ALL[0]).unwrap();
        let b = IssuedKey::generate(KeyClass::ALL[0]).unwrap();
        assert_ne!(a.key, b.key);
        assert_ne!(hash(&a.key), hash(&b.key));
        assert!(!format!("{a:?}").contains(&a.key[16..]));
    }

    #[test]
    fn strangers_are_not_keys() {
        for key in [
            "",
            "secret_key_",
            "test_secret_key_short",
            "sk_live_0123456789ABCDEFGHIJKLMNOPQRSTUV",
            "secret_key_0123456789ABCDEFGHIJKLMNOPQRST!!",
        ] {
            assert_eq!(KeyClass::of(key), None, "{key}");
        }
    }
}

//! API keys: how they are made, recognised and stored.
//!
//! A key is its prefix (which says its mode and kind, as partners know from
//! Payload: `test_secret_key_`, `secret_key_`, `test_client_key_`,
//! `client_key_`) followed by 32 base62 characters drawn from the operating
//! system's random source (190 bits). Only its SHA-256 is stored; a fast
//! hash is right for random keys of this length, where a password hash
//! would only slow every request.

use chrono::{DateTime, TimeDelta, Utc};
use paymesh_kit::{
    auth::{KeyKind, Permission, Verb},
    crypto::random_base62,
    values::{Attrs, AttrsPatch},
};
use sha2::{Digest as _, Sha256};

/// Random characters after the prefix.
pub const SECRET_CHARS: usize = 32;

/// The kinds of API keys (merchant tokens are not API keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiKeyKind {
    /// A secret key, for servers.
    Secret,
    /// A client key, for browsers.
    Client,
}

impl ApiKeyKind {
    /// The principal kind of keys of this kind.
    pub fn principal(self) -> KeyKind {
        match self {
            Self::Secret => KeyKind::Secret,
            Self::Client => KeyKind::Client,
        }
    }
}

/// What a key is for: its mode and kind, and so its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyClass {
    /// Live (true) or test (false).
    pub livemode: bool,
    /// Secret or client.
    pub kind: ApiKeyKind,
}

impl KeyClass {
    /// The four classes a partner holds one key of each.
    pub const ALL: [Self; 4] = [
        Self { livemode: false, kind: ApiKeyKind::Secret },
        Self { livemode: false, kind: ApiKeyKind::Client },
        Self { livemode: true, kind: ApiKeyKind::Secret },
        Self { livemode: true, kind: ApiKeyKind::Client },
    ];

    /// The prefix that starts every key of this class.
    pub fn prefix(self) -> &'static str {
        match (self.livemode, self.kind) {
            (false, ApiKeyKind::Secret) => "test_secret_key_",
            (true, ApiKeyKind::Secret) => "secret_key_",
            (false, ApiKeyKind::Client) => "test_client_key_",
            (true, ApiKeyKind::Client) => "client_key_",
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
            ApiKeyKind::Secret => "secret",
            ApiKeyKind::Client => "client",
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
        Ok(Self { class, key: format!("{}{}", class.prefix(), random_base62(SECRET_CHARS)?) })
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

/// An API key's record: everything but the key itself.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKey {
    /// Its id.
    pub id: uuid::Uuid,
    /// Its class: mode and kind.
    pub class: KeyClass,
    /// A label for people.
    pub name: String,
    /// Its last four characters.
    pub last4: String,
    /// Its restrictions (empty: none).
    pub permissions: Vec<Permission>,
    /// When it stops working, if rolled.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The key that replaced it, if rolled.
    pub rolled_to_id: Option<uuid::Uuid>,
    /// Custom attributes.
    pub attrs: Attrs,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub modified_at: DateTime<Utc>,
}

impl ApiKey {
    /// The record of a freshly issued key.
    pub fn issued(
        issued: &IssuedKey,
        name: String,
        permissions: Vec<Permission>,
        attrs: Attrs,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7(),
            class: issued.class,
            name,
            last4: issued.last4().to_owned(),
            permissions,
            expires_at: None,
            revoked_at: None,
            rolled_to_id: None,
            attrs,
            created_at: now,
            modified_at: now,
        }
    }

    /// Where the key stands at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> KeyStatus {
        KeyStatus::at(self.revoked_at, self.expires_at, now)
    }

    /// The key after `patch`, changed at `now`. Fails naming the attribute:
    /// client keys take no permissions (they are restricted by their
    /// kind), and merged custom attributes must fit.
    pub fn apply(&self, patch: &KeyPatch, now: DateTime<Utc>) -> Result<Self, (&'static str, String)> {
        let KeyPatch { name, permissions, attrs } = patch;
        let mut changed = self.clone();
        if let Some(name) = name.clone() {
            changed.name = name;
        }
        if let Some(permissions) = permissions.clone() {
            if self.class.kind == ApiKeyKind::Client && !permissions.is_empty() {
                return Err((
                    "permissions",
                    "Client keys are restricted by their kind; permissions apply to secret keys".to_owned(),
                ));
            }
            changed.permissions = permissions;
        }
        changed.attrs = self.attrs.patched(attrs.clone()).map_err(|why| ("attrs", why))?;
        changed.modified_at = now;
        Ok(changed)
    }

    /// The key revoked at `now`; refused when it already is.
    pub fn revoked(&self, now: DateTime<Utc>) -> Result<Self, String> {
        if self.revoked_at.is_some() {
            return Err("The key is already revoked".to_owned());
        }
        Ok(Self { revoked_at: Some(now), modified_at: now, ..self.clone() })
    }

    /// Whether the key may be rolled at `now`: only a working key, and only
    /// once (its replacement is rolled after that).
    pub fn may_roll(&self, now: DateTime<Utc>) -> Result<(), String> {
        if self.revoked_at.is_some() || self.expires_at.is_some_and(|e| e <= now) {
            return Err("Only a working key can be rolled".to_owned());
        }
        if self.rolled_to_id.is_some() {
            return Err("The key was already rolled; roll its replacement instead".to_owned());
        }
        Ok(())
    }

    /// The key rolled at `now` into `replacement`, working until `expiry`
    /// (see [`rolled_expiry`]).
    pub fn rolled(&self, replacement: uuid::Uuid, expiry: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        Self { expires_at: Some(expiry), rolled_to_id: Some(replacement), modified_at: now, ..self.clone() }
    }
}

/// A change to a key: `None` leaves an attribute as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyPatch {
    /// A new name.
    pub name: Option<String>,
    /// New permissions (empty: none, for an unrestricted secret key).
    pub permissions: Option<Vec<Permission>>,
    /// A merge patch for the custom attributes, or `Some(None)` to remove
    /// them all.
    pub attrs: AttrsPatch,
}

/// Refuses a key revoking itself: it would lock its holder out; another
/// key revokes it, or the holder rolls it.
pub fn may_revoke(caller: uuid::Uuid, target: uuid::Uuid) -> Result<(), String> {
    if caller == target {
        return Err("A key cannot revoke itself; use another key, or roll this one".to_owned());
    }
    Ok(())
}

/// The longest key name, in characters.
pub const MAX_KEY_NAME_CHARS: usize = 200;

/// Parses a key's name: at most 200 characters without control
/// characters (it may be empty).
pub fn key_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.chars().count() > MAX_KEY_NAME_CHARS {
        return Err(format!("Must be at most {MAX_KEY_NAME_CHARS} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("Must not contain control characters".to_owned());
    }
    Ok(name.to_owned())
}

/// The most permissions one key may carry.
pub const MAX_PERMISSIONS: usize = 100;
/// The longest grace period of a rolled key: seven days.
pub const MAX_GRACE_SECONDS: u32 = 7 * 24 * 3600;

/// Parses one permission: a method (`GET`, `POST`, `PUT`, `DELETE` or `*`)
/// and a resource path (`/transactions`, `/customers/payment_methods`) or
/// `*`.
pub fn parse_permission(method: Option<Verb>, resource: &str) -> Result<Permission, String> {
    let verb = method.ok_or_else(|| "A method is required: GET, POST, PUT, DELETE or *".to_owned())?;
    let resource = resource.trim();
    let path_ok = resource == "*"
        || (resource.len() <= 200
            && resource.starts_with('/')
            && resource[1..].split('/').all(|s| {
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            }));
    if !path_ok {
        return Err("The resource must be a path such as /transactions, or *".to_owned());
    }
    Ok(Permission { verb, resource: resource.to_owned() })
}

/// Checks that a key holding `granter` may hand out `wanted`: an
/// unrestricted key may grant anything; a restricted one only permissions it
/// holds, and never an unrestricted key.
pub fn may_grant(granter: Option<&[Permission]>, wanted: &[Permission]) -> Result<(), String> {
    let Some(held) = granter else { return Ok(()) };
    if wanted.is_empty() {
        return Err(
            "A restricted key cannot create or widen a key to full access; list its permissions".to_owned()
        );
    }
    for p in wanted {
        if !held.iter().any(|h| h.covers(p)) {
            return Err(format!(
                "This key does not hold the permission {} {} itself",
                p.verb.as_str(),
                p.resource
            ));
        }
    }
    Ok(())
}

/// What a client key can do, in the terms of permissions: tokenize
/// payment methods and redeem session tokens.
fn client_powers() -> [Permission; 2] {
    [
        Permission { verb: Verb::Post, resource: "/payment_methods".to_owned() },
        Permission { verb: Verb::Post, resource: "/access_tokens".to_owned() },
    ]
}

/// Checks that a key holding `granter` may create a key of `kind` with
/// `permissions`: a secret key as [`may_grant`] says; a client key (which
/// takes no permissions) if the granter holds what client keys can do.
pub fn may_grant_key(
    granter: Option<&[Permission]>,
    kind: ApiKeyKind,
    permissions: &[Permission],
) -> Result<(), String> {
    match kind {
        ApiKeyKind::Secret => may_grant(granter, permissions),
        ApiKeyKind::Client => may_grant(granter, &client_powers()),
    }
}

/// Checks that a key holding `granter` may update, roll or revoke a key of
/// `kind` holding `target`: only if it could have granted it, so that a
/// restricted key never takes over (or locks out) a more powerful one.
pub fn may_manage(
    granter: Option<&[Permission]>,
    kind: ApiKeyKind,
    target: &[Permission],
) -> Result<(), String> {
    may_grant_key(granter, kind, target).map_err(|_| {
        "This key is restricted and cannot manage a key holding permissions it does not hold itself"
            .to_owned()
    })
}

/// Where a key stands at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// It works.
    Active,
    /// It was rolled and works until its expiry.
    Expiring,
    /// Its grace period is over.
    Expired,
    /// It was revoked.
    Revoked,
}

/// Every key status, as REST spells it.
pub const KEY_STATUSES: &[&str] = &["active", "expiring", "expired", "revoked"];

impl KeyStatus {
    /// The status of a key with these dates at `now`.
    pub fn at(
        revoked_at: Option<DateTime<Utc>>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        match (revoked_at, expires_at) {
            (Some(_), _) => Self::Revoked,
            (None, Some(expiry)) if expiry <= now => Self::Expired,
            (None, Some(_)) => Self::Expiring,
            (None, None) => Self::Active,
        }
    }

    /// The REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expiring => "expiring",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// When a key rolled at `now` with `grace_seconds` stops working; an
/// earlier expiry it already had is kept.
pub fn rolled_expiry(
    current: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    grace_seconds: u32,
) -> Result<DateTime<Utc>, String> {
    if grace_seconds > MAX_GRACE_SECONDS {
        return Err(format!("Must be at most {MAX_GRACE_SECONDS} seconds (seven days)"));
    }
    let expiry = now + TimeDelta::seconds(i64::from(grace_seconds));
    Ok(current.map_or(expiry, |c| c.min(expiry)))
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

    fn p(verb: Verb, resource: &str) -> Permission {
        Permission { verb, resource: resource.to_owned() }
    }

    #[test]
    fn permissions_need_a_method_and_a_resource_path() {
        assert_eq!(
            parse_permission(Some(Verb::Get), " /transactions ").unwrap(),
            p(Verb::Get, "/transactions")
        );
        assert!(parse_permission(Some(Verb::Any), "*").is_ok());
        assert!(parse_permission(None, "/transactions").is_err());
        for bad in ["transactions", "/Transactions", "/a//b", "/", "/a?b=1", ""] {
            assert!(parse_permission(Some(Verb::Get), bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn restricted_keys_grant_only_what_they_hold() {
        assert!(may_grant(None, &[]).is_ok());
        let held = [p(Verb::Get, "/customers"), p(Verb::Any, "/api_keys")];
        assert!(may_grant(Some(&held), &[p(Verb::Get, "/customers")]).is_ok());
        assert!(may_grant(Some(&held), &[]).unwrap_err().contains("full access"));
        assert!(
            may_grant(Some(&held), &[p(Verb::Post, "/customers")]).unwrap_err().contains("POST /customers")
        );
        assert!(may_grant(Some(&held), &[p(Verb::Get, "*")]).is_err());
    }

    #[test]
    fn restricted_keys_manage_only_keys_they_could_grant() {
        let held = [p(Verb::Get, "/customers"), p(Verb::Post, "/api_keys")];
        let secret = ApiKeyKind::Secret;
        assert!(may_manage(None, secret, &[]).is_ok());
        assert!(may_manage(Some(&held), secret, &[p(Verb::Get, "/customers")]).is_ok());
        assert!(may_manage(Some(&held), secret, &[]).unwrap_err().contains("cannot manage"));
        assert!(may_manage(Some(&held), secret, &[p(Verb::Delete, "/customers")]).is_err());
        // Client keys: whoever holds what they can do.
        assert!(may_manage(Some(&held), ApiKeyKind::Client, &[]).is_err());
        let everything = [p(Verb::Any, "*")];
        assert!(may_manage(Some(&everything), ApiKeyKind::Client, &[]).is_ok());
        assert!(may_grant_key(Some(&everything), ApiKeyKind::Client, &[]).is_ok());
        assert!(may_grant_key(Some(&everything), secret, &[]).is_err(), "never full access");
    }

    #[test]
    fn key_status_and_roll_expiry() {
        let now = Utc::now();
        assert_eq!(KeyStatus::at(None, None, now), KeyStatus::Active);
        assert_eq!(KeyStatus::at(None, Some(now + TimeDelta::seconds(1)), now), KeyStatus::Expiring);
        assert_eq!(KeyStatus::at(None, Some(now), now), KeyStatus::Expired);
        assert_eq!(KeyStatus::at(Some(now), None, now), KeyStatus::Revoked);
        assert_eq!(rolled_expiry(None, now, 60).unwrap(), now + TimeDelta::seconds(60));
        assert_eq!(rolled_expiry(Some(now), now, 60).unwrap(), now, "an earlier expiry stays");
        assert!(rolled_expiry(None, now, MAX_GRACE_SECONDS + 1).is_err());
    }

    fn record(kind: ApiKeyKind, now: DateTime<Utc>) -> ApiKey {
        let issued = IssuedKey::generate(KeyClass { livemode: false, kind }).unwrap();
        ApiKey::issued(&issued, "Server".to_owned(), Vec::new(), Attrs::default(), now)
    }

    #[test]
    fn a_patch_changes_what_it_names_and_client_keys_take_no_permissions() {
        let now = Utc::now();
        let later = now + TimeDelta::seconds(5);
        let secret = record(ApiKeyKind::Secret, now);
        let patch = KeyPatch {
            name: Some("Reporting".to_owned()),
            permissions: Some(vec![p(Verb::Get, "/transactions")]),
            attrs: None,
        };
        let changed = secret.apply(&patch, later).unwrap();
        assert_eq!(
            (changed.name.as_str(), changed.permissions.clone()),
            ("Reporting", vec![p(Verb::Get, "/transactions")])
        );
        assert_eq!((changed.id, changed.created_at, changed.modified_at), (secret.id, now, later));
        let renamed =
            secret.apply(&KeyPatch { name: Some("Other".to_owned()), ..KeyPatch::default() }, later).unwrap();
        assert_eq!(renamed.permissions, secret.permissions);
        let client = record(ApiKeyKind::Client, now);
        assert_eq!(
            client.apply(&patch, later).unwrap_err(),
            (
                "permissions",
                "Client keys are restricted by their kind; permissions apply to secret keys".to_owned()
            )
        );
        let cleared = KeyPatch { permissions: Some(Vec::new()), ..KeyPatch::default() };
        assert!(client.apply(&cleared, later).is_ok());
    }

    #[test]
    fn a_key_is_revoked_once_and_never_by_itself() {
        let now = Utc::now();
        let key = record(ApiKeyKind::Secret, now);
        let later = now + TimeDelta::seconds(5);
        let revoked = key.revoked(later).unwrap();
        assert_eq!((revoked.revoked_at, revoked.modified_at), (Some(later), later));
        assert_eq!(revoked.status(later), KeyStatus::Revoked);
        assert_eq!(revoked.revoked(later).unwrap_err(), "The key is already revoked");
        assert_eq!(
            may_revoke(key.id, key.id).unwrap_err(),
            "A key cannot revoke itself; use another key, or roll this one"
        );
        assert!(may_revoke(uuid::Uuid::now_v7(), key.id).is_ok());
    }

    #[test]
    fn only_a_working_key_is_rolled_and_only_once() {
        let now = Utc::now();
        let key = record(ApiKeyKind::Secret, now);
        assert_eq!(key.may_roll(now), Ok(()));
        let replacement = uuid::Uuid::now_v7();
        let expiry = now + TimeDelta::seconds(60);
        let rolled = key.rolled(replacement, expiry, now);
        assert_eq!(
            (rolled.expires_at, rolled.rolled_to_id, rolled.modified_at),
            (Some(expiry), Some(replacement), now)
        );
        assert_eq!(rolled.status(now), KeyStatus::Expiring);
        assert_eq!(
            rolled.may_roll(now).unwrap_err(),
            "The key was already rolled; roll its replacement instead"
        );
        assert_eq!(rolled.may_roll(expiry).unwrap_err(), "Only a working key can be rolled");
        assert_eq!(key.revoked(now).unwrap().may_roll(now).unwrap_err(), "Only a working key can be rolled");
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

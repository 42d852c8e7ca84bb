//! Access tokens: one-time session tokens for hosted pay pages, and
//! merchant tokens (JWTs) for merchant portals.
//!
//! Session tokens are `session_access_` followed by 32 random base62
//! characters; only their SHA-256 is stored, like API keys.
//!
//! Merchant tokens are compact JWS with HS256 — a deliberately small,
//! closed implementation rather than a general JWT library: the header
//! must say exactly `{"alg":"HS256"}` (no `none`, no algorithm chosen by
//! the token), the signature is compared in constant time by `hmac`, and
//! the claims must name paymesh as issuer and be unexpired. Tokens live one
//! hour, as merchant portals expect (the connectFi merchant JWT).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit as _, Mac as _};
use paymesh_kit::{crypto::random_base62, values::Attrs};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use super::account::AccountType;

/// An access token's record (never the token).
#[derive(Clone, Debug, PartialEq)]
pub struct AccessToken {
    /// Its id (a merchant token's `jti`).
    pub id: Uuid,
    /// Live or test mode.
    pub livemode: bool,
    /// What it is for.
    pub kind: TokenType,
    /// The account it is bound to.
    pub account_id: Uuid,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// When a session token was redeemed.
    pub redeemed_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The API key that issued it.
    pub issued_by: Uuid,
    /// Custom attributes.
    pub attrs: Attrs,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub modified_at: DateTime<Utc>,
}

impl AccessToken {
    /// The record of a token of `kind` for `account_id`, issued at `now`
    /// by the key `issued_by`: a session token lives `session_ttl`, a
    /// merchant token [`MERCHANT_TOKEN_TTL`].
    pub fn issue(
        kind: TokenType,
        account_id: Uuid,
        livemode: bool,
        issued_by: Uuid,
        attrs: Attrs,
        now: DateTime<Utc>,
        session_ttl: TimeDelta,
    ) -> Self {
        let ttl = match kind {
            TokenType::SessionAccess => session_ttl,
            TokenType::Merchant => MERCHANT_TOKEN_TTL,
        };
        Self {
            id: Uuid::now_v7(),
            livemode,
            kind,
            account_id,
            expires_at: now + ttl,
            redeemed_at: None,
            revoked_at: None,
            issued_by,
            attrs,
            created_at: now,
            modified_at: now,
        }
    }

    /// Where the token stands at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> TokenStatus {
        TokenStatus::at(self.revoked_at, self.redeemed_at, self.expires_at, now)
    }

    /// The token revoked at `now`; refused when it cannot be used anyway
    /// (the error says why).
    pub fn revoked(&self, now: DateTime<Utc>) -> Result<Self, String> {
        if let Some(refusal) = self.status(now).refusal() {
            return Err(format!("The token cannot be revoked: {refusal}"));
        }
        Ok(Self { revoked_at: Some(now), modified_at: now, ..self.clone() })
    }

    /// The session token redeemed at `now`, the one time it can be; the
    /// error says why not, in words for its holder.
    pub fn redeemed(&self, now: DateTime<Utc>) -> Result<Self, &'static str> {
        if let Some(refusal) = self.status(now).refusal() {
            return Err(refusal);
        }
        Ok(Self { redeemed_at: Some(now), modified_at: now, ..self.clone() })
    }
}

/// The prefix of every session token.
pub const SESSION_PREFIX: &str = "session_access_";
/// How long a merchant token lives.
pub const MERCHANT_TOKEN_TTL: TimeDelta = TimeDelta::hours(1);
/// The issuer every merchant token names.
pub const ISSUER: &str = "paymesh";
/// The smallest merchant-token signing secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// What an access token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// One hosted pay page for one customer.
    SessionAccess,
    /// A merchant portal for one processing account.
    Merchant,
}

/// Every token type, as stored.
pub const TOKEN_TYPES: &[&str] = &["session_access", "merchant"];

impl TokenType {
    /// The stored and REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionAccess => "session_access",
            Self::Merchant => "merchant",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "session_access" => Some(Self::SessionAccess),
            "merchant" => Some(Self::Merchant),
            _ => None,
        }
    }

    /// The type of account a token of this type opens, and what is said
    /// when the account named is not one (of the partner and mode).
    pub fn account(self) -> (AccountType, &'static str) {
        match self {
            Self::SessionAccess => {
                (AccountType::Customer, "No such customer: session tokens open a customer's pay page")
            }
            Self::Merchant => (
                AccountType::Processing,
                "No such processing account: merchant tokens open a merchant's portal",
            ),
        }
    }
}

/// Where a token stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenStatus {
    /// Usable.
    Active,
    /// A session token that has been used.
    Redeemed,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
}

/// Every token status, as REST spells it.
pub const TOKEN_STATUSES: &[&str] = &["active", "redeemed", "expired", "revoked"];

impl TokenStatus {
    /// The status of a token with these dates at `now`.
    pub fn at(
        revoked_at: Option<DateTime<Utc>>,
        redeemed_at: Option<DateTime<Utc>>,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        if revoked_at.is_some() {
            Self::Revoked
        } else if redeemed_at.is_some() {
            Self::Redeemed
        } else if expires_at <= now {
            Self::Expired
        } else {
            Self::Active
        }
    }

    /// The REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Redeemed => "redeemed",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// Why a token of this status cannot be used, in words for its holder.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Self::Active => None,
            Self::Redeemed => Some("This session token has already been used; issue a new one"),
            Self::Expired => Some("This token has expired; issue a new one"),
            Self::Revoked => Some("This token has been revoked"),
        }
    }
}

/// A new session token, the only time its text exists.
pub fn new_session_token() -> Result<String, getrandom::Error> {
    Ok(format!("{SESSION_PREFIX}{}", random_base62(32)?))
}

/// Whether `token` has the shape of a session token (before any lookup).
pub fn looks_like_session_token(token: &str) -> bool {
    token
        .strip_prefix(SESSION_PREFIX)
        .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Whether a credential looks like a JWT (three base64url parts).
pub fn looks_like_jwt(credential: &str) -> bool {
    credential.starts_with("eyJ") && credential.split('.').count() == 3
}

// === Merchant tokens ===

/// The claims of a merchant token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantClaims {
    /// Always "paymesh".
    pub iss: String,
    /// The processing account.
    pub sub: Uuid,
    /// The partner.
    pub pid: Uuid,
    /// Live (true) or test (false) mode.
    pub live: bool,
    /// The token's id (its access token record).
    pub jti: Uuid,
    /// Issued at, in seconds since the epoch.
    pub iat: i64,
    /// Expires at, in seconds since the epoch.
    pub exp: i64,
}

impl MerchantClaims {
    /// The claims of a token for `account` issued at `now`, valid one hour.
    pub fn new(jti: Uuid, account: Uuid, partner: Uuid, live: bool, now: DateTime<Utc>) -> Self {
        Self {
            iss: ISSUER.to_owned(),
            sub: account,
            pid: partner,
            live,
            jti,
            iat: now.timestamp(),
            exp: (now + MERCHANT_TOKEN_TTL).timestamp(),
        }
    }
}

/// Why a merchant token was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not a JWT, or not one of ours.
    #[error("Malformed token")]
    Malformed,
    /// The header asks for another algorithm than HS256.
    #[error("Unsupported token algorithm: only HS256 is accepted")]
    Algorithm,
    /// The signature does not verify: forged or altered.
    #[error("Invalid token signature")]
    Signature,
    /// Past its expiry.
    #[error("This token has expired; issue a new one")]
    Expired,
    /// Issued by someone else.
    #[error("This token was not issued by paymesh")]
    Issuer,
    /// Issued later than now (beyond a minute of clock skew).
    #[error("This token was issued in the future; check the issuing clock")]
    IssuedInFuture,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

/// Signs and verifies merchant tokens with one secret.
#[derive(Clone)]
pub struct MerchantSigner {
    secret: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for MerchantSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MerchantSigner([redacted])")
    }
}

impl MerchantSigner {
    /// A signer with `secret` (at least 32 bytes).
    pub fn new(secret: Vec<u8>) -> Result<Self, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!("the signing secret must be at least {MIN_SECRET_BYTES} bytes"));
        }
        Ok(Self { secret: zeroize::Zeroizing::new(secret) })
    }

    /// A signer with a random secret: tokens do not outlive the process.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut secret = vec![0u8; 32];
        getrandom::fill(&mut secret)?;
        Ok(Self { secret: zeroize::Zeroizing::new(secret) })
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length; this cannot fail.
        #[allow(clippy::expect_used)]
        Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC accepts any key length")
    }

    /// The compact JWS of `claims`.
    pub fn sign(&self, claims: &MerchantClaims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The claims of `token` if it is ours, untampered and unexpired at
    /// `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<MerchantClaims, JwtError> {
        let (signing_input, signature) = token.rsplit_once('.').ok_or(JwtError::Malformed)?;
        let (header, payload) = signing_input.split_once('.').ok_or(JwtError::Malformed)?;
        if payload.contains('.') {
            return Err(JwtError::Malformed);
        }
        let header: Header = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(JwtError::Malformed)?;
        if header.alg != "HS256" {
            return Err(JwtError::Algorithm);
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| JwtError::Malformed)?;
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&signature).map_err(|_| JwtError::Signature)?;
        let claims: MerchantClaims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(JwtError::Malformed)?;
        // A minute of clock skew is tolerated for the issue time.
        if claims.iss != ISSUER {
            return Err(JwtError::Issuer);
        }
        if claims.iat > now.timestamp() + 60 {
            return Err(JwtError::IssuedInFuture);
        }
        if claims.exp <= now.timestamp() {
            return Err(JwtError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> MerchantSigner {
        MerchantSigner::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap()
    }

    fn claims(now: DateTime<Utc>) -> MerchantClaims {
        MerchantClaims::new(Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), false, now)
    }

    #[test]
    fn a_merchant_token_verifies_until_it_expires_an_hour_later() {
        let now = Utc::now();
        let claims = claims(now);
        let token = signer().sign(&claims);
        assert!(looks_like_jwt(&token));
        assert_eq!(signer().verify(&token, now).unwrap(), claims);
        assert!(signer().verify(&token, now + TimeDelta::minutes(59)).is_ok());
        assert_eq!(signer().verify(&token, now + TimeDelta::hours(1)), Err(JwtError::Expired));
    }

    #[test]
    fn forged_altered_and_foreign_tokens_are_refused() {
        let now = Utc::now();
        let token = signer().sign(&claims(now));
        let other = MerchantSigner::new(vec![7; 32]).unwrap();
        assert_eq!(other.verify(&token, now), Err(JwtError::Signature));

        // Another account in the payload, the signature kept.
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged_claims = claims(now);
        forged_claims.sub = Uuid::now_v7();
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged_claims).unwrap());
        let altered = format!("{}.{payload}.{}", parts[0], parts[2]);
        assert_eq!(signer().verify(&altered, now), Err(JwtError::Signature));

        // alg=none with no signature, and alg=HS512.
        let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        assert_eq!(signer().verify(&format!("{none}.{}.", parts[1]), now), Err(JwtError::Algorithm));
        let hs512 = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512"}"#);
        assert_eq!(
            signer().verify(&format!("{hs512}.{}.{}", parts[1], parts[2]), now),
            Err(JwtError::Algorithm)
        );

        for junk in ["", "a.b", "a.b.c.d", "eyJ.eyJ.x", "!!!.!!!.!!!"] {
            assert_eq!(signer().verify(junk, now), Err(JwtError::Malformed), "{junk}");
        }
    }

    #[test]
    fn a_token_from_another_issuer_or_the_future_is_refused() {
        let now = Utc::now();
        let mut foreign = claims(now);
        foreign.iss = "someone-else".to_owned();
        assert_eq!(signer().verify(&signer().sign(&foreign), now), Err(JwtError::Issuer));
        let future = claims(now + TimeDelta::minutes(10));
        assert_eq!(signer().verify(&signer().sign(&future), now), Err(JwtError::IssuedInFuture));
    }

    #[test]
    fn session_tokens_have_their_shape_and_statuses_explain_refusals() {
        let token = new_session_token().unwrap();
        assert!(looks_like_session_token(&token));
        assert!(!looks_like_session_token("session_access_short"));
        let now = Utc::now();
        let later = now + TimeDelta::minutes(15);
        assert_eq!(TokenStatus::at(None, None, later, now), TokenStatus::Active);
        assert_eq!(TokenStatus::at(None, Some(now), later, now), TokenStatus::Redeemed);
        assert_eq!(TokenStatus::at(None, None, now, now), TokenStatus::Expired);
        assert_eq!(TokenStatus::at(Some(now), Some(now), later, now), TokenStatus::Revoked);
        assert!(TokenStatus::Redeemed.refusal().unwrap().contains("already been used"));
        assert!(MerchantSigner::new(vec![1; 16]).is_err());
    }

    fn issued(kind: TokenType, now: DateTime<Utc>) -> AccessToken {
        AccessToken::issue(
            kind,
            Uuid::now_v7(),
            false,
            Uuid::now_v7(),
            Attrs::default(),
            now,
            TimeDelta::minutes(15),
        )
    }

    #[test]
    fn tokens_live_as_long_as_their_type_says_and_open_their_kind_of_account() {
        let now = Utc::now();
        let session = issued(TokenType::SessionAccess, now);
        assert_eq!(
            (session.expires_at, session.created_at, session.modified_at),
            (now + TimeDelta::minutes(15), now, now)
        );
        assert_eq!(session.status(now), TokenStatus::Active);
        assert_eq!(issued(TokenType::Merchant, now).expires_at, now + MERCHANT_TOKEN_TTL);
        assert_eq!(TokenType::SessionAccess.account().0, AccountType::Customer);
        assert_eq!(TokenType::Merchant.account().0, AccountType::Processing);
        assert!(TokenType::Merchant.account().1.starts_with("No such processing account"));
    }

    #[test]
    fn a_session_token_is_redeemed_once_and_a_token_revoked_while_it_works() {
        let now = Utc::now();
        let later = now + TimeDelta::minutes(1);
        let token = issued(TokenType::SessionAccess, now);
        let redeemed = token.redeemed(later).unwrap();
        assert_eq!((redeemed.redeemed_at, redeemed.modified_at), (Some(later), later));
        assert_eq!(redeemed.redeemed(later).unwrap_err(), TokenStatus::Redeemed.refusal().unwrap());
        assert_eq!(
            redeemed.revoked(later).unwrap_err(),
            "The token cannot be revoked: This session token has already been used; issue a new one"
        );
        let revoked = token.revoked(later).unwrap();
        assert_eq!((revoked.revoked_at, revoked.modified_at), (Some(later), later));
        assert_eq!(revoked.redeemed(later).unwrap_err(), "This token has been revoked");
        let expired = now + TimeDelta::minutes(15);
        assert_eq!(token.redeemed(expired).unwrap_err(), "This token has expired; issue a new one");
        assert!(token.revoked(expired).is_err());
    }
}

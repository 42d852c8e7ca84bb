//! Who is calling: API keys in, principals out.
//!
//! A partner's API key travels the same way over REST and gRPC: as the user
//! name of HTTP Basic auth (`curl -u KEY:`) or as `Bearer KEY`, in the
//! `authorization` header (gRPC metadata is HTTP/2 headers). Every service
//! resolves it to a [`Principal`] through an [`Authenticator`] — identity
//! looks in its own tables, everyone else asks identity over gRPC
//! ([`RemoteAuthenticator`]) — behind a short, bounded cache
//! ([`CachedAuthenticator`]). A caller's cache can sit in front of identity's
//! own (the gateway's does), so a revoked key stops working everywhere
//! within twice the cache TTL.
//!
//! [`AuthLayer`] is the tower layer every gRPC server runs: it rejects calls
//! without a valid key (health checks and reflection excepted) and hands the
//! principal to handlers through the request extensions ([`principal`]).
//! Every query a handler runs is then scoped by [`Principal::scope`].

use std::{
    collections::HashMap,
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use base64::Engine as _;
use paymesh_proto::identity::v1 as pb;
use sha2::{Digest, Sha256};
use tonic::Status;
use uuid::Uuid;

use crate::{config::AuthConfig, error::Error, grpc::Channel};

/// A boxed future, for object-safe async traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

// === Principal ===

/// What an API key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Server-side key with full access to its partner and mode.
    Secret,
    /// Browser-safe key: tokenize payment methods and pay hosted pages only.
    Client,
}

/// The partner and mode a request acts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The tenant.
    pub partner_id: Uuid,
    /// Live (true) or test (false) data.
    pub livemode: bool,
}

/// The identity behind a verified API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The tenant that owns the key.
    pub partner_id: Uuid,
    /// Live or test mode.
    pub livemode: bool,
    /// What the key may do.
    pub key_kind: KeyKind,
    /// The key's id, for audit trails.
    pub key_id: Uuid,
}

impl Principal {
    /// The (partner, mode) pair every query of this caller is limited to.
    pub fn scope(&self) -> Scope {
        Scope { partner_id: self.partner_id, livemode: self.livemode }
    }

    /// Fails unless the caller holds a secret key: client keys may only
    /// tokenize payment methods and pay through hosted pages.
    pub fn require_secret_key(&self) -> Result<(), Error> {
        match self.key_kind {
            KeyKind::Secret => Ok(()),
            KeyKind::Client => Err(Error::Forbidden(
                "Client keys may only tokenize payment methods and pay through hosted pages; \
                 use a secret key"
                    .to_owned(),
            )),
        }
    }
}

impl From<Principal> for pb::Principal {
    fn from(p: Principal) -> Self {
        Self {
            partner_id: p.partner_id.to_string(),
            livemode: p.livemode,
            key_kind: match p.key_kind {
                KeyKind::Secret => pb::KeyKind::Secret,
                KeyKind::Client => pb::KeyKind::Client,
            } as i32,
            key_id: p.key_id.to_string(),
        }
    }
}

impl TryFrom<pb::Principal> for Principal {
    type Error = anyhow::Error;

    fn try_from(p: pb::Principal) -> Result<Self, Self::Error> {
        let pb::Principal { partner_id, livemode, key_kind, key_id } = p;
        let key_kind = match pb::KeyKind::try_from(key_kind) {
            Ok(pb::KeyKind::Secret) => KeyKind::Secret,
            Ok(pb::KeyKind::Client) => KeyKind::Client,
            Ok(pb::KeyKind::Unspecified) | Err(_) => anyhow::bail!("principal without key kind"),
        };
        Ok(Self { partner_id: partner_id.parse()?, livemode, key_kind, key_id: key_id.parse()? })
    }
}

/// The principal the auth layer attached to a request.
pub fn principal<T>(request: &tonic::Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .copied()
        .ok_or_else(|| Status::from(Error::Unauthorized("No API key was presented".to_owned())))
}

// === Credentials ===

/// Why a credential was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `authorization` header at all.
    #[error("No API key: send it as the Basic auth user name or as a Bearer token")]
    Missing,
    /// A header that is neither Basic nor Bearer, or undecodable.
    #[error("Malformed authorization header: use `Basic base64(KEY:)` or `Bearer KEY`")]
    Malformed,
    /// Unknown, revoked or expired key.
    #[error("Invalid or revoked API key")]
    Invalid,
    /// Identity could not be asked.
    #[error("Authentication is unavailable: {0}")]
    Unavailable(String),
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unavailable(_) => Error::Unavailable {
                reason: "authentication is unavailable".to_owned(),
                retry_after: Some(Duration::from_secs(1)),
            },
            AuthError::Missing | AuthError::Malformed | AuthError::Invalid => {
                Error::Unauthorized(e.to_string())
            }
        }
    }
}

/// An API key as presented; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// The key text, for hashing or forwarding.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The `authorization` value that forwards this key to another service.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// Extracts the API key from an `authorization` header value: the user name
/// of `Basic` auth (the password is ignored and usually empty) or a `Bearer`
/// token. Schemes are case-insensitive.
pub fn parse_authorization(value: &str) -> Result<ApiKey, AuthError> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').ok_or(AuthError::Malformed)?;
    let key = if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim().to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .map_err(|_| AuthError::Malformed)?;
        let decoded = String::from_utf8(decoded).map_err(|_| AuthError::Malformed)?;
        let user = decoded.split_once(':').map_or(decoded.as_str(), |(user, _)| user);
        user.to_owned()
    } else {
        return Err(AuthError::Malformed);
    };
    if key.is_empty() || key.len() > 256 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthError::Malformed);
    }
    Ok(ApiKey(key))
}

/// Reads the API key from request headers.
pub fn key_from_headers(headers: &http::HeaderMap) -> Result<ApiKey, AuthError> {
    let value = headers.get(http::header::AUTHORIZATION).ok_or(AuthError::Missing)?;
    parse_authorization(value.to_str().map_err(|_| AuthError::Malformed)?)
}

// === Authenticators ===

/// Resolves API keys to principals.
pub trait Authenticator: Send + Sync + 'static {
    /// The principal behind `key`, or why there is none.
    fn authenticate<'a>(&'a self, key: &'a ApiKey) -> BoxFuture<'a, Result<Principal, AuthError>>;
}

/// Asks the identity service, forwarding the key as the call's credential.
#[derive(Clone, Debug)]
pub struct RemoteAuthenticator {
    client: pb::auth_service_client::AuthServiceClient<Channel>,
}

impl RemoteAuthenticator {
    /// An authenticator that calls identity over `channel`.
    pub fn new(channel: Channel) -> Self {
        Self { client: pb::auth_service_client::AuthServiceClient::new(channel) }
    }
}

impl Authenticator for RemoteAuthenticator {
    fn authenticate<'a>(&'a self, key: &'a ApiKey) -> BoxFuture<'a, Result<Principal, AuthError>> {
        Box::pin(async move {
            let mut request = tonic::Request::new(pb::AuthenticateRequest {});
            let value = key.bearer().parse().map_err(|_| AuthError::Malformed)?;
            request.metadata_mut().insert("authorization", value);
            let response =
                self.client.clone().authenticate(request).await.map_err(|status| match status.code() {
                    tonic::Code::Unauthenticated => AuthError::Invalid,
                    _ => AuthError::Unavailable(status.message().to_owned()),
                })?;
            let principal = response
                .into_inner()
                .principal
                .ok_or_else(|| AuthError::Unavailable("identity sent no principal".to_owned()))?;
            Principal::try_from(principal).map_err(|e| AuthError::Unavailable(e.to_string()))
        })
    }
}

/// A bounded, short-lived cache in front of another authenticator.
///
/// Entries are keyed by the SHA-256 of the key (the key itself is not kept)
/// and trusted for `ttl`; refusals are not cached, so a new key works at
/// once. When full, expired entries are dropped first, then the oldest half.
pub struct CachedAuthenticator<A> {
    inner: A,
    ttl: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
}

impl<A> fmt::Debug for CachedAuthenticator<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedAuthenticator")
            .field("ttl", &self.ttl)
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}

impl<A: Authenticator> CachedAuthenticator<A> {
    /// Caches `inner` as configured.
    pub fn new(inner: A, config: AuthConfig) -> Self {
        Self {
            inner,
            ttl: config.cache_ttl,
            max_entries: config.cache_max_entries.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lookup(&self, digest: &[u8; 32]) -> Option<Principal> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.get(digest).filter(|(_, at)| at.elapsed() < self.ttl).map(|(principal, _)| *principal)
    }

    fn store(&self, digest: [u8; 32], principal: Principal) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= self.max_entries {
            entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
        }
        if entries.len() >= self.max_entries {
            let mut ages: Vec<_> = entries.values().map(|(_, at)| *at).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            entries.retain(|_, (_, at)| *at > cutoff);
        }
        entries.insert(digest, (principal, Instant::now()));
    }
}

impl<A: Authenticator> Authenticator for CachedAuthenticator<A> {
    fn authenticate<'a>(&'a self, key: &'a ApiKey) -> BoxFuture<'a, Result<Principal, AuthError>> {
        Box::pin(async move {
            let digest: [u8; 32] = Sha256::digest(key.expose().as_bytes()).into();
            if let Some(principal) = self.lookup(&digest) {
                return Ok(principal);
            }
            let principal = self.inner.authenticate(key).await?;
            if !self.ttl.is_zero() {
                self.store(digest, principal);
            }
            Ok(principal)
        })
    }
}

// === AuthLayer ===

/// gRPC paths that need no credential: health checks and reflection, so
/// probes and `grpcurl list` work without a key.
const PUBLIC_PATH_PREFIXES: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Tower layer that authenticates every gRPC call and attaches its
/// [`Principal`] to the request extensions.
#[derive(Clone)]
pub struct AuthLayer {
    authenticator: Arc<dyn Authenticator>,
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer").finish_non_exhaustive()
    }
}

impl AuthLayer {
    /// Authenticates with `authenticator`.
    pub fn new(authenticator: Arc<dyn Authenticator>) -> Self {
        Self { authenticator }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, authenticator: self.authenticator.clone() }
    }
}

/// The service [`AuthLayer`] produces.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    authenticator: Arc<dyn Authenticator>,
}

impl<S> fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService").finish_non_exhaustive()
    }
}

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The readied service handles this call; a fresh clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authenticator = self.authenticator.clone();
        Box::pin(async move {
            let path = request.uri().path();
            if PUBLIC_PATH_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
                return inner.call(request).await;
            }
            let outcome = match key_from_headers(request.headers()) {
                Ok(key) => authenticator.authenticate(&key).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(principal) => {
                    tracing::Span::current()
                        .record("partner_id", tracing::field::display(principal.partner_id));
                    request.extensions_mut().insert(principal);
                    inner.call(request).await
                }
                Err(refusal) => Ok(Status::from(Error::from(refusal)).into_http()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn basic(user_pass: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_pass))
    }

    #[test]
    fn basic_auth_user_name_is_the_key() {
        let key = parse_authorization(&basic("test_secret_key_abc:")).unwrap();
        assert_eq!(key.expose(), "test_secret_key_abc");
        let key = parse_authorization(&basic("test_secret_key_abc")).unwrap();
        assert_eq!(key.expose(), "test_secret_key_abc");
    }

    #[test]
    fn bearer_token_is_the_key_and_schemes_ignore_case() {
        assert_eq!(parse_authorization("Bearer secret_key_x").unwrap().expose(), "secret_key_x");
        assert_eq!(parse_authorization("bearer secret_key_x").unwrap().expose(), "secret_key_x");
    }

    #[test]
    fn malformed_headers_are_refused() {
        for value in ["", "Bearer", "Bearer ", "Token abc", "Basic !!!", &basic(":pw")] {
            assert_eq!(parse_authorization(value), Err(AuthError::Malformed), "{value:?}");
        }
    }

    #[test]
    fn keys_never_print() {
        let key = parse_authorization("Bearer test_secret_key_hidden").unwrap();
        assert!(!format!("{key:?}").contains("hidden"));
    }

    struct Counting {
        calls: AtomicUsize,
        principal: Principal,
    }

    impl Authenticator for Counting {
        fn authenticate<'a>(&'a self, key: &'a ApiKey) -> BoxFuture<'a, Result<Principal, AuthError>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let outcome = if key.expose() == "good" { Ok(self.principal) } else { Err(AuthError::Invalid) };
            Box::pin(async move { outcome })
        }
    }

    fn principal() -> Principal {
        Principal {
            partner_id: Uuid::now_v7(),
            livemode: false,
            key_kind: KeyKind::Secret,
            key_id: Uuid::now_v7(),
        }
    }

    fn cached(ttl: Duration, max_entries: usize) -> CachedAuthenticator<Counting> {
        CachedAuthenticator::new(
            Counting { calls: AtomicUsize::new(0), principal: principal() },
            AuthConfig { cache_ttl: ttl, cache_max_entries: max_entries },
        )
    }

    #[tokio::test]
    async fn a_cached_key_is_resolved_once_within_the_ttl() {
        let auth = cached(Duration::from_secs(60), 10);
        let key = ApiKey("good".to_owned());
        for _ in 0..3 {
            auth.authenticate(&key).await.unwrap();
        }
        assert_eq!(auth.inner.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refusals_are_not_cached_and_expiry_forces_a_new_lookup() {
        let auth = cached(Duration::from_millis(20), 10);
        let bad = ApiKey("bad".to_owned());
        assert_eq!(auth.authenticate(&bad).await, Err(AuthError::Invalid));
        assert_eq!(auth.authenticate(&bad).await, Err(AuthError::Invalid));
        assert_eq!(auth.inner.calls.load(Ordering::SeqCst), 2);

        let good = ApiKey("good".to_owned());
        auth.authenticate(&good).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        auth.authenticate(&good).await.unwrap();
        assert_eq!(auth.inner.calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_bound() {
        let auth = cached(Duration::from_secs(60), 4);
        for i in 0..20 {
            auth.store([i; 32], principal());
        }
        assert!(auth.entries.lock().unwrap().len() <= 4);
    }

    #[test]
    fn client_keys_cannot_use_secret_endpoints() {
        let mut p = principal();
        assert!(p.require_secret_key().is_ok());
        p.key_kind = KeyKind::Client;
        assert!(matches!(p.require_secret_key(), Err(Error::Forbidden(_))));
    }
}

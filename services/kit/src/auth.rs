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
//!
//! Services calling each other present service tokens instead of keys
//! ([`ServiceKeys`]): verified locally, they act for the partner and mode
//! named in the `x-paymesh-scope` header.

pub use crate::service_keys::{MIN_SERVICE_SECRET_BYTES, ServiceKeys, ServiceToken, is_service_token};

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use paymesh_proto::identity::v1 as pb;
use sha2::{Digest, Sha256};
use tonic::Status;
use uuid::Uuid;

use crate::{channel::Channel, clock::Clock, config::AuthConfig, error::Error, future::BoxFuture};

// === Principal ===

/// What a credential may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Server-side key with full access to its partner and mode.
    Secret,
    /// Browser-safe key: tokenize payment methods and pay hosted pages only.
    Client,
    /// A merchant token: read access to one processing account.
    Merchant,
    /// A paymesh service acting for a partner (internal calls only).
    Service,
}

impl KeyKind {
    /// The word audits and logs use: `secret`, `client`, `merchant`,
    /// `service`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Secret => "secret",
            Self::Client => "client",
            Self::Merchant => "merchant",
            Self::Service => "service",
        }
    }
}

/// The partner and mode a request acts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The tenant.
    pub partner_id: Uuid,
    /// Live (true) or test (false) data.
    pub livemode: bool,
}

/// The HTTP method a permission allows (gRPC methods map onto these by
/// their names, see [`verb_of_rpc`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verb {
    /// Read.
    Get,
    /// Create, or act.
    Post,
    /// Change.
    Put,
    /// Remove.
    Delete,
    /// Every method (`*`).
    Any,
}

impl Verb {
    /// The REST spelling: `GET`, …, `*`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Any => "*",
        }
    }

    /// Parses the REST spelling (upper case, or `*`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "GET" => Some(Self::Get),
            "POST" => Some(Self::Post),
            "PUT" => Some(Self::Put),
            "DELETE" => Some(Self::Delete),
            "*" => Some(Self::Any),
            _ => None,
        }
    }
}

/// One request a restricted key may make: a method on a resource path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Permission {
    /// The method, or [`Verb::Any`].
    pub verb: Verb,
    /// A resource path such as `/transactions`, or `*` for every resource.
    pub resource: String,
}

impl Permission {
    /// Whether this permission allows `verb` on `path` (a REST path such as
    /// `/transactions/0192…`, or a resource such as `/transactions`). A
    /// permission to change a resource (POST, PUT, DELETE) also allows
    /// reading it: a write needs to find what it writes.
    pub fn allows(&self, verb: Verb, path: &str) -> bool {
        let verb_ok = self.verb == Verb::Any || self.verb == verb || verb == Verb::Get;
        let path_ok = self.resource == "*"
            || path == self.resource
            || path.strip_prefix(self.resource.as_str()).is_some_and(|rest| rest.starts_with('/'));
        verb_ok && path_ok
    }

    /// Whether everything `other` allows, this allows too.
    pub fn covers(&self, other: &Permission) -> bool {
        self.allows(other.verb, &other.resource)
    }
}

/// The identity behind a verified credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The tenant that owns the credential.
    pub partner_id: Uuid,
    /// Live or test mode.
    pub livemode: bool,
    /// What the credential may do.
    pub key_kind: KeyKind,
    /// The credential's id (an API key or an access token), for audit trails.
    pub key_id: Uuid,
    /// The key's restrictions: `None` when it may do everything its kind
    /// allows, otherwise the only requests it may make.
    pub permissions: Option<Arc<[Permission]>>,
    /// Merchant tokens: the processing account they are bound to.
    pub account_id: Option<Uuid>,
    /// When the credential stops working; caches never trust it past this.
    pub expires_at: Option<DateTime<Utc>>,
    /// For a service principal: the calling service, e.g. `payments`.
    pub service: Option<Arc<str>>,
}

impl Principal {
    /// The (partner, mode) pair every query of this caller is limited to.
    pub fn scope(&self) -> Scope {
        Scope { partner_id: self.partner_id, livemode: self.livemode }
    }

    /// Fails unless the caller holds a secret key: client keys may only
    /// tokenize payment methods and pay through hosted pages, and merchant
    /// tokens may only read their processing account.
    pub fn require_secret_key(&self) -> Result<(), Error> {
        match self.key_kind {
            // Services act for partners with their full trust.
            KeyKind::Secret | KeyKind::Service => Ok(()),
            KeyKind::Client => Err(Error::Forbidden(
                "Client keys may only tokenize payment methods, authorize payments of a method given \
                 inline and pay through hosted pages; \
                 use a secret key"
                    .to_owned(),
            )),
            KeyKind::Merchant => Err(Error::Forbidden(
                "Merchant tokens may only read their own processing account; use a secret key".to_owned(),
            )),
        }
    }

    /// The processing account a merchant token acts for (`None` for a
    /// secret key or a paymesh service, which act for the whole partner);
    /// client keys are refused. For the calls a merchant portal makes:
    /// payment links, their files, the account's payments.
    pub fn merchant_account(&self) -> Result<Option<Uuid>, Error> {
        match (self.key_kind, self.account_id) {
            (KeyKind::Merchant, Some(account)) => Ok(Some(account)),
            _ => self.require_secret_key().map(|()| None),
        }
    }

    /// Fails unless the caller is the paymesh service `name` (internal RPCs
    /// that no partner key may call).
    pub fn require_service(&self, name: &str) -> Result<(), Error> {
        if self.key_kind == KeyKind::Service && self.service.as_deref() == Some(name) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!("Only the paymesh {name} service may make this call")))
        }
    }

    /// Whether the credential's permissions allow `verb` on `path`.
    pub fn permits(&self, verb: Verb, path: &str) -> bool {
        self.permissions.as_deref().is_none_or(|permissions| permissions.iter().any(|p| p.allows(verb, path)))
    }
}

impl From<Principal> for pb::Principal {
    fn from(p: Principal) -> Self {
        let Principal {
            partner_id,
            livemode,
            key_kind,
            key_id,
            permissions,
            account_id,
            expires_at,
            service,
        } = p;
        Self {
            partner_id: partner_id.to_string(),
            livemode,
            key_kind: match key_kind {
                KeyKind::Secret => pb::KeyKind::Secret,
                KeyKind::Client => pb::KeyKind::Client,
                KeyKind::Merchant => pb::KeyKind::Merchant,
                KeyKind::Service => pb::KeyKind::Service,
            } as i32,
            key_id: key_id.to_string(),
            permissions: permissions.iter().flat_map(|list| list.iter()).map(permission_to_proto).collect(),
            account_id: account_id.map(|id| id.to_string()),
            expire_time: expires_at.map(crate::json::timestamp),
            service: service.map(|s| s.to_string()),
        }
    }
}

impl TryFrom<pb::Principal> for Principal {
    type Error = anyhow::Error;

    fn try_from(p: pb::Principal) -> Result<Self, Self::Error> {
        let pb::Principal {
            partner_id,
            livemode,
            key_kind,
            key_id,
            permissions,
            account_id,
            expire_time,
            service,
        } = p;
        let key_kind = match pb::KeyKind::try_from(key_kind) {
            Ok(pb::KeyKind::Secret) => KeyKind::Secret,
            Ok(pb::KeyKind::Client) => KeyKind::Client,
            Ok(pb::KeyKind::Merchant) => KeyKind::Merchant,
            Ok(pb::KeyKind::Service) => KeyKind::Service,
            Ok(pb::KeyKind::Unspecified) | Err(_) => anyhow::bail!("principal without key kind"),
        };
        let permissions = if permissions.is_empty() {
            None
        } else {
            Some(permissions.into_iter().map(permission_from_proto).collect::<anyhow::Result<Arc<[_]>>>()?)
        };
        Ok(Self {
            partner_id: partner_id.parse()?,
            livemode,
            key_kind,
            key_id: key_id.parse()?,
            permissions,
            account_id: account_id.map(|id| id.parse()).transpose()?,
            expires_at: expire_time.map(crate::json::from_timestamp).transpose()?,
            service: service.map(Arc::from),
        })
    }
}

/// A permission as the wire carries it.
pub fn permission_to_proto(p: &Permission) -> pb::Permission {
    pb::Permission {
        method: match p.verb {
            Verb::Get => pb::PermissionMethod::Get,
            Verb::Post => pb::PermissionMethod::Post,
            Verb::Put => pb::PermissionMethod::Put,
            Verb::Delete => pb::PermissionMethod::Delete,
            Verb::Any => pb::PermissionMethod::Any,
        } as i32,
        resource: p.resource.clone(),
    }
}

/// A permission from the wire, as validated when it was stored.
pub fn permission_from_proto(p: pb::Permission) -> anyhow::Result<Permission> {
    let pb::Permission { method, resource } = p;
    let verb = verb_from_proto(method).ok_or_else(|| anyhow::anyhow!("permission without a method"))?;
    Ok(Permission { verb, resource })
}

/// A permission's method on the wire; `None` when unspecified or unknown.
pub fn verb_from_proto(method: i32) -> Option<Verb> {
    match pb::PermissionMethod::try_from(method) {
        Ok(pb::PermissionMethod::Get) => Some(Verb::Get),
        Ok(pb::PermissionMethod::Post) => Some(Verb::Post),
        Ok(pb::PermissionMethod::Put) => Some(Verb::Put),
        Ok(pb::PermissionMethod::Delete) => Some(Verb::Delete),
        Ok(pb::PermissionMethod::Any) => Some(Verb::Any),
        Ok(pb::PermissionMethod::Unspecified) | Err(_) => None,
    }
}

/// The method a gRPC call counts as for permissions, by the RPC's name:
/// `Get…`, `List…` and `Resolve…` read (GET); `Update…`,
/// `BatchUpdate…` and `Cancel…` change (PUT, as `PUT {"status":
/// "CANCELED"}` does); `Delete…`, `BatchDelete…` and `Revoke…`
/// remove (DELETE); everything else — `Create…` and actions such as
/// `Roll…` — is a POST, as its REST route is.
pub fn verb_of_rpc(method: &str) -> Verb {
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| method.starts_with(p));
    if starts(&["Get", "List", "Resolve"]) {
        Verb::Get
    } else if starts(&["Update", "BatchUpdate", "Cancel"]) {
        Verb::Put
    } else if starts(&["Delete", "BatchDelete", "Revoke"]) {
        Verb::Delete
    } else {
        Verb::Post
    }
}

/// The REST resources a gRPC service serves, so that a restricted key's
/// permissions (written as REST paths) apply to gRPC calls too. A call to a
/// service is allowed when a permission allows its verb on any of the
/// service's resources; handlers narrow further where one service serves
/// several resources (customers and processing accounts are both accounts).
#[derive(Clone, Copy, Debug)]
pub struct ServiceResources {
    /// The fully qualified service name, e.g. `paymesh.identity.v1.AccountService`.
    pub service: &'static str,
    /// Its REST resources, e.g. `["/accounts", "/customers"]`.
    pub resources: &'static [&'static str],
}

/// The principal the auth layer attached to a request.
pub fn principal<T>(request: &tonic::Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Status::from(Error::Unauthorized("No API key was presented".to_owned())))
}

/// The principal of a request that needs a secret key (or a service), and
/// the partner and mode it acts in.
pub fn secret<T>(request: &tonic::Request<T>) -> Result<(Principal, Scope), Status> {
    let principal = principal(request)?;
    principal.require_secret_key()?;
    let scope = principal.scope();
    Ok((principal, scope))
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
    /// A credential refused for a reason its holder should hear (an expired
    /// or forged merchant token).
    #[error("{0}")]
    Refused(String),
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
            AuthError::Missing | AuthError::Malformed | AuthError::Invalid | AuthError::Refused(_) => {
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

/// The longest credential accepted, in bytes.
pub const MAX_CREDENTIAL_LEN: usize = 2048;

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
    // API keys are ~50 characters; merchant tokens (JWTs) a few hundred.
    if key.is_empty() || key.len() > MAX_CREDENTIAL_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthError::Malformed);
    }
    Ok(ApiKey(key))
}

/// The header in which connectFi's merchant portals send the merchant
/// token, without a scheme.
pub const MERCHANT_TOKEN_HEADER: &str = "x-connectfi-jwtoken";

/// Reads the API key from request headers: `Authorization`, else a
/// merchant token in [`MERCHANT_TOKEN_HEADER`].
pub fn key_from_headers(headers: &http::HeaderMap) -> Result<ApiKey, AuthError> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        return parse_authorization(value.to_str().map_err(|_| AuthError::Malformed)?);
    }
    let token = headers.get(MERCHANT_TOKEN_HEADER).ok_or(AuthError::Missing)?;
    let token = token.to_str().map_err(|_| AuthError::Malformed)?.trim();
    parse_authorization(&format!("Bearer {token}"))
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
                    tonic::Code::Unauthenticated => AuthError::Refused(status.message().to_owned()),
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
/// and trusted for `ttl`, never past the credential's own expiry; refusals
/// are not cached, so a new key works at once. When full, expired entries
/// are dropped first, then the oldest half. [`CachedAuthenticator::evict`]
/// forgets a key at once (identity calls it when a key is revoked).
pub struct CachedAuthenticator<A> {
    inner: A,
    clock: Clock,
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
            clock: Clock::system(),
            ttl: config.cache_ttl,
            max_entries: config.cache_max_entries.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Judges credentials' expiry by `clock` (the one the authenticator
    /// behind the cache uses), not the system's.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn lookup(&self, digest: &[u8; 32]) -> Option<Principal> {
        let now = self.clock.now();
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(digest)
            .filter(|(principal, at)| {
                at.elapsed() < self.ttl && principal.expires_at.is_none_or(|expiry| now < expiry)
            })
            .map(|(principal, _)| principal.clone())
    }

    /// Forgets the key whose SHA-256 is `digest`, so its next use is checked
    /// afresh.
    pub fn evict(&self, digest: &[u8; 32]) {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(digest);
    }

    /// Forgets every credential bound to one of `accounts` (merchant tokens
    /// of a processing account deleted or deactivated). Scans the cache.
    pub fn evict_accounts(&self, accounts: &[Uuid]) {
        if accounts.is_empty() {
            return;
        }
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, (p, _)| p.account_id.is_none_or(|id| !accounts.contains(&id)));
    }

    /// Forgets every credential with this id (a revoked token, whose text
    /// the revoker never sees). Scans the cache: revocations are rare.
    pub fn evict_key_id(&self, key_id: Uuid) {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, (p, _)| p.key_id != key_id);
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
                self.store(digest, principal.clone());
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

/// Tower layer that authenticates every gRPC call, enforces a restricted
/// key's permissions (through the [`ServiceResources`] of the server), and
/// attaches the [`Principal`] to the request extensions.
#[derive(Clone)]
pub struct AuthLayer {
    authenticator: Arc<dyn Authenticator>,
    resources: &'static [ServiceResources],
    service_keys: ServiceKeys,
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer").finish_non_exhaustive()
    }
}

impl AuthLayer {
    /// Authenticates partners' credentials with `authenticator` and
    /// services' tokens with `service_keys`; `resources` says which REST
    /// resources each gRPC service of the server serves.
    pub fn new(
        authenticator: Arc<dyn Authenticator>,
        resources: &'static [ServiceResources],
        service_keys: ServiceKeys,
    ) -> Self {
        Self { authenticator, resources, service_keys }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            authenticator: self.authenticator.clone(),
            resources: self.resources,
            service_keys: self.service_keys.clone(),
        }
    }
}

/// The service [`AuthLayer`] produces.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    authenticator: Arc<dyn Authenticator>,
    resources: &'static [ServiceResources],
    service_keys: ServiceKeys,
}

/// The principal of a service token and the scope it names.
fn service_principal(
    keys: &ServiceKeys,
    key: &ApiKey,
    headers: &http::HeaderMap,
) -> Result<Principal, AuthError> {
    let scope =
        headers.get(SCOPE_HEADER).and_then(|v| v.to_str().ok()).and_then(parse_scope).ok_or_else(|| {
            AuthError::Refused(format!("A service call must name its partner and mode in {SCOPE_HEADER}"))
        })?;
    keys.principal(key.expose(), scope).ok_or(AuthError::Invalid)
}

/// Whether a restricted principal may call the gRPC method at `path`
/// (`/package.Service/Method`). Unrestricted principals may call anything
/// (handlers still check the key's kind); a restricted one needs a
/// permission for the method's verb on one of the service's resources, and
/// may call no service without declared resources.
pub fn permits_rpc(principal: &Principal, resources: &[ServiceResources], path: &str) -> Result<(), Error> {
    if principal.permissions.is_none() {
        return Ok(());
    }
    let Some((service, method)) = path.trim_start_matches('/').split_once('/') else {
        return Err(Error::Forbidden("This key's permissions do not allow this call".to_owned()));
    };
    // Authenticating oneself needs no permission.
    if service == "paymesh.identity.v1.AuthService" {
        return Ok(());
    }
    let verb = verb_of_rpc(method);
    let served =
        || resources.iter().filter(|r| r.service == service).flat_map(|r| r.resources.iter().copied());
    if served().any(|resource| principal.permits(verb, resource)) {
        return Ok(());
    }
    // Said in the terms the key was restricted in: methods and paths.
    let served: Vec<&str> = served().collect();
    let paths = if served.is_empty() { "this service".to_owned() } else { served.join(" or ") };
    Err(Error::Forbidden(format!("This key's permissions do not allow {} on {paths}", verb.as_str())))
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
        let resources = self.resources;
        let service_keys = self.service_keys.clone();
        Box::pin(async move {
            let path = request.uri().path();
            if PUBLIC_PATH_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
                return inner.call(request).await;
            }
            let outcome = match key_from_headers(request.headers()) {
                Ok(key) if is_service_token(key.expose()) => {
                    service_principal(&service_keys, &key, request.headers())
                }
                Ok(key) => authenticator.authenticate(&key).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(principal) => match permits_rpc(&principal, resources, request.uri().path()) {
                    Err(refusal) => Ok(Status::from(refusal).into_http()),
                    Ok(()) => {
                        tracing::Span::current()
                            .record("partner_id", tracing::field::display(principal.partner_id));
                        request.extensions_mut().insert(principal);
                        inner.call(request).await
                    }
                },
                Err(refusal) => Ok(Status::from(Error::from(refusal)).into_http()),
            }
        })
    }
}

// === Service tokens ===
//
// Services calling each other present service tokens instead of keys (see
// `crate::service_keys`): verified locally, they act for the partner and
// mode named in the `x-paymesh-scope` header.

/// The header in which a service names the partner and mode it acts for.
pub const SCOPE_HEADER: &str = "x-paymesh-scope";

impl ServiceKeys {
    /// The principal of a genuine service token acting for `scope`.
    pub fn principal(&self, token: &str, scope: Scope) -> Option<Principal> {
        let service = self.verify(token)?;
        Some(Principal {
            partner_id: scope.partner_id,
            livemode: scope.livemode,
            key_kind: KeyKind::Service,
            key_id: Uuid::nil(),
            permissions: None,
            account_id: None,
            expires_at: None,
            service: Some(Arc::from(service)),
        })
    }
}

impl ServiceToken {
    /// A gRPC request on behalf of `scope`, carrying this token and the
    /// scope header.
    pub fn request<T>(&self, scope: Scope, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let metadata = request.metadata_mut();
        if let Ok(value) = format!("Bearer {}", self.expose()).parse() {
            metadata.insert("authorization", value);
        }
        if let Ok(value) = scope_value(scope).parse() {
            metadata.insert(SCOPE_HEADER, value);
        }
        request
    }
}

/// The scope header's value: `<partner id>:test` or `:live`.
pub fn scope_value(scope: Scope) -> String {
    format!("{}:{}", scope.partner_id, if scope.livemode { "live" } else { "test" })
}

/// Parses the scope header's value.
pub fn parse_scope(value: &str) -> Option<Scope> {
    let (partner, mode) = value.trim().split_once(':')?;
    let livemode = match mode {
        "live" => true,
        "test" => false,
        _ => return None,
    };
    Some(Scope { partner_id: partner.parse().ok()?, livemode })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn a_merchant_token_may_come_in_connectfis_header() {
        let mut headers = http::HeaderMap::new();
        assert!(matches!(key_from_headers(&headers), Err(AuthError::Missing)));
        headers.insert(MERCHANT_TOKEN_HEADER, "eyJhbGciOi.eyJzdWIiOi.c2ln".parse().unwrap());
        assert_eq!(key_from_headers(&headers).unwrap().expose(), "eyJhbGciOi.eyJzdWIiOi.c2ln");
        // Authorization wins when both are sent.
        headers.insert(http::header::AUTHORIZATION, "Bearer sk_test_abc".parse().unwrap());
        assert_eq!(key_from_headers(&headers).unwrap().expose(), "sk_test_abc");
    }

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
            let outcome =
                if key.expose() == "good" { Ok(self.principal.clone()) } else { Err(AuthError::Invalid) };
            Box::pin(async move { outcome })
        }
    }

    fn principal() -> Principal {
        Principal {
            partner_id: Uuid::now_v7(),
            livemode: false,
            key_kind: KeyKind::Secret,
            key_id: Uuid::now_v7(),
            permissions: None,
            account_id: None,
            expires_at: None,
            service: None,
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

    #[tokio::test]
    async fn a_cached_credential_is_not_trusted_past_its_expiry_and_can_be_evicted() {
        let auth = cached(Duration::from_secs(60), 10);
        let key = ApiKey("good".to_owned());
        let digest: [u8; 32] = Sha256::digest(b"good").into();
        let mut expiring = principal();
        expiring.expires_at = Some(Utc::now() - chrono::TimeDelta::seconds(1));
        auth.store(digest, expiring);
        auth.authenticate(&key).await.unwrap();
        assert_eq!(auth.inner.calls.load(Ordering::SeqCst), 1, "an expired entry is looked up again");
        auth.authenticate(&key).await.unwrap();
        assert_eq!(auth.inner.calls.load(Ordering::SeqCst), 1);
        auth.evict(&digest);
        auth.authenticate(&key).await.unwrap();
        assert_eq!(auth.inner.calls.load(Ordering::SeqCst), 2, "an evicted key is looked up again");
    }

    fn permission(verb: Verb, resource: &str) -> Permission {
        Permission { verb, resource: resource.to_owned() }
    }

    #[test]
    fn permissions_allow_a_method_on_a_resource_and_its_objects() {
        let read = permission(Verb::Get, "/transactions");
        assert!(read.allows(Verb::Get, "/transactions"));
        assert!(
            permission(Verb::Put, "/transactions").allows(Verb::Get, "/transactions/0192"),
            "writes read"
        );
        assert!(!permission(Verb::Put, "/transactions").allows(Verb::Delete, "/transactions/0192"));
        assert!(read.allows(Verb::Get, "/transactions/0192"));
        assert!(!read.allows(Verb::Post, "/transactions"));
        assert!(!read.allows(Verb::Get, "/transactions_archive"));
        assert!(!read.allows(Verb::Get, "/customers"));
        assert!(permission(Verb::Any, "*").allows(Verb::Delete, "/anything"));
        assert!(permission(Verb::Any, "/customers").covers(&permission(Verb::Get, "/customers/x")));
        assert!(permission(Verb::Put, "/customers").covers(&permission(Verb::Get, "/customers")));
        assert!(!permission(Verb::Get, "/customers").covers(&permission(Verb::Any, "/customers")));
        assert!(!permission(Verb::Get, "/customers").covers(&permission(Verb::Get, "*")));
    }

    #[test]
    fn rpc_permissions_follow_the_services_rest_resources() {
        static RESOURCES: &[ServiceResources] = &[ServiceResources {
            service: "paymesh.identity.v1.AccountService",
            resources: &["/accounts", "/customers"],
        }];
        let mut p = principal();
        assert!(
            permits_rpc(&p, RESOURCES, "/paymesh.identity.v1.LegalEntityService/ListLegalEntities").is_ok()
        );
        p.permissions = Some(Arc::from(vec![permission(Verb::Get, "/customers")]));
        assert!(permits_rpc(&p, RESOURCES, "/paymesh.identity.v1.AccountService/ListAccounts").is_ok());
        assert!(permits_rpc(&p, RESOURCES, "/paymesh.identity.v1.AccountService/GetAccount").is_ok());
        let refused =
            permits_rpc(&p, RESOURCES, "/paymesh.identity.v1.AccountService/CreateAccount").unwrap_err();
        assert_eq!(
            refused.to_string(),
            "This key's permissions do not allow POST on /accounts or /customers",
            "said in REST terms"
        );
        assert!(
            permits_rpc(&p, RESOURCES, "/paymesh.identity.v1.LegalEntityService/ListLegalEntities").is_err()
        );
        assert!(permits_rpc(&p, RESOURCES, "/paymesh.identity.v1.AuthService/Authenticate").is_ok());
        assert_eq!(verb_of_rpc("RollApiKey"), Verb::Post);
        assert_eq!(verb_of_rpc("RevokeApiKey"), Verb::Delete);
        assert_eq!(verb_of_rpc("BatchUpdateAccounts"), Verb::Put);
        assert_eq!(verb_of_rpc("CancelPaymentIntent"), Verb::Put);
    }

    #[test]
    fn client_keys_cannot_use_secret_endpoints() {
        let mut p = principal();
        assert!(p.require_secret_key().is_ok());
        p.key_kind = KeyKind::Client;
        assert!(matches!(p.require_secret_key(), Err(Error::Forbidden(_))));
        p.key_kind = KeyKind::Merchant;
        assert!(matches!(p.require_secret_key(), Err(Error::Forbidden(_))));
    }

    #[test]
    fn a_merchant_token_acts_for_its_processing_account_only() {
        let mut p = principal();
        assert_eq!(p.merchant_account().unwrap(), None, "a secret key acts for the partner");
        let account = Uuid::now_v7();
        p.key_kind = KeyKind::Merchant;
        p.account_id = Some(account);
        assert_eq!(p.merchant_account().unwrap(), Some(account));
        p.account_id = None;
        assert!(
            matches!(p.merchant_account(), Err(Error::Forbidden(_))),
            "a merchant token names its account"
        );
        p.key_kind = KeyKind::Client;
        assert!(matches!(p.merchant_account(), Err(Error::Forbidden(_))));
    }

    #[test]
    fn the_scope_travels_as_partner_and_mode() {
        let keys = ServiceKeys::new(vec![1; 32]).unwrap();
        let scope = Scope { partner_id: Uuid::now_v7(), livemode: true };
        assert_eq!(parse_scope(&scope_value(scope)), Some(scope));
        for bad in ["", "x:live", "0192:prod", "nope"] {
            assert_eq!(parse_scope(bad), None, "{bad}");
        }
        let principal = keys.principal(keys.token("methods").expose(), scope).unwrap();
        assert_eq!((principal.key_kind, principal.service.as_deref()), (KeyKind::Service, Some("methods")));
        assert_eq!(principal.scope(), scope);
    }
}

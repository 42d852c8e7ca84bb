//! Typed configuration from `PAYMESH_*` environment variables.
//!
//! Every setting has a compiled-in default, so `paymesh all` runs with no
//! environment at all; operators override what they need. Values are read
//! once at start-up through [`Env`], which collects *every* problem before
//! failing, so a misconfigured deployment reports all its mistakes at once.
//!
//! Each service keeps its own settings in its own `config.rs` and reads them
//! with the same [`Env`]; this module holds the settings they share
//! ([`CommonConfig`]).

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    net::SocketAddr,
    str::FromStr,
    time::Duration,
};

use base64::Engine as _;

use crate::{
    crypto::{self, KeyId, Keyring},
    service_keys::{MIN_SERVICE_SECRET_BYTES, ServiceKeys},
};

/// The PostgreSQL server, as a URL (`postgres://user@host:port/db`).
pub const ENV_DATABASE_URL: &str = "DATABASE_URL";
/// Maximum connections of each service's database pool.
pub const ENV_DB_MAX_CONNECTIONS: &str = "PAYMESH_DB_MAX_CONNECTIONS";
/// How long a request waits for a free database connection, in milliseconds.
pub const ENV_DB_ACQUIRE_TIMEOUT_MS: &str = "PAYMESH_DB_ACQUIRE_TIMEOUT_MS";
/// The longest one SQL statement may run before PostgreSQL cancels it, in
/// milliseconds (`statement_timeout` of every pooled connection).
pub const ENV_DB_STATEMENT_TIMEOUT_MS: &str = "PAYMESH_DB_STATEMENT_TIMEOUT_MS";
/// `pretty` (development) or `json` (production) log lines.
pub const ENV_LOG_FORMAT: &str = "PAYMESH_LOG_FORMAT";
/// A `tracing` filter directive, e.g. `info,paymesh_identity=debug`.
pub const ENV_LOG: &str = "PAYMESH_LOG";
/// Where to export spans over OTLP/gRPC; unset disables export.
pub const ENV_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// How long a resolved API key is trusted before identity is asked again.
pub const ENV_AUTH_CACHE_TTL_MS: &str = "PAYMESH_AUTH_CACHE_TTL_MS";
/// How many resolved API keys each process keeps.
pub const ENV_AUTH_CACHE_MAX_ENTRIES: &str = "PAYMESH_AUTH_CACHE_MAX_ENTRIES";
/// The deadline of one request, end to end, in milliseconds.
pub const ENV_REQUEST_TIMEOUT_MS: &str = "PAYMESH_REQUEST_TIMEOUT_MS";
/// The number of results a list returns when the caller gives no `limit`.
pub const ENV_LIST_DEFAULT_LIMIT: &str = "PAYMESH_LIST_DEFAULT_LIMIT";
/// The largest `limit` a list accepts; larger ones are rejected.
pub const ENV_LIST_MAX_LIMIT: &str = "PAYMESH_LIST_MAX_LIMIT";
/// How long a stopping process lets requests in flight finish.
pub const ENV_SHUTDOWN_TIMEOUT_MS: &str = "PAYMESH_SHUTDOWN_TIMEOUT_MS";
/// How long `Idempotency-Key`s are kept, in seconds (default 86400: 24 h).
pub const ENV_IDEMPOTENCY_TTL: &str = "PAYMESH_IDEMPOTENCY_TTL_SECS";
/// How long a request holds its `Idempotency-Key` before a retry may take
/// over what it started, in milliseconds (default 10 000).
pub const ENV_IDEMPOTENCY_LEASE_MS: &str = "PAYMESH_IDEMPOTENCY_LEASE_MS";
/// How often, in milliseconds, each service's outbox relay publishes new
/// events to the events service (default 200).
pub const ENV_OUTBOX_RELAY_INTERVAL_MS: &str = "PAYMESH_OUTBOX_RELAY_INTERVAL_MS";
/// Where `/metrics` is served (`off` to serve none).
pub const ENV_METRICS_ADDR: &str = "PAYMESH_METRICS_ADDR";
/// The mesh's service secret (base64, at least 32 bytes): services prove
/// who they are to each other with tokens derived from it. Unset: a random
/// secret per process, enough when `paymesh all` runs every service.
pub const ENV_SERVICE_SECRET: &str = "PAYMESH_SERVICE_SECRET";
/// The largest identity document accepted, in bytes (identity stores them;
/// the gateway sizes uploads by it).
pub const ENV_MAX_DOCUMENT_BYTES: &str = "PAYMESH_MAX_DOCUMENT_BYTES";
/// The key-encryption keys: comma-separated `ID:BASE64` pairs of 32-byte
/// keys. Unset: the public development key (services warn at start-up).
pub const ENV_KEKS: &str = "PAYMESH_KEKS";
/// The id of the key-encryption key new values are sealed under (default:
/// the first of `PAYMESH_KEKS`).
pub const ENV_ACTIVE_KEK: &str = "PAYMESH_ACTIVE_KEK";

/// The default database: the local server `make run` and `make test` use.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/paymesh";
/// The default log filter: info, without PostgreSQL's notices (such as
/// "schema already exists, skipping" at every start).
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx::postgres::notice=warn";

// === impl Env ===

/// A snapshot of the environment that parses settings and remembers every
/// invalid one.
#[derive(Debug, Default)]
pub struct Env {
    vars: HashMap<String, String>,
    problems: Vec<String>,
}

impl Env {
    /// Reads the process environment (variables that are not valid Unicode
    /// are reported as problems when a setting asks for them).
    pub fn from_process() -> Self {
        let mut env = Self::default();
        for (name, value) in std::env::vars_os() {
            match (name.into_string(), value.into_string()) {
                (Ok(name), Ok(value)) => {
                    env.vars.insert(name, value);
                }
                (Ok(name), Err(_)) => env.problems.push(format!("{name}: not valid UTF-8")),
                (Err(_), _) => {}
            }
        }
        env
    }

    /// Builds an environment from explicit pairs (tests and embedders).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(), problems: Vec::new() }
    }

    /// The raw value of a variable, if set and not empty.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    /// Parses a variable with `FromStr`, falling back to `default` when unset.
    pub fn parse<T>(&mut self, name: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.parse_with(name, default, |raw| raw.parse::<T>().map_err(|e| e.to_string()))
    }

    /// Parses a variable with `parse`, falling back to `default` when unset.
    /// A problem quotes the offending value.
    pub fn parse_with<T>(
        &mut self,
        name: &str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
        self.parse_inner(name, default, parse, true)
    }

    /// Like [`Env::parse_with`] for values that may hold a secret (a
    /// database password): a problem names the variable, never its value.
    pub fn parse_secret_with<T>(
        &mut self,
        name: &str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Secret<T> {
        Secret::new(self.parse_inner(name, default, parse, false))
    }

    /// An optional secret key given as standard base64 of at least
    /// `min_bytes` bytes (`openssl rand -base64 32`); a problem names the
    /// variable, never its value.
    pub fn key_bytes(&mut self, name: &str, min_bytes: usize) -> Option<Secret<Vec<u8>>> {
        self.parse_secret_with(name, None, |raw| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(raw)
                .map_err(|_| "not valid base64".to_owned())?;
            if bytes.len() < min_bytes {
                return Err(format!("must be at least {min_bytes} bytes"));
            }
            Ok(Some(bytes))
        })
        .into_inner()
        .map(Secret::new)
    }

    fn parse_inner<T>(
        &mut self,
        name: &str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
        quote_value: bool,
    ) -> T {
        let Some(raw) = self.raw(name) else { return default };
        match parse(raw.trim()) {
            Ok(value) => value,
            Err(why) if quote_value => {
                self.problems.push(format!("{name}={raw:?}: {why}"));
                default
            }
            Err(why) => {
                self.problems.push(format!("{name}: {why}"));
                default
            }
        }
    }

    /// A duration given in whole milliseconds, at least `min_ms`.
    pub fn millis(&mut self, name: &str, default_ms: u64, min_ms: u64) -> Duration {
        let ms = self.parse_with(name, default_ms, |raw| {
            let ms: u64 = raw.parse().map_err(|_| "expected whole milliseconds".to_owned())?;
            if ms < min_ms {
                return Err(format!("must be at least {min_ms}"));
            }
            Ok(ms)
        });
        Duration::from_millis(ms)
    }

    /// A whole number within `range`.
    pub fn number(&mut self, name: &str, default: u32, range: std::ops::RangeInclusive<u32>) -> u32 {
        self.parse_with(name, default, |raw| {
            let n: u32 = raw.parse().map_err(|_| "expected a whole number".to_owned())?;
            if !range.contains(&n) {
                return Err(format!("must be between {} and {}", range.start(), range.end()));
            }
            Ok(n)
        })
    }

    /// A socket address to listen on, e.g. `127.0.0.1:50051`.
    pub fn listen_addr(&mut self, name: &str, default: SocketAddr) -> SocketAddr {
        self.parse_with(name, default, |raw| {
            raw.parse().map_err(|_| "expected HOST:PORT with an IP address".to_owned())
        })
    }

    /// An `http://` or `https://` URL of a peer service.
    pub fn url(&mut self, name: &str, default: &str) -> String {
        self.parse_with(name, default.to_owned(), |raw| {
            let uri: http::Uri = raw.parse().map_err(|_| "not a valid URL".to_owned())?;
            match (uri.scheme_str(), uri.authority()) {
                (Some("http" | "https"), Some(_)) => Ok(raw.to_owned()),
                _ => Err("expected http://HOST:PORT or https://HOST:PORT".to_owned()),
            }
        })
    }

    /// Records a problem found while cross-checking settings.
    pub fn problem(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    /// Fails with every problem found so far.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() { Ok(()) } else { Err(ConfigError { problems: self.problems }) }
    }
}

/// Every invalid setting found at start-up.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  {}", problems.join("\n  "))]
pub struct ConfigError {
    /// One line per invalid variable, naming it.
    pub problems: Vec<String>,
}

// === impl Secret ===

/// A value that never appears in logs or `Debug` output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// The secret itself, unwrapped.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

// === CommonConfig ===

/// The log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured lines for development.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            _ => Err("expected `pretty` or `json`".to_owned()),
        }
    }
}

/// Logging and trace export.
#[derive(Clone, Debug)]
pub struct TelemetryConfig {
    /// Pretty or JSON lines.
    pub log_format: LogFormat,
    /// The `tracing` filter.
    pub log_filter: String,
    /// The OTLP/gRPC collector, when spans are exported.
    pub otlp_endpoint: Option<String>,
}

/// The database every service connects to (each in its own schema).
#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// The server URL; may hold a password.
    pub url: Secret<String>,
    /// Pool size per service.
    pub max_connections: u32,
    /// How long to wait for a pooled connection.
    pub acquire_timeout: Duration,
    /// How long one statement may run (PostgreSQL's `statement_timeout`).
    pub statement_timeout: Duration,
}

/// How `Create…` requests keep their `Idempotency-Key`s
/// ([`crate::idempotency`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdempotencySettings {
    /// How long a key and its answer are kept (default 24 h).
    pub ttl: Duration,
    /// How long a request holds its key (default 10 s): a retry after it
    /// takes over what a request that died had started.
    pub lease: Duration,
}

/// How services trust API keys resolved by identity.
#[derive(Clone, Copy, Debug)]
pub struct AuthConfig {
    /// How long each process trusts a resolved key. Caches can stack (the
    /// gateway's in front of identity's), so a revoked key stops working
    /// after at most twice this.
    pub cache_ttl: Duration,
    /// How many keys each process remembers.
    pub cache_max_entries: usize,
}

/// Paging bounds every list applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListLimits {
    /// Results returned when no `limit` is given.
    pub default_limit: u32,
    /// The largest `limit` accepted.
    pub max_limit: u32,
}

impl Default for ListLimits {
    fn default() -> Self {
        Self { default_limit: 100, max_limit: 1000 }
    }
}

/// Settings shared by every service and the gateway.
#[derive(Clone, Debug)]
pub struct CommonConfig {
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
    /// PostgreSQL.
    pub database: DatabaseConfig,
    /// API key resolution.
    pub auth: AuthConfig,
    /// Paging bounds.
    pub list: ListLimits,
    /// The end-to-end deadline of one request.
    pub request_timeout: Duration,
    /// Where each service of the mesh answers, by name (filled by whoever
    /// knows the mesh: `paymesh_mesh::Settings::read`).
    pub services: ServiceUrls,
    /// Where `/metrics` is served, if anywhere (default `127.0.0.1:9464`).
    pub metrics_addr: Option<SocketAddr>,
    /// How long a stopping process lets requests in flight finish (default
    /// 20 s, inside Kubernetes' 30 s grace period).
    pub shutdown_timeout: Duration,
    /// How long an `Idempotency-Key` and its answer are kept, and how long
    /// a request holds its key.
    pub idempotency: IdempotencySettings,
    /// The key-encryption keys of envelope encryption.
    pub keyring: Keyring,
    /// The largest identity document (default 5 MiB).
    pub max_document_bytes: usize,
    /// The mesh's service secret.
    pub service_keys: ServiceKeys,
    /// Whether the service secret was configured (or made for this process).
    pub service_secret_configured: bool,
    /// How often each service's outbox relay publishes (default 200 ms).
    pub relay_interval: Duration,
}

/// Where the services of the mesh answer, by name (`identity` →
/// `http://127.0.0.1:50051`). The mesh names its services; a service asks
/// for its peers by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceUrls(BTreeMap<String, String>);

impl ServiceUrls {
    /// `PAYMESH_<NAME>_URL` of each of `services` (name and default port),
    /// by default the port on this machine.
    pub fn read<'a>(env: &mut Env, services: impl IntoIterator<Item = (&'a str, u16)>) -> Self {
        Self(
            services
                .into_iter()
                .map(|(name, port)| {
                    let variable = format!("PAYMESH_{}_URL", name.to_ascii_uppercase());
                    (name.to_owned(), env.url(&variable, &format!("http://127.0.0.1:{port}")))
                })
                .collect(),
        )
    }

    /// Sets where `name` answers.
    pub fn set(&mut self, name: &str, url: String) {
        self.0.insert(name.to_owned(), url);
    }

    /// Where `name` answers.
    pub fn get(&self, name: &str) -> anyhow::Result<&str> {
        self.0.get(name).map(String::as_str).ok_or_else(|| {
            anyhow::anyhow!("no URL for the {name} service: set PAYMESH_{}_URL", name.to_ascii_uppercase())
        })
    }

    /// Every service and where it answers.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(name, url)| (name.as_str(), url.as_str()))
    }
}

impl CommonConfig {
    /// Reads the shared settings; problems are left in `env`.
    pub fn read(env: &mut Env) -> Self {
        let defaults = ListLimits::default();
        let list = ListLimits {
            default_limit: env.number(ENV_LIST_DEFAULT_LIMIT, defaults.default_limit, 1..=10_000),
            max_limit: env.number(ENV_LIST_MAX_LIMIT, defaults.max_limit, 1..=10_000),
        };
        if list.default_limit > list.max_limit {
            env.problem(format!(
                "{ENV_LIST_DEFAULT_LIMIT} ({}) must not exceed {ENV_LIST_MAX_LIMIT} ({})",
                list.default_limit, list.max_limit
            ));
        }
        let database_url = env.parse_secret_with(ENV_DATABASE_URL, DEFAULT_DATABASE_URL.to_owned(), |raw| {
            if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
                Ok(raw.to_owned())
            } else {
                Err("expected a postgres:// URL".to_owned())
            }
        });
        let keyring = read_keyring(env);
        let service_secret = env.key_bytes(ENV_SERVICE_SECRET, MIN_SERVICE_SECRET_BYTES);
        let service_secret_configured = service_secret.is_some();
        let service_keys = match service_secret.map(|s| ServiceKeys::new(s.into_inner())) {
            Some(Ok(keys)) => keys,
            Some(Err(why)) => {
                env.problem(format!("{ENV_SERVICE_SECRET}: {why}"));
                ServiceKeys::placeholder()
            }
            None => ServiceKeys::random().unwrap_or_else(|_| {
                env.problem(format!("{ENV_SERVICE_SECRET}: unset, and the OS random source failed"));
                ServiceKeys::placeholder()
            }),
        };
        Self {
            keyring,
            service_keys,
            service_secret_configured,
            relay_interval: env.millis(ENV_OUTBOX_RELAY_INTERVAL_MS, 200, 10),
            max_document_bytes: env.number(ENV_MAX_DOCUMENT_BYTES, 5 << 20, 1024..=(20 << 20)) as usize,
            telemetry: TelemetryConfig {
                log_format: env.parse(ENV_LOG_FORMAT, LogFormat::Pretty),
                log_filter: env.raw(ENV_LOG).unwrap_or(DEFAULT_LOG_FILTER).to_owned(),
                otlp_endpoint: env.raw(ENV_OTLP_ENDPOINT).map(str::to_owned),
            },
            database: DatabaseConfig {
                url: database_url,
                max_connections: env.number(ENV_DB_MAX_CONNECTIONS, 10, 1..=1000),
                acquire_timeout: env.millis(ENV_DB_ACQUIRE_TIMEOUT_MS, 5_000, 100),
                statement_timeout: env.millis(ENV_DB_STATEMENT_TIMEOUT_MS, 10_000, 100),
            },
            auth: AuthConfig {
                cache_ttl: env.millis(ENV_AUTH_CACHE_TTL_MS, 5_000, 0),
                cache_max_entries: env.number(ENV_AUTH_CACHE_MAX_ENTRIES, 10_000, 1..=1_000_000) as usize,
            },
            list,
            request_timeout: env.millis(ENV_REQUEST_TIMEOUT_MS, 10_000, 100),
            services: ServiceUrls::default(),
            shutdown_timeout: env.millis(ENV_SHUTDOWN_TIMEOUT_MS, 20_000, 0),
            idempotency: IdempotencySettings {
                ttl: env.parse_with(ENV_IDEMPOTENCY_TTL, Duration::from_secs(86_400), |raw| {
                    match raw.parse() {
                        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
                        _ => Err("must be a positive number of seconds".to_owned()),
                    }
                }),
                lease: env.millis(ENV_IDEMPOTENCY_LEASE_MS, 10_000, 100),
            },
            metrics_addr: env.parse_with(
                ENV_METRICS_ADDR,
                Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
                |raw| {
                    if raw == "off" {
                        return Ok(None);
                    }
                    raw.parse()
                        .map(Some)
                        .map_err(|_| "expected HOST:PORT with an IP address, or `off`".to_owned())
                },
            ),
        }
    }
}

/// The keyring from `PAYMESH_KEKS` and `PAYMESH_ACTIVE_KEK`; problems name
/// the variables, never the keys.
fn read_keyring(env: &mut Env) -> Keyring {
    let keys = env.parse_secret_with(ENV_KEKS, None, |raw| crypto::parse_keys(raw).map(Some));
    let active = env.parse_with(ENV_ACTIVE_KEK, None, |raw| raw.parse::<KeyId>().map(Some));
    let Some(keys) = keys.into_inner() else {
        if active.is_some() {
            env.problem(format!("{ENV_ACTIVE_KEK} is set but {ENV_KEKS} is not"));
        }
        return Keyring::development();
    };
    let Some(first) = keys.first().map(|(id, _)| id.clone()) else { return Keyring::development() };
    match Keyring::new(keys, active.unwrap_or(first)) {
        Ok(keyring) => keyring,
        Err(why) => {
            env.problem(format!("{ENV_KEKS}/{ENV_ACTIVE_KEK}: {why}"));
            Keyring::development()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let mut env = Env::from_pairs(Vec::<(String, String)>::new());
        let config = CommonConfig::read(&mut env);
        assert!(env.finish().is_ok());
        assert_eq!(config.database.url.expose(), DEFAULT_DATABASE_URL);
        assert_eq!(config.telemetry.log_format, LogFormat::Pretty);
        assert_eq!(config.list, ListLimits::default());
        assert_eq!(config.auth.cache_ttl, Duration::from_secs(5));
        assert_eq!(config.metrics_addr, Some(SocketAddr::from(([127, 0, 0, 1], 9464))));
    }

    #[test]
    fn metrics_can_be_switched_off() {
        let mut env = Env::from_pairs([(ENV_METRICS_ADDR, "off")]);
        assert_eq!(CommonConfig::read(&mut env).metrics_addr, None);
        let mut env = Env::from_pairs([(ENV_METRICS_ADDR, "everywhere")]);
        let _ = CommonConfig::read(&mut env);
        assert!(env.finish().unwrap_err().to_string().contains(ENV_METRICS_ADDR));
    }

    #[test]
    fn every_invalid_variable_is_reported_at_once() {
        let mut env = Env::from_pairs([
            (ENV_LOG_FORMAT, "yaml"),
            (ENV_DB_MAX_CONNECTIONS, "0"),
            (ENV_DATABASE_URL, "mysql://x"),
            ("PAYMESH_IDENTITY_URL", "localhost"),
            (ENV_LIST_DEFAULT_LIMIT, "500"),
            (ENV_LIST_MAX_LIMIT, "50"),
        ]);
        let _ = CommonConfig::read(&mut env);
        let _ = ServiceUrls::read(&mut env, [("identity", 50051)]);
        let err = env.finish().unwrap_err();
        let text = err.to_string();
        for name in [
            ENV_LOG_FORMAT,
            ENV_DB_MAX_CONNECTIONS,
            ENV_DATABASE_URL,
            "PAYMESH_IDENTITY_URL",
            ENV_LIST_DEFAULT_LIMIT,
        ] {
            assert!(text.contains(name), "{name} missing from: {text}");
        }
        assert_eq!(err.problems.len(), 5, "{text}");
    }

    #[test]
    fn services_answer_on_their_port_here_unless_a_url_says_otherwise() {
        let mut env = Env::from_pairs([("PAYMESH_METHODS_URL", "https://vault.internal:443")]);
        let urls = ServiceUrls::read(&mut env, [("identity", 50051), ("methods", 50052)]);
        assert!(env.finish().is_ok());
        assert_eq!(urls.get("identity").unwrap(), "http://127.0.0.1:50051");
        assert_eq!(urls.get("methods").unwrap(), "https://vault.internal:443");
        let unknown = urls.get("billing").unwrap_err().to_string();
        assert!(unknown.contains("PAYMESH_BILLING_URL"), "{unknown}");
    }

    #[test]
    fn json_logs_are_selected_by_the_documented_variable() {
        let mut env = Env::from_pairs([(ENV_LOG_FORMAT, "json")]);
        let config = CommonConfig::read(&mut env);
        assert_eq!(config.telemetry.log_format, LogFormat::Json);
    }

    #[test]
    fn an_invalid_database_url_is_reported_without_its_password() {
        let mut env = Env::from_pairs([(ENV_DATABASE_URL, "mysql://root:hunter2@db/x")]);
        let _ = CommonConfig::read(&mut env);
        let text = env.finish().unwrap_err().to_string();
        assert!(text.contains(ENV_DATABASE_URL));
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn key_encryption_keys_are_read_and_checked_without_quoting_them() {
        let mut env = Env::from_pairs(Vec::<(String, String)>::new());
        assert!(CommonConfig::read(&mut env).keyring.is_development());
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let mut env =
            Env::from_pairs([(ENV_KEKS, format!("new:{key},old:{key}")), (ENV_ACTIVE_KEK, "old".into())]);
        let config = CommonConfig::read(&mut env);
        assert!(env.finish().is_ok());
        assert_eq!(config.keyring.active().as_str(), "old");
        let mut env = Env::from_pairs([(ENV_KEKS, format!("k1:{key}")), (ENV_ACTIVE_KEK, "k2".into())]);
        let _ = CommonConfig::read(&mut env);
        assert!(env.finish().unwrap_err().to_string().contains(ENV_ACTIVE_KEK));
        let mut env = Env::from_pairs([(ENV_KEKS, "k1:c2hvcnQ=")]);
        let _ = CommonConfig::read(&mut env);
        let text = env.finish().unwrap_err().to_string();
        assert!(text.contains(ENV_KEKS) && !text.contains("c2hvcnQ="), "{text}");
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("postgres://u:hunter2@db/paymesh".to_owned());
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}

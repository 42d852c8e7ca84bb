//! What every handler reaches: the settings, the authenticator, the rate
//! limiter, the REST surface read from the contracts, and a channel to each
//! service.

use std::{collections::HashMap, sync::Arc, time::Duration};

use paymesh_kit::{
    auth::{Authenticator, CachedAuthenticator, RemoteAuthenticator, ServiceToken},
    config::CommonConfig,
    grpc::{self, Channel},
};
use prost_reflect::MethodDescriptor;
use tonic_health::pb::health_client::HealthClient;

use crate::{config::Config, limits::RateLimiter, rest::surface::Surface};

/// The gateway's state, shared by every request.
#[derive(Clone)]
pub struct AppState {
    /// The deadline of one request, carried to every gRPC call.
    pub(crate) request_timeout: Duration,
    /// The largest file accepted (identity documents).
    pub(crate) max_document_bytes: usize,
    pub(crate) config: Config,
    pub(crate) authenticator: Arc<dyn Authenticator>,
    /// Per-key request rates.
    pub(crate) rate_limiter: Arc<RateLimiter>,
    /// The REST surface of the contracts.
    pub(crate) surface: Arc<Surface>,
    /// The channel of each service of the mesh, by name: the second part
    /// of its contracts' package (`paymesh.identity.v1` → `identity`).
    channels: Arc<HashMap<String, Channel>>,
    /// The gRPC health of every service the gateway calls, by name.
    pub(crate) health: Vec<(String, HealthClient<Channel>)>,
    /// The gateway's own token, for what it asks for itself rather than
    /// for a partner's key (a pay page, found by its link's token).
    pub(crate) service_token: ServiceToken,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("config", &self.config).finish_non_exhaustive()
    }
}

impl AppState {
    /// Clients for every service of the mesh (connecting lazily), and the
    /// surface of the contracts.
    pub fn new(common: &CommonConfig, config: Config) -> anyhow::Result<Self> {
        let mut channels = HashMap::new();
        for (name, url) in common.services.iter() {
            channels.insert(name.to_owned(), grpc::connect(url, common.request_timeout)?);
        }
        let identity =
            channels.get("identity").cloned().ok_or_else(|| anyhow::anyhow!("no identity service"))?;
        Ok(Self {
            request_timeout: common.request_timeout,
            max_document_bytes: common.max_document_bytes,
            rate_limiter: Arc::new(RateLimiter::new(config.rate_limit_per_sec, config.rate_limit_burst)),
            config,
            authenticator: Arc::new(CachedAuthenticator::new(
                RemoteAuthenticator::new(identity),
                common.auth,
            )),
            surface: Arc::new(crate::rest::routes::load(paymesh_proto::FILE_DESCRIPTOR_SET)?),
            health: common
                .services
                .iter()
                .filter_map(|(name, _)| {
                    Some((name.to_owned(), HealthClient::new(channels.get(name)?.clone())))
                })
                .collect(),
            channels: Arc::new(channels),
            service_token: common.service_keys.token("gateway"),
        })
    }

    /// The channel to the service `name` (`events`).
    pub(crate) fn channel_named(&self, name: &str) -> Option<Channel> {
        self.channels.get(name).cloned()
    }

    /// The channel to the service of `method`.
    pub(crate) fn channel(&self, method: &MethodDescriptor) -> Option<Channel> {
        let package = method.parent_service().package_name();
        self.channels.get(package.split('.').nth(1)?).cloned()
    }
}

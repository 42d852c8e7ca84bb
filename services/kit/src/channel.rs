//! The channel every paymesh gRPC client uses: tonic's, connecting lazily,
//! propagating the trace context of the calling span
//! ([`ClientTraceLayer`]).

use std::time::Duration;

use anyhow::Context as _;
use tonic::transport::Endpoint;
use tower::ServiceBuilder;

use crate::telemetry::propagation::{ClientTrace, ClientTraceLayer};

/// The channel every paymesh gRPC client uses: tonic's channel with trace
/// propagation.
pub type Channel = ClientTrace<tonic::transport::Channel>;

/// A channel to `url` that connects on first use (so services may start in
/// any order) and gives up on a call after `timeout`.
pub fn connect(url: &str, timeout: Duration) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("invalid service URL {url}"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .tcp_nodelay(true);
    Ok(ServiceBuilder::new().layer(ClientTraceLayer).service(endpoint.connect_lazy()))
}

//! Settings of the identity service alone (the shared ones are in
//! `paymesh_kit::config`).

use std::net::SocketAddr;

use paymesh_kit::config::Env;

/// Where the identity service listens for gRPC.
pub const ENV_IDENTITY_ADDR: &str = "PAYMESH_IDENTITY_ADDR";

/// The identity service's own settings.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// The gRPC listen address (default `127.0.0.1:50051`).
    pub addr: SocketAddr,
}

impl Config {
    /// Reads the settings; problems are left in `env`.
    pub fn read(env: &mut Env) -> Self {
        Self { addr: env.listen_addr(ENV_IDENTITY_ADDR, SocketAddr::from(([127, 0, 0, 1], 50051))) }
    }
}

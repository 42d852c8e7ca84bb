//! Compiles the paymesh contracts with a vendored `protoc`, so a fresh
//! machine needs nothing installed (set `PROTOC` to use another one), and
//! writes the descriptor set the services serve through gRPC reflection.

use std::{env, io, path::PathBuf};

/// Every contract file; imports resolve against this directory.
const PROTOS: &[&str] = &[
    "google/api/http.proto",
    "google/api/annotations.proto",
    "google/api/field_behavior.proto",
    "paymesh/rest/v1/annotations.proto",
    "paymesh/common/v1/money.proto",
    "paymesh/common/v1/query.proto",
    "paymesh/common/v1/errors.proto",
    "paymesh/identity/v1/auth.proto",
    "paymesh/identity/v1/account.proto",
    "paymesh/identity/v1/legal_entity.proto",
    "paymesh/identity/v1/document.proto",
    "paymesh/identity/v1/api_key.proto",
    "paymesh/identity/v1/access_token.proto",
    "paymesh/methods/v1/payment_method.proto",
    "paymesh/intents/v1/intents.proto",
    "paymesh/payments/v1/transactions.proto",
    "paymesh/events/v1/events.proto",
    "paymesh/billing/v1/billing.proto",
    "paymesh/billing/v1/payment_links.proto",
];

fn main() -> io::Result<()> {
    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(io::Error::other)?);
    let mut config = tonic_prost_build::Config::new();
    if env::var_os("PROTOC").is_none() {
        config.protoc_executable(protoc_bin_vendored::protoc_bin_path().map_err(io::Error::other)?);
    }
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("paymesh_descriptor.bin"))
        .compile_with_config(config, PROTOS, &["."])?;
    println!("cargo:rerun-if-env-changed=PROTOC");
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    Ok(())
}

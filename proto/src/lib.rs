//! # paymesh-proto — the contracts of the mesh
//!
//! The generated messages, clients and servers of every `paymesh.*.v1`
//! package under `proto/paymesh/`, laid out by package path
//! (`paymesh_proto::identity::v1::AccountServiceClient`), and the encoded
//! descriptor set that every service serves through gRPC reflection so that
//! `grpcurl list` and `grpcurl describe` work against any port.
//!
//! The `.proto` files are the source of truth; `buf lint` (STANDARD and
//! COMMENTS rules) keeps them consistent.

/// The encoded `FileDescriptorSet` of every paymesh contract and its imports,
/// for `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/paymesh_descriptor.bin"));

/// The standard annotations the contracts carry (vendored from googleapis):
/// `google.api.http` (AIP-127) and `google.api.field_behavior` (AIP-203).
pub mod google {
    /// `google.api`.
    #[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    pub mod api {
        tonic::include_proto!("google.api");
    }
}

/// paymesh's own REST annotations: collections, wire names, enum words,
/// and the REST routes of batch and query RPCs. The gateway derives the
/// REST surface from them.
pub mod rest {
    /// `paymesh.rest.v1`.
    #[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("paymesh.rest.v1");
    }
}

/// Types shared by every service: money, addresses, list queries, error
/// reasons.
pub mod common {
    /// `paymesh.common.v1`.
    #[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("paymesh.common.v1");
    }
}

/// The identity service: authentication, partners, API keys and accounts.
pub mod identity {
    /// `paymesh.identity.v1`.
    #[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("paymesh.identity.v1");
    }
}

/// The payment methods vault: cards and bank accounts, tokenized.
pub mod methods {
    /// `paymesh.methods.v1`.
    #[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("paymesh.methods.v1");
    }
}

/// Payment intents and pricing: fees, delivery dates, expiry.
pub mod intents {
    /// `paymesh.intents.v1`.
    #[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("paymesh.intents.v1");
    }
}

/// Payments: transactions, refunds, voids and their ledger.
pub mod payments {
    /// `paymesh.payments.v1`.
    #[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("paymesh.payments.v1");
    }
}

/// Billing: invoices, line items, billing schedules and their charges.
pub mod billing {
    /// `paymesh.billing.v1`.
    #[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("paymesh.billing.v1");
    }
}

/// Events: the event log, webhooks and their delivery logs.
pub mod events {
    /// `paymesh.events.v1`.
    #[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("paymesh.events.v1");
    }
}

//! # paymesh-payments — transactions, connectors and the ledger
//!
//! This crate will own the `payments` schema and the `paymesh.payments.v1`
//! gRPC service (default port 50054): transactions (payment, refund, void,
//! chargeback, reversal, deposit), the connector trait with its built-in test
//! processor (the decline table of the seeds, ACH rejects, chargebacks), the
//! append-only double-entry ledger, daily deposits per processing account and
//! idempotent money movement under row locks.
//!
//! It holds no code yet: payments arrive with their own issue, built on the
//! runtime in `paymesh-kit`.

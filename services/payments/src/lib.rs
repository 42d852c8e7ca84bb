//! # paymesh-payments — transactions, connectors and the ledger
//!
//! This crate will own the `payments` schema and the `paymesh.payments.v1`
//! gRPC service (default port 50054): transactions (payment, refund, void,
//! chargeback, reversal, deposit), the append-only double-entry ledger,
//! daily deposits per processing account and idempotent money movement
//! under row locks.
//!
//! What is here so far is the [`connector`] seam: the [`connector::Connector`]
//! trait every processor implements, and the built-in
//! [`connector::TestProcessor`] (the seeds' decline table, scripted ACH
//! returns and chargebacks, a deterministic risk score) that test mode
//! uses. The service itself arrives with the rest of the payments issue.

pub mod connector;

//! # paymesh-billing — invoices, schedules and payment links
//!
//! This crate will own the `billing` schema and the `paymesh.billing.v1`
//! gRPC service (default port 50055): invoices and their line items,
//! allocations of payments to invoices, billing schedules with autopay, and
//! payment links served as hosted checkout pages by the gateway.
//!
//! It holds no code yet: billing arrives with its own issue, built on the
//! runtime in `paymesh-kit`.

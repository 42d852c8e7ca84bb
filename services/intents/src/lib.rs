//! # paymesh-intents — payment intents and pricing
//!
//! This crate will own the `intents` schema and the `paymesh.intents.v1`
//! gRPC service (default port 50053): payment intents (quotes that become
//! `CAPTURABLE` once payer, recipient, method and amount are usable), pricing
//! per processing account with partner and platform fallbacks, convenience
//! fees, expedite fees, and the delivery calendar (business days from US
//! Federal Reserve and Canadian bank holiday rules, cut-off times, expiry).
//!
//! It holds no code yet: intents arrive with their own issue, built on the
//! runtime in `paymesh-kit`.

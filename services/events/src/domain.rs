//! The rules of events and webhooks, free of I/O: everything here is
//! reachable by unit tests without a database or a network.
//!
//! - [`trigger`]: the event types the services record, Payload's webhook
//!   triggers they fire, PlacePay's names for those triggers, and what a
//!   delivery's `triggered_on` says;
//! - [`signature`]: Standard Webhooks secrets (`whsec_…`) and signatures;
//! - [`retry`]: the delivery schedule and what each answer means (success,
//!   retry, `Retry-After`, 410, five days failing);
//! - [`address`]: the SSRF guard — which webhook URLs are accepted and
//!   which addresses a delivery may connect to.
//!
//! The modules stand apart; none uses another.

pub mod address;
pub mod retry;
pub mod signature;
pub mod trigger;

//! The identity domain, free of I/O: what valid accounts, legal entities,
//! owners and documents are, how changes apply, how a processing account's
//! activation is weighed, and what keys and tokens look like. Everything
//! here is reachable by unit tests without a database.
//!
//! The modules form a line, never a circle: `document` stands alone; `kyc`
//! reads documents; `legal_entity` carries a verification; `processing`
//! weighs a payout and a legal entity; `account` holds a customer's KYC or a
//! processing profile; `lifecycle` holds the rules of changing accounts
//! (their status, the default, their references); `key` and `token` stand
//! apart. The values every one of them uses (names, emails, custom
//! attributes, sealed numbers) come from the kit, never from a sibling.

pub mod account;
pub mod document;
pub mod key;
pub mod kyc;
pub mod legal_entity;
pub mod lifecycle;
pub mod processing;
pub mod token;

pub use paymesh_kit::crypto::{Sealed, SensitiveNumber};

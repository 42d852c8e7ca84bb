//! The identity domain, free of I/O: what valid accounts, legal entities,
//! owners and documents are, how changes apply, how a processing account's
//! activation is weighed, and what keys and tokens look like. Everything
//! here is reachable by unit tests without a database.

pub mod account;
pub mod document;
pub mod key;
pub mod kyc;
pub mod legal_entity;
pub mod processing;

pub use paymesh_kit::crypto::{Sealed, SensitiveNumber};
pub mod token;

//! The identity domain, free of I/O: what a valid account is, how an update
//! applies, and what an API key looks like. Everything here is reachable by
//! unit tests without a database.

pub mod account;
pub mod key;

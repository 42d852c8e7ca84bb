//! # paymesh-methods — the payment-method vault
//!
//! This crate will own the `methods` schema and the `paymesh.methods.v1`
//! gRPC service (default port 50052): cards and bank accounts stored under
//! envelope encryption (AES-256-GCM data keys wrapped by a configured
//! key-encryption key), keyed fingerprints to spot duplicates, masked
//! descriptions (`Visa x-4242`) for every response, and a `Detokenize` call
//! that only the payments service may make. Card numbers, routing numbers and
//! expiries are parsed once into domain types; the card code is never stored.
//!
//! It holds no code yet: the vault arrives with its own issue, built on the
//! runtime in `paymesh-kit`.

//! The identity service's operations: who may do what, in which order, and
//! in which transaction.
//!
//! The service holds the transactions. In each, it reads what a rule of
//! the domain weighs, asks the rule, and runs the store's statements for
//! what it decides — in the order the store's locking rules ask (the
//! partner's KYB lock first, rows in id order), each change with its
//! outbox events. One change to a processing account, a
//! legal entity, an owner or a KYB document re-weighs, in the same
//! transaction, the activation of every processing account it touches.
//!
//! Layout: `accounts` (customers and processing accounts), `kyb` (legal
//! entities and owners), `documents`, `keys` (partners and API keys),
//! `tokens` (access tokens), `auth` (the authenticator every identity call
//! passes through), and `lifecycle`, the account lifecycle inside a
//! transaction that they share: every account change and every KYB change
//! ends in its assessments. `lifecycle` builds on none of the others.

pub(crate) mod accounts;
pub(crate) mod auth;
pub(crate) mod documents;
pub(crate) mod keys;
pub(crate) mod kyb;
pub(crate) mod lifecycle;
pub(crate) mod tokens;

use paymesh_kit::auth::Principal;

use crate::domain::lifecycle::Actor;

/// Who the principal is, for the status history.
pub(crate) fn actor(principal: &Principal) -> Actor {
    Actor::ApiKey(principal.key_id)
}

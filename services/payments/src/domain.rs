//! The rules of transactions with no I/O: their words, every change of a
//! transaction's state, the ledger postings each money movement writes,
//! and when money moves.
//!
//! - [`words`](Kind): kinds, statuses and funding statuses, each spelled once;
//! - [`Transaction`]: a payment approved, declined, captured, voided,
//!   settled, refunded, returned or charged back, and the refunds,
//!   deposits and reversals that follow it;
//! - [`Posting`]: the balanced double-entry postings;
//! - [`settles_at`], [`returned_at`], [`pays_out_on`]: settlement, returns
//!   and payouts on the business days of each rail.

mod ledger;
mod settlement;
mod transaction;
mod words;

pub use ledger::{Account, Entry, Posting};
pub use paymesh_kit::payout::PayoutMethod;
pub use settlement::{BANK_SETTLEMENT_BUSINESS_DAYS, pays_out_on, returned_at, settles_at, start_of_day};
pub use transaction::{
    Allocation, Labels, LedgerLink, Payout, RefundRefusal, Refunded, Returned, Transaction,
};
pub use words::{FundingStatus, Kind, MethodKind, Status, StatusChange};

//! The billing rules, with no I/O: an invoice's amounts and status, and
//! when a billing schedule bills.

pub mod invoice;
pub mod schedule;

//! The billing rules, with no I/O: an invoice's amounts and status, how
//! its items are divided among its payers, how a payment is split over
//! invoices, and when a billing schedule bills.

pub mod allocation;
pub mod autopay;
pub mod invoice;
pub mod payers;
pub mod schedule;

//! The billing rules, with no I/O: an invoice's amounts and status, how
//! its items are divided among its payers, how a payment is split over
//! invoices, when a billing schedule bills, and what a payment link asks
//! for and when it reminds.

pub mod allocation;
pub mod autopay;
pub mod invoice;
pub mod link;
pub mod payers;
pub mod schedule;

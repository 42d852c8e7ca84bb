//! The billing rules, with no I/O: an invoice's amounts and status, how a
//! payment is split over invoices, and when a billing schedule bills.

pub mod allocation;
pub mod autopay;
pub mod invoice;
pub mod schedule;

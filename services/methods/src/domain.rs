//! The methods service's rules, with no I/O: cards (`card`), payment methods and
//! their fingerprints (`method`), and the BIN table (`bins`).

pub mod bins;
pub mod card;
pub mod method;

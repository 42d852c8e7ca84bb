//! The rules of intents and pricing, with no I/O: delivery speeds and
//! options (over the kit's business-day calendar), prices, and what makes
//! an intent capturable.

pub mod delivery;
pub mod intent;
pub mod pricing;

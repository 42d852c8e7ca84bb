//! The rules of intents and pricing, with no I/O: business-day calendars,
//! delivery speeds and options, prices, and what makes an intent
//! capturable.

pub mod calendar;
pub mod delivery;
pub mod intent;
pub mod pricing;

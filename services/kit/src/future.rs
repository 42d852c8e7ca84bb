//! The boxed future of object-safe async traits (authenticators, tower
//! layers, processor connectors).

use std::{future::Future, pin::Pin};

/// A boxed future, for object-safe async traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

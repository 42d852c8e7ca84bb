//! Progress for the person waiting, on stderr (stdout holds the table).

/// Prints one line of progress: `bench: …`.
macro_rules! progress {
    ($($arg:tt)*) => { eprintln!("bench: {}", format!($($arg)*)) };
}
pub(crate) use progress;

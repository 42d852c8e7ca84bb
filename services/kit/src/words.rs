//! Closed sets of words: the statuses, kinds and rails a service stores and
//! shows. One declaration names each word once and gives the enum, the
//! list of its words (for query whitelists), `as_str` and `parse`.

/// Declares a closed set of words: the enum (`Clone`, `Copy`, `Debug`,
/// `PartialEq`, `Eq`, `Hash`), `ALL` (every value in declaration order),
/// `WORDS` (their words in the same order), `as_str` and `parse`, all as
/// visible as the enum.
///
/// ```
/// paymesh_kit::words! {
///     /// Where a thing stands.
///     pub enum Standing {
///         /// Open.
///         Open = "open",
///         /// Closed.
///         Closed = "closed",
///     }
/// }
/// assert_eq!(Standing::WORDS, &["open", "closed"]);
/// assert_eq!(Standing::parse("closed"), Some(Standing::Closed));
/// assert_eq!(Standing::Open.as_str(), "open");
/// ```
#[macro_export]
macro_rules! words {
    ($(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $word:literal,)+
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        #[allow(dead_code, reason = "a set need not use every accessor")]
        impl $name {
            /// Every value, in declaration order.
            $vis const ALL: &'static [Self] = &[$(Self::$variant,)+];
            /// Every value's word, in declaration order.
            $vis const WORDS: &'static [&'static str] = &[$($word,)+];

            /// The word.
            $vis const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }

            /// The value named `word`, exactly.
            $vis fn parse(word: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == word)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::words! {
        /// A test set.
        enum Side {
            /// One.
            Buy = "buy",
            /// The other.
            Sell = "sell",
        }
    }

    #[test]
    fn every_value_round_trips_through_its_word() {
        assert_eq!(Side::WORDS, &["buy", "sell"]);
        for side in Side::ALL {
            assert_eq!(Side::parse(side.as_str()), Some(*side));
        }
        assert_eq!(Side::parse("BUY"), None);
        assert_eq!(Side::parse(""), None);
    }
}

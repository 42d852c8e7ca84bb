//! The BIN table: what a card's first digits say of its issuer — how the
//! card is funded and, where the issuer registered another brand than the
//! number's range says, that brand. Loaded once at start from the `bins`
//! table (seeded by a migration), looked up by the card's first 8, 7 and
//! then 6 digits; the longest matching prefix wins; a card
//! whose BIN is unknown is a credit card of its range's brand.

use std::collections::HashMap;

use super::{
    card::{Brand, CardNumber},
    method::{BinInfo, CardType},
};

/// The BIN table: prefixes of 6 to 8 digits.
#[derive(Clone, Debug, Default)]
pub struct BinTable {
    entries: HashMap<String, BinInfo>,
}

/// The lengths a BIN prefix may have (the `bins` table checks them),
/// longest first.
const PREFIX_LENGTHS: [usize; 3] = [8, 7, 6];

impl BinTable {
    /// A table of `(prefix, info)` rows.
    pub fn new(entries: Vec<(String, BinInfo)>) -> Self {
        Self { entries: entries.into_iter().collect() }
    }

    /// How many prefixes the table knows.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The brand and funding of a card: the table's longest matching
    /// prefix, else its range's brand and credit.
    pub fn classify(&self, number: &CardNumber) -> (Brand, CardType) {
        let digits = number.expose();
        match PREFIX_LENGTHS.iter().find_map(|&n| digits.get(..n).and_then(|prefix| self.entries.get(prefix)))
        {
            Some(info) => (info.brand.unwrap_or_else(|| number.brand()), info.card_type),
            None => (number.brand(), CardType::Credit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_decides_and_unknown_bins_are_credit() {
        let table = BinTable::new(vec![
            ("400005".to_owned(), BinInfo { brand: None, card_type: CardType::Debit }),
            ("40000566".to_owned(), BinInfo { brand: None, card_type: CardType::Prepaid }),
            (
                "367200".to_owned(),
                BinInfo { brand: Some(Brand::AmericanExpress), card_type: CardType::Credit },
            ),
        ]);
        let card = |n: &str| CardNumber::parse(n, true).unwrap();
        assert_eq!(table.classify(&card("4000056655665556")), (Brand::Visa, CardType::Prepaid));
        assert_eq!(table.classify(&card("4000051234567894")), (Brand::Visa, CardType::Debit));
        assert_eq!(table.classify(&card("4242424242424242")), (Brand::Visa, CardType::Credit));
        assert_eq!(table.classify(&card("367200514064164")), (Brand::AmericanExpress, CardType::Credit));
        assert_eq!(table.len(), 3);
    }
}

//! An invoice's amounts and status: what its items add up to, and where
//! it stands on a given day.

use chrono::NaiveDate;
use paymesh_kit::money::round_cents;
use rust_decimal::Decimal;

/// Where an invoice stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Being prepared: not issued, never overdue.
    Draft,
    /// Issued, nothing paid, not past due.
    Pending,
    /// Part paid, not past due.
    PartiallyPaid,
    /// Nothing left to pay.
    Paid,
    /// Something left to pay after the due date.
    Overdue,
    /// Closed by the partner: it will not be collected.
    Closed,
}

impl Status {
    /// Every status's word.
    pub const WORDS: &'static [&'static str] =
        &["draft", "pending", "partially_paid", "paid", "overdue", "closed"];

    /// Its word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Pending => "pending",
            Self::PartiallyPaid => "partially_paid",
            Self::Paid => "paid",
            Self::Overdue => "overdue",
            Self::Closed => "closed",
        }
    }

    /// The status of a word.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "draft" => Self::Draft,
            "pending" => Self::Pending,
            "partially_paid" => Self::PartiallyPaid,
            "paid" => Self::Paid,
            "overdue" => Self::Overdue,
            "closed" => Self::Closed,
            _ => return None,
        })
    }

    /// Whether the invoice is issued and still follows its items and the
    /// clock (neither a draft nor closed).
    pub const fn follows_items(self) -> bool {
        !matches!(self, Self::Draft | Self::Closed)
    }
}

/// When an invoice's payments are paid out to the merchant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AcceptedPaymentState {
    /// Each payment on its own.
    #[default]
    Partial,
    /// Only once the invoice is paid in full (or closed).
    Full,
}

impl AcceptedPaymentState {
    /// Both words.
    pub const WORDS: &'static [&'static str] = &["partial", "full"];

    /// Its word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Partial => "partial",
            Self::Full => "full",
        }
    }

    /// The state of a word.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "partial" => Some(Self::Partial),
            "full" => Some(Self::Full),
            _ => None,
        }
    }
}

/// What an invoice's items add up to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// The sum of the charge items' totals.
    pub total_due: Decimal,
    /// The sum of the payment items' totals.
    pub total_paid: Decimal,
}

impl Totals {
    /// What is left to pay, never below zero.
    pub fn amount_due(self) -> Decimal {
        (self.total_due - self.total_paid).max(Decimal::ZERO)
    }
}

/// What a line item records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// An amount the customer incurred.
    Charge,
    /// An amount the customer paid.
    Payment,
}

impl Entry {
    /// Both words.
    pub const WORDS: &'static [&'static str] = &["charge", "payment"];

    /// Its word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Charge => "charge",
            Self::Payment => "payment",
        }
    }

    /// The entry of a word.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "charge" => Some(Self::Charge),
            "payment" => Some(Self::Payment),
            _ => None,
        }
    }
}

/// The most units one item or charge counts.
pub const MAX_QTY: i32 = 1_000_000;

/// `amount` × `qty`, to the cent (half away from zero).
pub fn line_total(amount: Decimal, qty: i32) -> Decimal {
    round_cents(amount * Decimal::from(qty))
}

/// `amount` for `covered` of the `of` days of a period, to the cent (half
/// away from zero): a prorated charge.
pub fn prorated(amount: Decimal, covered: i64, of: i64) -> Decimal {
    if of <= 0 || covered >= of {
        return amount;
    }
    round_cents(amount * Decimal::from(covered) / Decimal::from(of))
}

/// The totals of items given as (entry, total).
pub fn totals(items: impl IntoIterator<Item = (Entry, Decimal)>) -> Totals {
    items.into_iter().fold(Totals::default(), |mut t, (entry, total)| {
        match entry {
            Entry::Charge => t.total_due += total,
            Entry::Payment => t.total_paid += total,
        }
        t
    })
}

/// The status of an invoice that was `current`, with `totals`, due on
/// `due`, on `today`: drafts and closed invoices keep theirs; an issued one
/// is paid when nothing is left to pay, overdue when something is left
/// after the due date, partially paid when part is paid, else pending.
pub fn status(current: Status, totals: Totals, due: NaiveDate, today: NaiveDate) -> Status {
    if !current.follows_items() {
        return current;
    }
    if totals.amount_due() == Decimal::ZERO {
        Status::Paid
    } else if today > due {
        Status::Overdue
    } else if totals.total_paid > Decimal::ZERO {
        Status::PartiallyPaid
    } else {
        Status::Pending
    }
}

/// Why the partner may not move an invoice from `from` to `to`; `None`
/// when it may. The partner may issue a draft (to pending) and close an
/// invoice that is not paid; the other statuses follow from the items and
/// the clock.
pub fn refusal(from: Status, to: Status) -> Option<String> {
    match (from, to) {
        (a, b) if a == b => None,
        (Status::Closed, _) => Some("A closed invoice cannot change".to_owned()),
        (Status::Paid, Status::Closed) => Some("A paid invoice cannot be closed".to_owned()),
        (_, Status::Closed) | (Status::Draft, Status::Pending) => None,
        (_, Status::Pending) => {
            Some(format!("Only a draft can be issued (moved to pending); this invoice is {}", from.as_str()))
        }
        (_, to) => Some(format!(
            "An invoice can be moved to pending (a draft) or closed; {} follows from its items and due date",
            to.as_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn totals_add_charges_and_payments_and_credits() {
        let t = totals([
            (Entry::Charge, line_total(dec("29.99"), 1)),
            (Entry::Charge, line_total(dec("-5.00"), 1)),
            (Entry::Payment, dec("10")),
        ]);
        assert_eq!(t.total_due, dec("24.99"));
        assert_eq!(t.total_paid, dec("10"));
        assert_eq!(t.amount_due(), dec("14.99"));
        assert_eq!(
            totals([(Entry::Charge, dec("5")), (Entry::Payment, dec("9"))]).amount_due(),
            Decimal::ZERO
        );
        assert_eq!(line_total(dec("0.335"), 3), dec("1.01"));
        assert_eq!(line_total(dec("-0.005"), 1), dec("-0.01"));
    }

    #[test]
    fn prorated_charges_round_half_away_from_zero_to_the_cent() {
        // PlacePay's 2018-01-15 start: 17 of January's 31 days.
        assert_eq!(prorated(dec("1000"), 17, 31), dec("548.39"));
        assert_eq!(prorated(dec("50"), 17, 31), dec("27.42"));
        assert_eq!(prorated(dec("10"), 1, 8), dec("1.25"));
        assert_eq!(prorated(dec("0.10"), 1, 4), dec("0.03"));
        assert_eq!(prorated(dec("-0.10"), 1, 4), dec("-0.03"));
        assert_eq!(prorated(dec("39.99"), 31, 31), dec("39.99"));
    }

    #[test]
    fn an_issued_invoice_follows_its_items_and_the_clock() {
        let due = day("2019-01-01");
        let owed = Totals { total_due: dec("29.99"), total_paid: dec("0") };
        let part = Totals { total_due: dec("29.99"), total_paid: dec("10") };
        let all = Totals { total_due: dec("29.99"), total_paid: dec("29.99") };
        assert_eq!(status(Status::Pending, owed, due, day("2019-01-01")), Status::Pending);
        assert_eq!(status(Status::Pending, owed, due, day("2019-01-02")), Status::Overdue);
        assert_eq!(status(Status::Pending, part, due, day("2018-12-31")), Status::PartiallyPaid);
        assert_eq!(status(Status::Overdue, part, due, day("2019-01-02")), Status::Overdue);
        assert_eq!(status(Status::Overdue, all, due, day("2019-02-01")), Status::Paid);
        assert_eq!(status(Status::Paid, owed, due, day("2018-12-01")), Status::Pending);
        assert_eq!(status(Status::Draft, owed, due, day("2019-02-01")), Status::Draft);
        assert_eq!(status(Status::Closed, all, due, day("2019-02-01")), Status::Closed);
    }

    #[test]
    fn the_partner_issues_drafts_and_closes_unpaid_invoices_only() {
        assert_eq!(refusal(Status::Draft, Status::Pending), None);
        assert_eq!(refusal(Status::Overdue, Status::Closed), None);
        assert_eq!(refusal(Status::Pending, Status::Pending), None);
        assert!(refusal(Status::Paid, Status::Closed).unwrap().contains("paid invoice"));
        assert!(refusal(Status::Closed, Status::Pending).unwrap().contains("closed invoice"));
        assert!(refusal(Status::Overdue, Status::Pending).unwrap().contains("Only a draft"));
        assert!(refusal(Status::Pending, Status::Paid).unwrap().contains("follows from its items"));
        assert!(refusal(Status::Pending, Status::Draft).unwrap().contains("follows from its items"));
    }
}

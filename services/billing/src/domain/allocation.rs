//! How a payment is split over the invoices it pays, and how money that
//! went back is taken off them.

use rust_decimal::Decimal;

use super::invoice::Status;

/// The most invoices one payment pays.
pub const MAX_ALLOCATIONS: usize = 20;

/// An invoice as an allocation sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payable {
    /// Where it stands.
    pub status: Status,
    /// What is left to pay on it.
    pub amount_due: Decimal,
    /// What payments in flight have reserved of it.
    pub reserved: Decimal,
    /// For a payment made for one of its payers: what is left of that
    /// payer's part, less what payments in flight have reserved of it.
    pub payer_left: Option<Decimal>,
}

impl Payable {
    /// What a new payment may still allocate to it.
    pub fn available(self) -> Decimal {
        let invoice = (self.amount_due - self.reserved).max(Decimal::ZERO);
        self.payer_left.map_or(invoice, |left| invoice.min(left.max(Decimal::ZERO)))
    }
}

/// Why an invoice cannot take a payment now, if it cannot.
pub fn unpayable(status: Status) -> Option<&'static str> {
    match status {
        Status::Draft => Some("The invoice is a draft: issue it (status=pending) before it is paid"),
        Status::Closed => Some("The invoice is closed: it is not collected"),
        Status::Paid => Some("The invoice is paid"),
        Status::Pending | Status::PartiallyPaid | Status::Overdue => None,
    }
}

/// The amounts of a payment of `pool` over `invoices`, each with the
/// amount given for it, if any: a given amount must be positive and at
/// most what the invoice has available; an allocation without one takes
/// what is available, up to what is left of the payment; together they are
/// at most the payment. The problems name the allocation (by index) and
/// the attribute.
pub fn split(
    pool: Decimal,
    invoices: &[(Payable, Option<Decimal>)],
) -> Result<Vec<Decimal>, Vec<(usize, &'static str, String)>> {
    let mut problems = Vec::new();
    let mut left = pool;
    let mut out = Vec::with_capacity(invoices.len());
    for (i, (invoice, given)) in invoices.iter().enumerate() {
        if let Some(why) = unpayable(invoice.status) {
            problems.push((i, "invoice_id", why.to_owned()));
            out.push(Decimal::ZERO);
            continue;
        }
        let available = invoice.available();
        let amount = match *given {
            Some(amount) if amount <= Decimal::ZERO => {
                problems.push((i, "amount", "Must be greater than 0".to_owned()));
                Decimal::ZERO
            }
            Some(amount) if amount > available => {
                problems.push((i, "amount", exceeds(*invoice)));
                Decimal::ZERO
            }
            Some(amount) => amount,
            None if available == Decimal::ZERO => {
                problems.push((i, "invoice_id", exceeds(*invoice)));
                Decimal::ZERO
            }
            None => available.min(left.max(Decimal::ZERO)),
        };
        left -= amount;
        out.push(amount);
    }
    if left < Decimal::ZERO {
        let last = invoices.len().saturating_sub(1);
        problems.push((last, "amount", format!("The allocations add up to more than the payment's {pool}")));
    }
    if problems.is_empty() && out.contains(&Decimal::ZERO) {
        let i = out.iter().position(|a| *a == Decimal::ZERO).unwrap_or(0);
        problems.push((i, "invoice_id", "Nothing of the payment is left for this invoice".to_owned()));
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

fn exceeds(invoice: Payable) -> String {
    if let Some(left) = invoice.payer_left
        && left < (invoice.amount_due - invoice.reserved)
    {
        return format!(
            "Exceeds what is left of the payer's part of the invoice ({})",
            left.max(Decimal::ZERO)
        );
    }
    if invoice.reserved > Decimal::ZERO {
        format!(
            "Exceeds what is left to pay on the invoice: {} of its {} due is held by payments in flight",
            invoice.reserved, invoice.amount_due
        )
    } else {
        format!("Exceeds what is left to pay on the invoice ({})", invoice.amount_due)
    }
}

/// How `back` (money of a payment that went back) is taken off its applied
/// allocations, given as (amount, reversed so far), the latest first: the
/// amount to reverse on each, in the order given.
pub fn reversal(back: Decimal, applied: &[(Decimal, Decimal)]) -> Vec<Decimal> {
    let mut left = back;
    applied
        .iter()
        .rev()
        .map(|(amount, reversed)| {
            let take = (*amount - *reversed).min(left).max(Decimal::ZERO);
            left -= take;
            take
        })
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

/// How `back` (money of a payment that came back to the merchant after it
/// went back: an overturned chargeback) is paid again on its allocations,
/// given as (reversed so far, what the invoice may still take), the
/// earliest first: the amount to re-apply on each.
pub fn reapplication(back: Decimal, reversed: &[(Decimal, Decimal)]) -> Vec<Decimal> {
    let mut left = back;
    reversed
        .iter()
        .map(|(reversed, room)| {
            let take = (*reversed).min(*room).min(left).max(Decimal::ZERO);
            left -= take;
            take
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn open(due: &str, reserved: &str) -> Payable {
        Payable { status: Status::Pending, amount_due: dec(due), reserved: dec(reserved), payer_left: None }
    }

    #[test]
    fn an_allocation_without_an_amount_takes_what_is_left_up_to_the_payment() {
        assert_eq!(split(dec("29.99"), &[(open("29.99", "0"), None)]), Ok(vec![dec("29.99")]));
        assert_eq!(split(dec("10"), &[(open("29.99", "0"), None)]), Ok(vec![dec("10")]));
        assert_eq!(
            split(dec("150"), &[(open("100", "0"), None), (open("80", "0"), None)]),
            Ok(vec![dec("100"), dec("50")])
        );
        assert_eq!(
            split(dec("150"), &[(open("100", "0"), Some(dec("30"))), (open("80", "0"), None)]),
            Ok(vec![dec("30"), dec("80")])
        );
    }

    #[test]
    fn an_allocation_never_exceeds_what_is_left_less_what_is_held() {
        let problems = split(dec("100"), &[(open("100", "60"), Some(dec("50")))]).unwrap_err();
        assert_eq!(problems[0].1, "amount");
        assert!(problems[0].2.contains("held by payments in flight"), "{problems:?}");
        let problems = split(dec("100"), &[(open("100", "100"), None)]).unwrap_err();
        assert_eq!(problems[0].1, "invoice_id");
        let problems = split(dec("50"), &[(open("100", "0"), Some(dec("60")))]).unwrap_err();
        assert!(problems[0].2.contains("more than the payment"), "{problems:?}");
        let problems = split(dec("50"), &[(open("100", "0"), Some(dec("-1")))]).unwrap_err();
        assert_eq!(problems[0].2, "Must be greater than 0");
        assert_eq!(
            split(dec("50"), &[(open("40", "0"), None), (open("40", "0"), None)]),
            Ok(vec![dec("40"), dec("10")])
        );
        let problems = split(dec("40"), &[(open("40", "0"), None), (open("40", "0"), None)]).unwrap_err();
        assert_eq!((problems[0].0, problems[0].1), (1, "invoice_id"));
    }

    #[test]
    fn a_payment_for_a_payer_never_exceeds_what_is_left_of_its_part() {
        // PlacePay's 600 / 400 of 1,000: the second payer owes 400.
        let second = Payable { payer_left: Some(dec("400")), ..open("1000", "0") };
        assert_eq!(split(dec("1000"), &[(second, None)]), Ok(vec![dec("400")]));
        let problems = split(dec("500"), &[(second, Some(dec("401")))]).unwrap_err();
        assert!(problems[0].2.contains("payer's part"), "{problems:?}");
        // The invoice's own balance still bounds it.
        let late = Payable { payer_left: Some(dec("400")), ..open("300", "0") };
        assert_eq!(split(dec("400"), &[(late, None)]), Ok(vec![dec("300")]));
    }

    #[test]
    fn drafts_closed_and_paid_invoices_take_no_payment() {
        for status in [Status::Draft, Status::Closed, Status::Paid] {
            let invoice =
                Payable { status, amount_due: dec("10"), reserved: Decimal::ZERO, payer_left: None };
            assert_eq!(split(dec("10"), &[(invoice, None)]).unwrap_err()[0].1, "invoice_id");
        }
    }

    #[test]
    fn money_that_came_back_pays_the_earliest_again_up_to_what_each_invoice_takes() {
        // A 150 chargeback of 100 + 50, overturned: both paid again.
        assert_eq!(
            reapplication(dec("150"), &[(dec("100"), dec("100")), (dec("50"), dec("50"))]),
            vec![dec("100"), dec("50")]
        );
        // The first invoice was paid meanwhile by another payment for 70.
        assert_eq!(
            reapplication(dec("150"), &[(dec("100"), dec("30")), (dec("50"), dec("50"))]),
            vec![dec("30"), dec("50")]
        );
        assert_eq!(reapplication(dec("20"), &[(dec("100"), dec("100"))]), vec![dec("20")]);
    }

    #[test]
    fn money_that_went_back_comes_off_the_latest_allocation_first() {
        let applied = [(dec("100"), dec("0")), (dec("50"), dec("0"))];
        assert_eq!(reversal(dec("70"), &applied), vec![dec("20"), dec("50")]);
        assert_eq!(reversal(dec("20"), &applied), vec![dec("0"), dec("20")]);
        let partly = [(dec("100"), dec("0")), (dec("50"), dec("50"))];
        assert_eq!(reversal(dec("500"), &partly), vec![dec("100"), dec("0")]);
    }
}

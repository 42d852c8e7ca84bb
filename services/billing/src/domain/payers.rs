//! Multi-payer invoices: how each charge item is divided among an
//! invoice's payers, and where each payer stands.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The most payers one invoice has.
pub const MAX_PAYERS: usize = 20;

const CENT: Decimal = Decimal::from_parts(1, 0, 0, false, 2);

/// One payer of an invoice, as stored with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    /// The payer id: what a payment for this payer names.
    pub id: Uuid,
    /// The customer account paying.
    pub account_id: Uuid,
    /// Its part of the charge items.
    pub amount_allocated: Decimal,
    /// What its payment items add up to.
    pub amount_paid: Decimal,
    /// When its latest payment item was recorded.
    pub last_payment_at: Option<DateTime<Utc>>,
}

impl Payer {
    /// A new payer of `account_id`, with nothing allocated or paid yet.
    pub fn new(account_id: Uuid) -> Self {
        Self {
            id: Uuid::now_v7(),
            account_id,
            amount_allocated: Decimal::ZERO,
            amount_paid: Decimal::ZERO,
            last_payment_at: None,
        }
    }

    /// What is left of its part: never below zero.
    pub fn left(&self) -> Decimal {
        (self.amount_allocated - self.amount_paid).max(Decimal::ZERO)
    }

    /// Whether it has paid all of a part above zero.
    pub fn paid(&self) -> bool {
        self.amount_allocated > Decimal::ZERO && self.amount_paid >= self.amount_allocated
    }
}

/// How a payer's part of an item was set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Given by the partner.
    Custom,
    /// What custom parts leave, split evenly.
    Auto,
}

/// One payer's part of a charge item, as stored with the item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    /// The invoice payer.
    pub payer_id: Uuid,
    /// Its customer account.
    pub account_id: Uuid,
    /// Its part of the item's total.
    pub amount: Decimal,
    /// How it was set.
    #[serde(rename = "type")]
    pub kind: Kind,
}

/// The parts of an item of `total` among `payers`, in their order: a payer
/// with a `custom` part keeps it; what is left is split evenly among the
/// others, to the cent toward zero, the first of them taking the odd cents.
/// Custom parts of payers no longer on the invoice are dropped.
pub fn divide(total: Decimal, payers: &[Payer], custom: &[(Uuid, Decimal)]) -> Vec<Share> {
    let given = |payer: &Payer| custom.iter().find(|(id, _)| *id == payer.id).map(|(_, amount)| *amount);
    let kept: Decimal = payers.iter().filter_map(given).sum();
    let auto = payers.iter().filter(|p| given(p).is_none()).count();
    let rest = total - kept;
    let (each, mut odd) = match Decimal::from(auto) {
        n if n == Decimal::ZERO => (Decimal::ZERO, Decimal::ZERO),
        n => {
            let each = (rest / n / CENT).trunc() * CENT;
            (each, rest - each * n)
        }
    };
    let step = if rest < Decimal::ZERO { -CENT } else { CENT };
    payers
        .iter()
        .map(|payer| match given(payer) {
            Some(amount) => {
                Share { payer_id: payer.id, account_id: payer.account_id, amount, kind: Kind::Custom }
            }
            None => {
                let mut amount = each;
                if odd != Decimal::ZERO {
                    amount += step;
                    odd -= step;
                }
                Share { payer_id: payer.id, account_id: payer.account_id, amount, kind: Kind::Auto }
            }
        })
        .collect()
}

/// Why custom parts cannot divide an item of `total`, if they cannot: each
/// is of the total's sign, and together they are at most the total.
pub fn refusal(total: Decimal, custom: &[Decimal]) -> Option<String> {
    if custom.iter().any(|a| {
        (*a < Decimal::ZERO && total > Decimal::ZERO) || (*a > Decimal::ZERO && total < Decimal::ZERO)
    }) {
        return Some(format!("Each part has the sign of the item's total ({total})"));
    }
    let sum: Decimal = custom.iter().sum();
    (sum.abs() > total.abs())
        .then(|| format!("The parts add up to {sum}, more than the item's total ({total})"))
}

/// A payment item as a payer's standing sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paid {
    /// The payer that paid, if the item names one.
    pub payer_id: Option<Uuid>,
    /// What it paid (negative: taken back).
    pub total: Decimal,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// The payers' standings after their items' `shares` and `payments`: each
/// payer's part and what it paid (a payment naming no payer counts for the
/// only payer, if there is one); and what of `total_due` no payer is
/// assigned.
pub fn standings(
    payers: &[Payer],
    shares: &[Share],
    payments: &[Paid],
    total_due: Decimal,
) -> (Vec<Payer>, Decimal) {
    let only = match payers {
        [one] => Some(one.id),
        _ => None,
    };
    let out: Vec<Payer> = payers
        .iter()
        .map(|payer| {
            let mine = payments.iter().filter(|p| p.payer_id.or(only) == Some(payer.id));
            Payer {
                amount_allocated: shares.iter().filter(|s| s.payer_id == payer.id).map(|s| s.amount).sum(),
                amount_paid: mine.clone().map(|p| p.total).sum(),
                last_payment_at: mine.filter(|p| p.total > Decimal::ZERO).map(|p| p.at).max(),
                ..payer.clone()
            }
        })
        .collect();
    let allocated: Decimal = shares.iter().map(|s| s.amount).sum();
    (out, total_due - allocated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn payers(n: usize) -> Vec<Payer> {
        (0..n).map(|_| Payer::new(Uuid::now_v7())).collect()
    }

    fn amounts(shares: &[Share]) -> Vec<Decimal> {
        shares.iter().map(|s| s.amount).collect()
    }

    #[test]
    fn placepays_600_and_400_of_1000_are_kept_as_given() {
        let two = payers(2);
        let shares = divide(dec("1000"), &two, &[(two[0].id, dec("600")), (two[1].id, dec("400"))]);
        assert_eq!(amounts(&shares), vec![dec("600"), dec("400")]);
        assert!(shares.iter().all(|s| s.kind == Kind::Custom));
        assert_eq!(shares[1].account_id, two[1].account_id);
    }

    #[test]
    fn what_custom_parts_leave_is_split_evenly_the_first_taking_the_odd_cents() {
        let three = payers(3);
        assert_eq!(amounts(&divide(dec("100"), &three, &[])), vec![dec("33.34"), dec("33.33"), dec("33.33")]);
        assert_eq!(amounts(&divide(dec("0.02"), &three, &[])), vec![dec("0.01"), dec("0.01"), dec("0")]);
        let shares = divide(dec("100"), &three, &[(three[1].id, dec("50"))]);
        assert_eq!(amounts(&shares), vec![dec("25"), dec("50"), dec("25")]);
        assert_eq!(
            shares.iter().map(|s| s.kind).collect::<Vec<_>>(),
            vec![Kind::Auto, Kind::Custom, Kind::Auto]
        );
        // A credit is split the same way, toward zero.
        assert_eq!(amounts(&divide(dec("-10"), &three, &[])), vec![dec("-3.34"), dec("-3.33"), dec("-3.33")]);
        // One payer takes it all.
        assert_eq!(amounts(&divide(dec("29.99"), &payers(1), &[])), vec![dec("29.99")]);
    }

    #[test]
    fn custom_parts_have_the_items_sign_and_fit_in_it() {
        assert_eq!(refusal(dec("1000"), &[dec("600"), dec("400")]), None);
        assert!(
            refusal(dec("1000"), &[dec("600"), dec("401")]).unwrap().contains("more than the item's total")
        );
        assert!(refusal(dec("1000"), &[dec("-1")]).unwrap().contains("sign"));
        assert!(refusal(dec("-10"), &[dec("-11")]).unwrap().contains("more than"));
        assert_eq!(refusal(dec("-10"), &[dec("-4")]), None);
    }

    #[test]
    fn each_payer_stands_by_its_parts_and_its_payments() {
        let two = payers(2);
        let at = DateTime::<Utc>::from_timestamp(1_514_764_800, 0).unwrap();
        let mut shares = divide(dec("1000"), &two, &[(two[0].id, dec("600")), (two[1].id, dec("400"))]);
        shares.extend(divide(dec("50"), &two, &[]));
        let payments = [
            Paid { payer_id: Some(two[0].id), total: dec("600"), at },
            Paid { payer_id: Some(two[1].id), total: dec("100"), at },
            Paid { payer_id: None, total: dec("5"), at },
        ];
        let (after, unallocated) = standings(&two, &shares, &payments, dec("1050"));
        assert_eq!((after[0].amount_allocated, after[0].amount_paid), (dec("625"), dec("600")));
        assert_eq!((after[1].amount_allocated, after[1].amount_paid), (dec("425"), dec("100")));
        assert_eq!((after[0].left(), after[1].left()), (dec("25"), dec("325")));
        assert!(!after[0].paid());
        assert_eq!(after[0].last_payment_at, Some(at));
        assert_eq!(unallocated, Decimal::ZERO);

        // Custom parts that leave some of an item to no one.
        let shares = divide(dec("1000"), &two, &[(two[0].id, dec("600")), (two[1].id, dec("300"))]);
        assert_eq!(standings(&two, &shares, &[], dec("1000")).1, dec("100"));

        // A payment naming no payer counts for an only payer.
        let one = payers(1);
        let shares = divide(dec("29.99"), &one, &[]);
        let (after, _) =
            standings(&one, &shares, &[Paid { payer_id: None, total: dec("29.99"), at }], dec("29.99"));
        assert!(after[0].paid());
    }
}

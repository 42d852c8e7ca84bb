//! The ledger's invariants, checked against the database: what must hold
//! after any sequence of operations. Tests run [`check`] after every
//! scenario; operators can run it against a live database.

use sqlx::{PgPool, Row};

/// Every broken invariant, described; empty when the ledger is sound.
///
/// - every posting sums to zero;
/// - every payment's processed refunds add up to its `refunded_amount`,
///   which is at most its amount;
/// - an intent is charged at most once (a payment voided before anything
///   moved does not count);
/// - a payment is pending only while its attempt exists, and an attempt
///   belongs to a pending payment;
/// - every stored balance equals the sum of its account's entries;
/// - money moved only for payments that were captured: a pending,
///   declined or authorized payment has no entries, a voided or rejected one nets to
///   zero in processor clearing;
/// - a deposit pays out exactly what its ledger lists, and every batched
///   payment is in exactly one deposit;
/// - a payment of an intent is paid out alone, on its delivery date, by
///   its payout method.
pub async fn check(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let mut broken = Vec::new();
    let checks: [(&str, &str); 9] = [
        (
            "posting does not balance",
            "SELECT posting_id::text AS what FROM payments.ledger_entries GROUP BY posting_id HAVING sum(amount) <> 0",
        ),
        (
            "refunds do not match refunded_amount, or exceed the payment",
            "SELECT p.id::text AS what FROM payments.transactions p \
             LEFT JOIN payments.transaction_ledgers l ON l.transaction_id = p.id AND l.entry_type = 'refund' \
             WHERE p.type = 'payment' GROUP BY p.id, p.refunded_amount, p.amount \
             HAVING coalesce(-sum(l.amount), 0) <> p.refunded_amount OR p.refunded_amount > p.amount",
        ),
        (
            "intent charged more than once",
            "SELECT payment_intent_id::text AS what FROM payments.transactions \
             WHERE type = 'payment' AND payment_intent_id IS NOT NULL AND status <> 'declined' \
               AND NOT (status = 'voided' AND funding_status = 'pending') \
             GROUP BY payment_intent_id HAVING count(*) > 1",
        ),
        (
            "pending payment without its attempt, or attempt of a payment no longer pending",
            "SELECT coalesce(t.id, a.transaction_id)::text AS what FROM payments.transactions t \
             FULL JOIN payments.payment_attempts a ON a.transaction_id = t.id \
             WHERE (t.status = 'pending') IS DISTINCT FROM (a.transaction_id IS NOT NULL) \
               AND (t.id IS NULL OR t.type = 'payment')",
        ),
        (
            "balance differs from its entries",
            "SELECT b.account || ' ' || b.currency AS what FROM payments.ledger_balances b \
             LEFT JOIN (SELECT partner_id, livemode, account, currency, sum(amount) AS total \
                        FROM payments.ledger_entries GROUP BY 1, 2, 3, 4) e \
             USING (partner_id, livemode, account, currency) \
             WHERE b.balance <> coalesce(e.total, 0)",
        ),
        (
            "payment moved money it never captured",
            "SELECT t.id::text AS what FROM payments.transactions t \
             JOIN payments.ledger_entries e ON e.transaction_id = t.id AND e.account = 'processor_clearing' \
             WHERE t.type = 'payment' GROUP BY t.id, t.status, t.amount \
             HAVING (t.status IN ('pending', 'declined', 'authorized', 'voided', 'rejected') AND sum(e.amount) <> 0) \
                 OR (t.status IN ('processed', 'processing') AND sum(e.amount) <> t.amount)",
        ),
        (
            "deposit does not pay out what its ledger lists",
            "SELECT d.id::text AS what FROM payments.transactions d \
             LEFT JOIN payments.transaction_ledgers l ON l.transaction_id = d.id \
             WHERE d.type = 'deposit' GROUP BY d.id, d.amount HAVING coalesce(sum(l.amount), 0) <> d.amount",
        ),
        (
            "batched transaction not in exactly one deposit",
            "SELECT t.id::text AS what FROM payments.transactions t \
             LEFT JOIN payments.transaction_ledgers l ON l.transaction_id = t.id AND l.entry_type = 'deposit' \
             WHERE t.funding_status = 'batched' AND t.type IN ('payment', 'chargeback_reversal') \
             GROUP BY t.id HAVING count(l.id) <> 1",
        ),
        (
            "intent payment not paid out alone on its delivery date by its payout method",
            "SELECT p.id::text AS what FROM payments.transactions p \
             JOIN payments.transaction_ledgers l ON l.transaction_id = p.id AND l.entry_type = 'deposit' \
             JOIN payments.transactions d ON d.id = l.assoc_transaction_id \
             WHERE p.delivery_date IS NOT NULL \
               AND (d.delivery_date < p.delivery_date \
                    OR d.payout_method IS DISTINCT FROM p.payout_method \
                    OR (SELECT count(*) FROM payments.transaction_ledgers o WHERE o.transaction_id = d.id) <> 1)",
        ),
    ];
    for (invariant, sql) in checks {
        for row in sqlx::query(sql).fetch_all(pool).await? {
            let what: String = row.try_get("what")?;
            broken.push(format!("{invariant}: {what}"));
        }
    }
    Ok(broken)
}

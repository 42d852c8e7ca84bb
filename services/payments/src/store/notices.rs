//! Billing notices: what the billing service must hear about a payment
//! that pays invoices — its allocations applied, released or reversed.
//! Each is written (by `writes::notify`) in the database transaction of the
//! change it reports, so no outcome, refund, void, return or chargeback
//! goes unreported; here they are read to be delivered, at least once
//! (billing settles each notice once, by id).

use chrono::{DateTime, TimeDelta, Utc};
use paymesh_kit::{Error, auth::Scope, money::Currency};
use rust_decimal::Decimal;
use sqlx::Row;
use uuid::Uuid;

use super::{Store, rows::corrupt};

/// How long a sender holds the notices it took.
const HOLD: TimeDelta = TimeDelta::seconds(30);

/// A notice to deliver.
#[derive(Clone, Debug)]
pub(crate) struct Notice {
    pub(crate) id: Uuid,
    pub(crate) scope: Scope,
    pub(crate) transaction_id: Uuid,
    /// `apply`, `release` or `reverse`.
    pub(crate) settlement: String,
    pub(crate) amount: Option<Decimal>,
    pub(crate) currency: Currency,
    /// The transaction that took the money back (a refund, a chargeback).
    pub(crate) reversing: Option<Uuid>,
}

impl Store {
    /// Takes at most `at_most` undelivered notices, oldest first, each held
    /// from `now` for a while: only the oldest undelivered notice of a
    /// payment, so that billing hears a payment's notices in their order
    /// (an apply before the reversal of it) however many senders run.
    pub(crate) async fn due_notices(&self, now: DateTime<Utc>, at_most: i64) -> Result<Vec<Notice>, Error> {
        let rows = sqlx::query(
            "UPDATE billing_notices SET locked_until = $2 WHERE id IN ( \
                 SELECT n.id FROM billing_notices n WHERE n.delivered_at IS NULL \
                 AND (n.locked_until IS NULL OR n.locked_until <= $1) \
                 AND NOT EXISTS (SELECT 1 FROM billing_notices e WHERE e.transaction_id = n.transaction_id \
                     AND e.delivered_at IS NULL AND (e.created_at, e.id) < (n.created_at, n.id)) \
                 ORDER BY n.created_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, partner_id, livemode, transaction_id, settlement, amount, currency, \
                 reversing_transaction_id, created_at",
        )
        .bind(now)
        .bind(now + HOLD)
        .bind(at_most)
        .fetch_all(&self.pool)
        .await?;
        let mut notices = rows
            .iter()
            .map(|row| Ok((row.try_get::<DateTime<Utc>, _>("created_at")?, notice(row)?)))
            .collect::<Result<Vec<_>, Error>>()?;
        // Oldest first: a payment's notices are settled in their order.
        notices.sort_by_key(|(at, n)| (*at, n.id));
        Ok(notices.into_iter().map(|(_, n)| n).collect())
    }

    /// The undelivered notices of payment `transaction`, oldest first,
    /// whoever holds them (billing settles a notice sent twice once).
    pub(crate) async fn notices_of(&self, transaction: Uuid) -> Result<Vec<Notice>, Error> {
        let rows = sqlx::query(
            "SELECT id, partner_id, livemode, transaction_id, settlement, amount, currency, \
                 reversing_transaction_id FROM billing_notices \
             WHERE transaction_id = $1 AND delivered_at IS NULL ORDER BY created_at, id",
        )
        .bind(transaction)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(notice).collect()
    }

    /// Records notice `id` as delivered.
    pub(crate) async fn delivered(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), Error> {
        sqlx::query("UPDATE billing_notices SET delivered_at = $2, locked_until = NULL WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// A notice as read.
fn notice(row: &sqlx::postgres::PgRow) -> Result<Notice, Error> {
    let currency: String = row.try_get("currency")?;
    Ok(Notice {
        id: row.try_get("id")?,
        scope: Scope { partner_id: row.try_get("partner_id")?, livemode: row.try_get("livemode")? },
        transaction_id: row.try_get("transaction_id")?,
        settlement: row.try_get("settlement")?,
        amount: row.try_get("amount")?,
        currency: Currency::parse(&currency).map_err(|_| corrupt("currency"))?,
        reversing: row.try_get("reversing_transaction_id")?,
    })
}

//! The work the clock makes due: bank payments settle, aftermaths are
//! applied, and what settled is paid out in deposits.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use paymesh_kit::{
    Error,
    auth::Scope,
    money::{Currency, Money},
};
use sqlx::{Postgres, Row, Transaction as DbTransaction};
use uuid::Uuid;

use super::{
    Store,
    aftermaths::{AftermathKind, schedule_aftermath},
    rows::{TRANSACTION_COLUMNS, corrupt, read_transaction, scope_of, word},
    writes::{insert_row, link_both, lock, post, record, reverse, update_row},
};
use crate::{
    connector::AchReturn,
    domain::{Payout, PayoutMethod, Returned, Transaction},
};

impl Store {
    /// Bank payments due to settle by `now`: processing → processed.
    /// Returns how many settled.
    pub(crate) async fn settle_due(&self, now: DateTime<Utc>) -> Result<u64, Error> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "SELECT {TRANSACTION_COLUMNS}, partner_id FROM transactions \
             WHERE status = 'processing' AND settles_at <= $1 ORDER BY settles_at LIMIT 500 \
             FOR UPDATE SKIP LOCKED"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).fetch_all(&mut *tx).await?;
        let mut settled = 0;
        for row in &rows {
            let scope = scope_of(row)?;
            let mut transaction = read_transaction(row)?;
            if !transaction.settle(now) {
                return Err(corrupt("status"));
            }
            update_row(&mut tx, scope, &transaction).await?;
            schedule_aftermath(&mut tx, transaction.id, (now, transaction.amount.currency)).await?;
            record(&mut tx, scope, &transaction, "settled").await?;
            settled += 1;
        }
        tx.commit().await?;
        Ok(settled)
    }

    /// Applies the aftermaths due by `now` (bank returns, chargebacks and
    /// their reversals), each in its own database transaction under the
    /// payment's row lock. Returns how many were applied.
    pub(crate) async fn apply_aftermaths(&self, now: DateTime<Utc>, at_most: u32) -> Result<u32, Error> {
        let mut applied = 0;
        while applied < at_most {
            let mut tx = self.pool.begin().await?;
            let due = sqlx::query(
                "SELECT payment_id, partner_id, livemode, kind, return_code, reverse_after_days, chargeback_id \
                 FROM aftermaths WHERE due_at <= $1 ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED",
            )
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(due) = due else { break };
            let scope = Scope { partner_id: due.try_get("partner_id")?, livemode: due.try_get("livemode")? };
            let payment_id: Uuid = due.try_get("payment_id")?;
            let mut payment = lock(&mut tx, scope, payment_id).await?;
            let kind: String = due.try_get("kind")?;
            let next = match word(AftermathKind::parse, &kind, "aftermath")? {
                AftermathKind::BankReject => {
                    let code: Option<String> = due.try_get("return_code")?;
                    let code =
                        code.as_deref().and_then(AchReturn::parse).ok_or_else(|| corrupt("return code"))?;
                    let returned = payment.reject(code, now)?;
                    returned_payment(&mut tx, scope, &payment, returned, "bank_account_reject", now).await?;
                    None
                }
                AftermathKind::Chargeback => {
                    let reverse_after: Option<i32> = due.try_get("reverse_after_days")?;
                    let returned = payment.charge_back(now)?;
                    let chargeback = returned.as_ref().and_then(|r| r.chargeback.as_ref()).map(|c| c.id);
                    returned_payment(&mut tx, scope, &payment, returned, "chargeback", now).await?;
                    chargeback.zip(reverse_after)
                }
                AftermathKind::ChargebackReversal => {
                    let chargeback_id: Option<Uuid> = due.try_get("chargeback_id")?;
                    let chargeback =
                        lock(&mut tx, scope, chargeback_id.ok_or_else(|| corrupt("chargeback"))?).await?;
                    let (reversal, posting) = chargeback.overturn(now)?;
                    insert_row(&mut tx, scope, &reversal).await?;
                    link_both(
                        &mut tx,
                        scope,
                        &reversal,
                        &chargeback,
                        chargeback.amount,
                        chargeback.amount,
                        now,
                    )
                    .await?;
                    post(&mut tx, scope, reversal.id, &posting, now).await?;
                    record(&mut tx, scope, &reversal, "chargeback_reversal").await?;
                    // What the chargeback took off invoices is paid again.
                    let again = super::writes::Settlement::Reapply(chargeback.amount.amount);
                    super::writes::notify(&mut tx, scope, &payment, again, Some(reversal.id)).await?;
                    None
                }
            };
            match next {
                Some((chargeback, days)) => {
                    sqlx::query(
                        "UPDATE aftermaths SET kind = $4, chargeback_id = $2, reverse_after_days = NULL, \
                         due_at = $3 WHERE payment_id = $1",
                    )
                    .bind(payment_id)
                    .bind(chargeback)
                    .bind(now + TimeDelta::days(i64::from(days)))
                    .bind(AftermathKind::ChargebackReversal.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM aftermaths WHERE payment_id = $1")
                        .bind(payment_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            applied += 1;
        }
        Ok(applied)
    }

    /// Payments held from settlement after `after`, in id order, at most
    /// `at_most`, each with its partner and mode.
    pub(crate) async fn held(&self, after: Option<Uuid>, at_most: u32) -> Result<Vec<(Scope, Uuid)>, Error> {
        let rows = sqlx::query(
            "SELECT partner_id, livemode, id FROM transactions WHERE settlement_held \
               AND ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(at_most))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((scope_of(row)?, row.try_get("id")?))).collect()
    }

    /// Releases held payments `ids` of `scope` for settlement; answers how
    /// many were held.
    pub(crate) async fn release(&self, scope: Scope, ids: &[Uuid], now: DateTime<Utc>) -> Result<u32, Error> {
        if ids.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE transactions SET settlement_held = false, modified_at = $4 \
             WHERE partner_id = $1 AND livemode = $2 AND id = ANY($3) AND settlement_held",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(ids)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(u32::try_from(done.rows_affected()).unwrap_or(u32::MAX))
    }

    /// The processing accounts (with partner, mode and currency) that have
    /// transactions for the daily deposit settled before `before` and not
    /// yet paid out.
    pub(crate) async fn depositable(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<(Scope, Uuid, Currency)>, Error> {
        let rows = sqlx::query(
            "SELECT DISTINCT partner_id, livemode, processing_id, currency FROM transactions \
             WHERE status = 'processed' AND funding_status = 'captured' \
               AND type IN ('payment', 'chargeback_reversal') AND settled_at < $1 AND processing_id IS NOT NULL \
               AND delivery_date IS NULL AND NOT settlement_held \
             LIMIT 100",
        )
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let scope = scope_of(row)?;
                let currency: String = row.try_get("currency")?;
                let currency = Currency::parse(&currency).map_err(|_| corrupt("currency"))?;
                Ok((scope, row.try_get("processing_id")?, currency))
            })
            .collect()
    }

    /// Pays out to `processing` what settled before `before` in `currency`
    /// by `payout` (the account's payout method), dated `now`'s day: one
    /// deposit whose ledger lists what it takes, each marked batched, fees
    /// withheld when `netted`. Payments of intents wait for their own
    /// payout ([`Store::pay_out`]). `None` when nothing is due, or what is
    /// due does not add up to more than zero (it waits for more).
    pub(crate) async fn deposit(
        &self,
        scope: Scope,
        (processing, currency, payout): (Uuid, Currency, Option<PayoutMethod>),
        before: DateTime<Utc>,
        netted: bool,
        (connector, now): (&str, DateTime<Utc>),
    ) -> Result<Option<Transaction>, Error> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "SELECT {TRANSACTION_COLUMNS} FROM transactions \
             WHERE partner_id = $1 AND livemode = $2 AND processing_id = $3 AND currency = $4 \
               AND status = 'processed' AND funding_status = 'captured' \
               AND type IN ('payment', 'chargeback_reversal') AND settled_at < $5 AND delivery_date IS NULL \
               AND NOT settlement_held \
             ORDER BY id FOR UPDATE"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(processing)
            .bind(currency.code())
            .bind(before)
            .fetch_all(&mut *tx)
            .await?;
        let items = rows.iter().map(read_transaction).collect::<Result<Vec<_>, Error>>()?;
        let payout = Payout { processing, method: payout, date: now.date_naive(), netted };
        write_deposit(tx, scope, items, &payout, (connector, now)).await
    }

    /// The payments of payment intents whose delivery date has come by
    /// `today` and that are settled and not yet paid out, at most
    /// `at_most`: (partner and mode, payment, processing account).
    pub(crate) async fn payouts_due(
        &self,
        today: NaiveDate,
        at_most: u32,
    ) -> Result<Vec<(Scope, Uuid, Uuid)>, Error> {
        let rows = sqlx::query(
            "SELECT partner_id, livemode, id, processing_id FROM transactions \
             WHERE status = 'processed' AND funding_status = 'captured' AND type = 'payment' \
               AND delivery_date <= $1 AND NOT settlement_held \
             ORDER BY delivery_date, id LIMIT $2",
        )
        .bind(today)
        .bind(i64::from(at_most))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let scope = scope_of(row)?;
                Ok((scope, row.try_get("id")?, row.try_get("processing_id")?))
            })
            .collect()
    }

    /// Pays out payment `id` of an intent on its own, on its delivery date
    /// and by its payout method: a deposit of the recipient's share, fees
    /// withheld when `netted`. `None` if it is no longer due (paid out,
    /// refunded, returned or charged back meanwhile) or its share is not
    /// more than zero.
    pub(crate) async fn pay_out(
        &self,
        scope: Scope,
        id: Uuid,
        netted: bool,
        (connector, now): (&str, DateTime<Utc>),
    ) -> Result<Option<Transaction>, Error> {
        let mut tx = self.pool.begin().await?;
        let payment = lock(&mut tx, scope, id).await?;
        let Some(date) = payment.payout_due(now.date_naive()) else { return Ok(None) };
        let payout =
            Payout { processing: payment.processing()?, method: payment.payout_method, date, netted };
        write_deposit(tx, scope, vec![payment], &payout, (connector, now)).await
    }
}
/// Writes a deposit of `items` (locked by the caller in `tx`, in one
/// currency) as `payout` says and commits `tx`: its ledger lists what each
/// pays, each is marked batched, the account is debited and the event
/// recorded. `None` (and `tx` rolled back) when there are no items or they
/// do not add up to more than zero.
async fn write_deposit(
    mut tx: DbTransaction<'_, Postgres>,
    scope: Scope,
    items: Vec<Transaction>,
    payout: &Payout,
    (connector, now): (&str, DateTime<Utc>),
) -> Result<Option<Transaction>, Error> {
    let Some(currency) = items.first().map(|t| t.amount.currency) else { return Ok(None) };
    let Some((mut deposit, posting)) =
        Transaction::deposit(scope.livemode, (&items, currency), payout, connector, now)
    else {
        return Ok(None);
    };
    insert_row(&mut tx, scope, &deposit).await?;
    for mut item in items {
        let amount = Money::new(item.deposit_share(payout.netted), currency);
        let (link, _) = link_both(&mut tx, scope, &deposit, &item, amount, amount, now).await?;
        deposit.ledger.push(link);
        item.batch(now);
        update_row(&mut tx, scope, &item).await?;
    }
    post(&mut tx, scope, deposit.id, &posting, now).await?;
    record(&mut tx, scope, &deposit, "deposit").await?;
    tx.commit().await?;
    Ok(Some(deposit))
}

/// Writes what a bank return or a chargeback did to `payment` (already
/// changed): the payment, the chargeback if there is one (linked both
/// ways), the posting the processing account bears, the event, and a
/// reversal if the payment was paid out. Nothing when nothing was
/// `returned` (the payment was voided or refunded meanwhile).
async fn returned_payment(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    payment: &Transaction,
    returned: Option<Returned>,
    event: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let Some(returned) = returned else { return Ok(()) };
    let moved = match &returned.chargeback {
        Some(chargeback) => {
            insert_row(tx, scope, chargeback).await?;
            link_both(tx, scope, chargeback, payment, payment.amount, returned.amount, now).await?;
            update_row(tx, scope, payment).await?;
            chargeback
        }
        None => {
            update_row(tx, scope, payment).await?;
            payment
        }
    };
    post(tx, scope, moved.id, &returned.posting, now).await?;
    record(tx, scope, moved, event).await?;
    // What the payment paid of invoices is owed again.
    let back = super::writes::Settlement::Reverse(Some(returned.amount.amount));
    super::writes::notify(tx, scope, payment, back, Some(moved.id)).await?;
    if returned.paid_out {
        reverse(tx, scope, payment, returned.amount, now).await?;
    }
    Ok(())
}

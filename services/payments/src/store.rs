//! The SQL of the payments schema: transactions, their ledger links, the
//! double-entry journal with its balances, deposits and aftermaths.
//!
//! Every money movement is one database transaction that writes the
//! transaction row, its journal posting (and balances) and its outbox event.
//! Changes to a payment lock its row first (`FOR UPDATE`), so concurrent
//! refunds, captures and voids of one payment run one after another.
//!
//! Here: reads, and the changes partners ask for; [`rows`] the tables and
//! their rows; [`writes`] the statements every change is made of;
//! [`aftermaths`] what follows a settled payment; [`sweeps`] the work the
//! clock makes due (settlement, returns, chargebacks, deposits).

mod aftermaths;
pub(crate) mod attempts;
pub(crate) mod notices;
mod rows;
mod sweeps;
mod writes;

use paymesh_kit::{
    Error,
    auth::Scope,
    config::ListLimits,
    query::{Listing, list},
};
use paymesh_proto::common::v1::ListQuery;
use sqlx::PgPool;
use uuid::Uuid;

use self::{
    aftermaths::schedule_aftermath,
    rows::{LEDGER_COLUMNS, LEDGERS, TRANSACTION_COLUMNS, TRANSACTIONS, read_link, read_transaction},
    writes::{insert_row, link_both, lock, post, record, reverse, update_row},
};
use crate::domain::{LedgerLink, Posting, RefundRefusal, Status, Transaction};

/// The payments schema.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pool: PgPool,
}

impl Store {
    pub(crate) const fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Transaction `id` of the partner and mode, with its ledger.
    pub(crate) async fn get(&self, scope: Scope, id: Uuid) -> Result<Transaction, Error> {
        let sql = format!(
            "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE id = $1 AND partner_id = $2 AND livemode = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .fetch_optional(&self.pool)
            .await?;
        let mut transaction = row
            .as_ref()
            .map(read_transaction)
            .transpose()?
            .ok_or(Error::NotFound { resource: "Transaction" })?;
        transaction.ledger = self.links(&[id]).await?;
        Ok(transaction)
    }

    /// The ledger links of `ids`, oldest first (one query for a page).
    async fn links(&self, ids: &[Uuid]) -> Result<Vec<LedgerLink>, Error> {
        let sql = format!(
            "SELECT {LEDGER_COLUMNS} FROM transaction_ledgers WHERE transaction_id = ANY($1) ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids).fetch_all(&self.pool).await?;
        rows.iter().map(read_link).collect()
    }

    /// Transactions matching `query`, with their ledgers if asked.
    pub(crate) async fn list(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
        include_ledger: bool,
    ) -> Result<Listing<Transaction>, Error> {
        let mut listing =
            list(&self.pool, &TRANSACTIONS, scope, query, limits, |_| {}, read_transaction).await?;
        if include_ledger && !listing.items.is_empty() {
            let ids: Vec<Uuid> = listing.items.iter().map(|t| t.id).collect();
            let mut links = self.links(&ids).await?;
            for transaction in &mut listing.items {
                let (mine, rest): (Vec<_>, Vec<_>) =
                    links.into_iter().partition(|l| l.transaction_id == transaction.id);
                transaction.ledger = mine;
                links = rest;
            }
        }
        Ok(listing)
    }

    /// Ledger link `id` of the partner and mode.
    pub(crate) async fn ledger_link(&self, scope: Scope, id: Uuid) -> Result<LedgerLink, Error> {
        let sql = format!(
            "SELECT {LEDGER_COLUMNS} FROM transaction_ledgers WHERE id = $1 AND partner_id = $2 AND livemode = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(read_link).transpose()?.ok_or(Error::NotFound { resource: "TransactionLedger" })
    }

    /// Ledger links matching `query`.
    pub(crate) async fn list_links(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<LedgerLink>, Error> {
        list(&self.pool, &LEDGERS, scope, query, limits, |_| {}, read_link).await
    }

    /// Changes payment `id` under a row lock: `change` sees it as it is
    /// and changes it, answering the posting the change makes and its
    /// event name.
    pub(crate) async fn change(
        &self,
        scope: Scope,
        id: Uuid,
        change: impl FnOnce(&mut Transaction) -> Result<(Option<Posting>, &'static str), Error>,
    ) -> Result<Transaction, Error> {
        let mut tx = self.pool.begin().await?;
        let mut changed = lock(&mut tx, scope, id).await?;
        let was = changed.status;
        let (posting, event) = change(&mut changed)?;
        update_row(&mut tx, scope, &changed).await?;
        if let Some(posting) = posting {
            post(&mut tx, scope, changed.id, &posting, changed.modified_at).await?;
        }
        match changed.status {
            Status::Voided if was != Status::Voided => {
                writes::notify(&mut tx, scope, &changed, writes::Settlement::Reverse(None), None).await?;
                sqlx::query("DELETE FROM aftermaths WHERE payment_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            Status::Voided => {
                sqlx::query("DELETE FROM aftermaths WHERE payment_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            Status::Processed if was != Status::Processed => {
                schedule_aftermath(&mut tx, id, (changed.modified_at, changed.amount.currency)).await?;
            }
            _ => {}
        }
        record(&mut tx, scope, &changed, event).await?;
        tx.commit().await?;
        changed.ledger = self.links(&[id]).await?;
        Ok(changed)
    }

    /// Refunds payment `payment_id` with `refund`, under the payment's row
    /// lock, as [`Transaction::refund`] decides: writes the refund, the
    /// payment's new refunded total, the links both ways, the posting, the
    /// event and, if the payment was paid out, the reversal that takes the
    /// refund back. A refusal changes nothing.
    pub(crate) async fn refund(
        &self,
        scope: Scope,
        payment_id: Uuid,
        mut refund: Transaction,
    ) -> Result<Result<Transaction, RefundRefusal>, Error> {
        let mut tx = self.pool.begin().await?;
        let mut payment = lock(&mut tx, scope, payment_id).await?;
        let refunded = match payment.refund(&mut refund)? {
            Ok(refunded) => refunded,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let at = refund.modified_at;
        let amount = refund.amount;
        insert_row(&mut tx, scope, &refund).await?;
        let (refund_link, _) =
            link_both(&mut tx, scope, &refund, &payment, payment.amount, amount, at).await?;
        refund.ledger = vec![refund_link];
        update_row(&mut tx, scope, &payment).await?;
        post(&mut tx, scope, refund.id, &refunded.posting, at).await?;
        record(&mut tx, scope, &refund, "refund").await?;
        let back = writes::Settlement::Reverse(Some(amount.amount));
        writes::notify(&mut tx, scope, &payment, back, Some(refund.id)).await?;
        if refunded.paid_out {
            reverse(&mut tx, scope, &payment, amount, at).await?;
        }
        tx.commit().await?;
        Ok(Ok(refund))
    }
}

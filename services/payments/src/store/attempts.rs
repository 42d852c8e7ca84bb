//! Payment attempts: a payment is stored `pending` with its attempt before
//! the processor is asked, and finished — outcome, postings, aftermath,
//! event and the answer kept for its Idempotency-Key — in one database
//! transaction that deletes the attempt. Whoever finishes first (the
//! request, a retry with its key, the sweep) wins; the others find it
//! finished.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error,
    auth::Scope,
    faults,
    idempotency::{self, Claimed},
    money::Currency,
};
use paymesh_proto::payments::v1 as pb;
use sqlx::Row;
use tonic::Status;
use uuid::Uuid;

use super::{
    Store,
    aftermaths::insert_aftermath,
    rows::{TRANSACTION_COLUMNS, corrupt, read_transaction, scope_of},
    writes::{self, insert_row, post, record, update_row},
};
use crate::{
    connector::Aftermath,
    domain::{Posting, Transaction},
};

/// A pending payment and what its attempt remembers.
#[derive(Clone, Debug)]
pub(crate) struct Attempt {
    /// Whose it is.
    pub(crate) scope: Scope,
    /// The payment, pending.
    pub(crate) payment: Transaction,
    /// Authorize only, or charge now.
    pub(crate) authorize_only: bool,
}

/// How a payment's outcome is stored.
pub(crate) struct Outcome<'a> {
    /// The payment as it ends.
    pub(crate) payment: &'a Transaction,
    /// What it moves, if anything.
    pub(crate) posting: Option<&'a Posting>,
    /// Its event (`transaction.<event>`).
    pub(crate) event: &'static str,
    /// What the connector said will follow it.
    pub(crate) aftermath: Aftermath,
    /// The answer to keep for its Idempotency-Key.
    pub(crate) answer: Result<&'a pb::CreateTransactionResponse, &'a Status>,
    /// When it is stored, on the service's clock.
    pub(crate) now: DateTime<Utc>,
}

/// Whether finishing stored the outcome.
pub(crate) enum Finished {
    /// This call stored it.
    Now,
    /// Someone else had finished the attempt: the payment as stored.
    Before(Box<Transaction>),
    /// Nothing was stored: a retry with the payment's Idempotency-Key holds
    /// the key, and it finishes the payment and keeps the answer.
    Yielded,
}

impl Store {
    /// Stores `payment`, pending, with its attempt held until
    /// `locked_until`: from here on a crash leaves something to finish.
    pub(crate) async fn start(
        &self,
        scope: Scope,
        payment: &Transaction,
        authorize_only: bool,
        key: Option<&str>,
        locked_until: DateTime<Utc>,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        insert_row(&mut tx, scope, payment).await?;
        sqlx::query(
            "INSERT INTO payment_attempts (transaction_id, partner_id, livemode, idempotency_key, authorize_only, \
             locked_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(payment.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(key)
        .bind(authorize_only)
        .bind(locked_until)
        .bind(payment.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The unfinished attempt made with `key`, if any, held from now until
    /// `locked_until` (a retry with the key resumes it).
    pub(crate) async fn attempt_with_key(
        &self,
        scope: Scope,
        key: &str,
        locked_until: DateTime<Utc>,
    ) -> Result<Option<Attempt>, Error> {
        let row = sqlx::query(
            "UPDATE payment_attempts SET locked_until = $4 \
             WHERE partner_id = $1 AND livemode = $2 AND idempotency_key = $3 \
             RETURNING transaction_id, authorize_only",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(key)
        .bind(locked_until)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let payment = self.get(scope, row.try_get("transaction_id")?).await?;
        Ok(Some(Attempt { scope, payment, authorize_only: row.try_get("authorize_only")? }))
    }

    /// At most `at_most` attempts whose holder let go by `now` (its request
    /// died), each held from now until `locked_until` by the caller, which
    /// finishes them.
    pub(crate) async fn abandoned(
        &self,
        now: DateTime<Utc>,
        locked_until: DateTime<Utc>,
        at_most: u32,
    ) -> Result<Vec<Attempt>, Error> {
        let sql = format!(
            "WITH taken AS ( \
                 UPDATE payment_attempts SET locked_until = $2 WHERE transaction_id IN ( \
                     SELECT transaction_id FROM payment_attempts WHERE locked_until <= $1 \
                     ORDER BY locked_until LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 RETURNING transaction_id, authorize_only) \
             SELECT {TRANSACTION_COLUMNS}, partner_id, taken.authorize_only FROM transactions \
             JOIN taken ON taken.transaction_id = transactions.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(locked_until)
            .bind(i64::from(at_most))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Attempt {
                    scope: scope_of(row)?,
                    payment: read_transaction(row)?,
                    authorize_only: row.try_get("authorize_only")?,
                })
            })
            .collect()
    }

    /// Stores the outcome of a pending payment and deletes its attempt, in
    /// one database transaction with the answer kept for its key (through
    /// `claimed` when the request holding it finishes, by the key the
    /// attempt remembers otherwise — unless a retry holds that key now, and
    /// then nothing is stored).
    pub(crate) async fn finish(
        &self,
        scope: Scope,
        outcome: Outcome<'_>,
        claimed: Option<&Claimed>,
    ) -> Result<Finished, Error> {
        let payment = outcome.payment;
        let mut tx = self.pool.begin().await?;
        let attempt = sqlx::query(
            "DELETE FROM payment_attempts WHERE transaction_id = $1 AND partner_id = $2 AND livemode = $3 \
             RETURNING idempotency_key",
        )
        .bind(payment.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(attempt) = attempt else {
            drop(tx);
            return Ok(Finished::Before(Box::new(self.get(scope, payment.id).await?)));
        };
        update_row(&mut tx, scope, payment).await?;
        writes::notify(&mut tx, scope, payment, writes::of_outcome(payment), None).await?;
        if let Some(posting) = outcome.posting {
            post(&mut tx, scope, payment.id, posting, payment.modified_at).await?;
        }
        insert_aftermath(&mut tx, scope, payment, outcome.aftermath).await?;
        record(&mut tx, scope, payment, outcome.event).await?;
        match (claimed, attempt.try_get::<Option<String>, _>("idempotency_key")?) {
            (Some(claimed), _) => claimed.keep_in(&mut tx, outcome.answer).await?,
            (None, Some(key)) => {
                if !idempotency::keep_answer(&mut tx, scope, &key, outcome.answer, outcome.now).await? {
                    // Rolled back: the retry that claimed the key finishes
                    // the payment the same way and answers it.
                    return Ok(Finished::Yielded);
                }
            }
            (None, None) => {}
        }
        faults::check("payments.before_commit").await?;
        tx.commit().await?;
        Ok(Finished::Now)
    }

    /// Forgets pending payment `id` and its attempt: the processor
    /// authorized nothing for it (it could not be asked, and what it might
    /// have done was voided), so there is nothing to show.
    pub(crate) async fn forget(&self, scope: Scope, id: Uuid) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query(
            "DELETE FROM payment_attempts WHERE transaction_id = $1 AND partner_id = $2 AND livemode = $3",
        )
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .execute(&mut *tx)
        .await?;
        if deleted.rows_affected() == 1 {
            let forgotten = sqlx::query(
                "DELETE FROM transactions WHERE id = $1 AND status = 'pending' RETURNING currency, \
                 jsonb_array_length(allocations) AS allocated",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            // Reservations it may have made are released.
            if let Some(row) = forgotten
                && row.try_get::<i32, _>("allocated")? > 0
            {
                let currency: String = row.try_get("currency")?;
                let currency = Currency::parse(&currency).map_err(|_| corrupt("currency"))?;
                writes::insert_notice(&mut tx, scope, (id, currency), writes::Settlement::Release, None)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

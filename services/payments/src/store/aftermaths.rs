//! What follows a settled payment, as the connector said when it approved
//! it: a bank return, or a chargeback and perhaps its reversal — scheduled
//! with the payment, due once it settles.

use chrono::{DateTime, TimeDelta, Utc};
use paymesh_kit::{Error, auth::Scope, money::Currency};
use sqlx::{Postgres, Row, Transaction as DbTransaction};
use uuid::Uuid;

use super::rows::{corrupt, word};
use crate::{
    connector::Aftermath,
    domain::{Status, Transaction, returned_at},
};

paymesh_kit::words! {
    /// What follows a payment after it settles, as scheduled in `aftermaths`.
    pub(super) enum AftermathKind {
        /// The bank returns the debit.
        BankReject = "bank_reject",
        /// The payer disputes the card payment.
        Chargeback = "chargeback",
        /// The dispute is decided for the processing account.
        ChargebackReversal = "chargeback_reversal",
    }
}

/// Schedules what the connector said will follow an approved `payment`;
/// due at once counted from now if it is already processed.
pub(super) async fn insert_aftermath(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    payment: &Transaction,
    aftermath: Aftermath,
) -> Result<(), Error> {
    let (kind, code, delay, reverse_after) = match aftermath {
        Aftermath::None => return Ok(()),
        Aftermath::BankReject { code, after_business_days } => {
            (AftermathKind::BankReject, Some(code.as_str()), after_business_days, None)
        }
        Aftermath::Chargeback { after_days, reversed_after_days } => {
            (AftermathKind::Chargeback, None, after_days, reversed_after_days)
        }
    };
    let days =
        |d: u32| i32::try_from(d).map_err(|_| Error::Internal(anyhow::anyhow!("aftermath delay too long")));
    sqlx::query(
        "INSERT INTO aftermaths (payment_id, partner_id, livemode, kind, return_code, delay_days, \
         reverse_after_days) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(payment.id)
    .bind(scope.partner_id)
    .bind(scope.livemode)
    .bind(kind.as_str())
    .bind(code)
    .bind(days(delay)?)
    .bind(reverse_after.map(days).transpose()?)
    .execute(&mut **tx)
    .await?;
    if payment.status == Status::Processed {
        schedule_aftermath(tx, payment.id, (payment.modified_at, payment.amount.currency)).await?;
    }
    Ok(())
}

/// Sets when payment `id`'s aftermath (if it has one) comes, now that it
/// settled at `settled`.
pub(super) async fn schedule_aftermath(
    tx: &mut DbTransaction<'_, Postgres>,
    id: Uuid,
    (settled, currency): (DateTime<Utc>, Currency),
) -> Result<(), Error> {
    let row = sqlx::query("SELECT kind, delay_days FROM aftermaths WHERE payment_id = $1 AND due_at IS NULL")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(()) };
    let kind: String = row.try_get("kind")?;
    let delay = u32::try_from(row.try_get::<i32, _>("delay_days")?).map_err(|_| corrupt("delay"))?;
    let due = match word(AftermathKind::parse, &kind, "aftermath")? {
        // Banks return in business days; card networks count calendar days.
        AftermathKind::BankReject => returned_at(settled, delay, currency),
        AftermathKind::Chargeback | AftermathKind::ChargebackReversal => {
            settled + TimeDelta::days(i64::from(delay))
        }
    };
    sqlx::query("UPDATE aftermaths SET due_at = $2 WHERE payment_id = $1")
        .bind(id)
        .bind(due)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

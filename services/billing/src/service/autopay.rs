//! Autopay: customers' enrollments, and the sweep that charges their
//! invoices on the due date through the payments service.

use chrono::TimeDelta;
use paymesh_kit::{
    Error,
    auth::Scope,
    faults,
    money::{Currency, Money},
    wire::{self, Fields},
};
use paymesh_proto::billing::v1 as pb;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use super::{Billing, names, patched_attrs};
use crate::{
    convert,
    domain::autopay::{self, MAX_ATTEMPTS},
    peers::{Charge, Charged},
    store::{Attempted, Autopay, EnrollmentRow, Store},
};

/// The most invoices one pass of the sweep charges.
const CHARGES_PER_PASS: usize = 20;
/// How long a sent attempt waits for its answer before it is sent again.
const STALE: TimeDelta = TimeDelta::seconds(30);

/// An enrollment as its events carry it.
fn enrollment_json(row: &EnrollmentRow) -> Value {
    json!({
        "id": row.id, "object": "autopay_enrollment", "customer_id": row.customer_id,
        "payment_method_id": row.payment_method_id, "billing_schedule_id": row.billing_schedule_id,
        "upper_limit": row.upper_limit.map(paymesh_kit::json::decimal_json), "status": row.status,
        "last_payment_status": row.last_payment_status, "last_payment_timestamp": row.last_payment_at,
        "last_transaction_id": row.last_transaction_id, "attrs": row.attrs.0,
        "created_at": row.created_at, "modified_at": row.modified_at,
    })
}

impl Billing {
    /// Whether `method` is a payment method of `customer`; the problem is
    /// recorded in `fields` otherwise.
    async fn check_method(
        &self,
        scope: Scope,
        fields: &mut Fields<'_>,
        customer: Uuid,
        method: Uuid,
    ) -> Result<bool, Error> {
        match self.peers.method_owner(scope, method).await? {
            Some(Some(owner)) if owner == customer => Ok(true),
            Some(_) => {
                fields.push("payment_method_id", "Must be a payment method of the enrolled customer");
                Ok(false)
            }
            None => {
                fields.push("payment_method_id", "No such payment method");
                Ok(false)
            }
        }
    }

    /// An upper limit given on the wire in `currency`: positive.
    fn upper_limit(
        fields: &mut Fields<'_>,
        given: Option<&paymesh_proto::common::v1::Money>,
        currency: &str,
    ) -> Option<Option<Decimal>> {
        match given {
            None => Some(None),
            Some(m) if m.amount.trim().is_empty() => Some(None),
            Some(m) => {
                let amount = fields.take("upper_limit", convert::unit_amount(Some(m), currency))?;
                if amount <= Decimal::ZERO {
                    fields.push("upper_limit", "Must be greater than 0");
                    return None;
                }
                Some(Some(amount))
            }
        }
    }

    /// Enrolls a customer's payment method.
    pub(crate) async fn create_enrollment(
        &self,
        scope: Scope,
        given: pb::AutopayEnrollment,
    ) -> Result<EnrollmentRow, Error> {
        let mut fields = Fields::new("autopay_enrollment");
        let customer = if given.customer_id.trim().is_empty() {
            fields.push("customer_id", "Required");
            None
        } else {
            fields.take("customer_id", wire::id(&given.customer_id))
        };
        let method = if given.payment_method_id.trim().is_empty() {
            fields.push("payment_method_id", "Required");
            None
        } else {
            fields.take("payment_method_id", wire::id(&given.payment_method_id))
        };
        let schedule = fields.take(
            "billing_schedule_id",
            wire::optional_id((!given.billing_schedule_id.is_empty()).then_some(&given.billing_schedule_id)),
        );
        let currency = given.upper_limit.as_ref().map_or(Currency::Usd.code(), |m| {
            if m.currency.is_empty() { Currency::Usd.code() } else { m.currency.as_str() }
        });
        let currency = fields.take("upper_limit.currency", convert::currency(currency));
        let limit =
            Self::upper_limit(&mut fields, given.upper_limit.as_ref(), currency.as_deref().unwrap_or("USD"));
        let canceled = matches!(pb::AutopayStatus::try_from(given.status), Ok(pb::AutopayStatus::Canceled));
        let attrs = fields.take("attrs", convert::attrs(given.attrs));
        if let Some(customer) = customer {
            if self.peers.customer(scope, customer).await?.is_none() {
                fields.push("customer_id", "No such customer");
            } else if let Some(method) = method {
                self.check_method(scope, &mut fields, customer, method).await?;
            }
            if let Some(Some(schedule)) = schedule {
                match self.store.read_schedule(scope, schedule).await {
                    Ok(found) if found.customer_id == customer => {}
                    Ok(_) => fields
                        .push("billing_schedule_id", "Must be a billing schedule of the enrolled customer"),
                    Err(Error::NotFound { .. }) => {
                        fields.push("billing_schedule_id", "No such billing schedule")
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let (Some(customer), Some(method), Some(schedule), Some(currency), Some(limit), Some(attrs), true) =
            (customer, method, schedule, currency, limit, attrs, fields.ok())
        else {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        };
        let now = self.clock.now();
        let row = EnrollmentRow {
            id: Uuid::now_v7(),
            livemode: scope.livemode,
            customer_id: customer,
            payment_method_id: method,
            billing_schedule_id: schedule,
            currency,
            upper_limit: limit,
            status: if canceled { "canceled" } else { "active" }.to_owned(),
            last_payment_status: None,
            last_payment_at: None,
            last_transaction_id: None,
            attrs: Json(attrs),
            created_at: now,
            modified_at: now,
        };
        let mut tx = self.store.begin().await?;
        Store::put_enrollment(&mut tx, scope, &row).await?;
        Store::record(&mut tx, scope, ("autopay_enrollment", "created"), row.id, enrollment_json(&row), now)
            .await?;
        tx.commit().await?;
        tracing::info!(enrollment = %row.id, "autopay enrollment created");
        Ok(row)
    }

    /// One enrollment.
    pub(crate) async fn enrollment(&self, scope: Scope, id: &str) -> Result<EnrollmentRow, Error> {
        let id = wire::object_id(id, || Error::NotFound { resource: "Autopay enrollment" })?;
        self.store.read_enrollment(scope, id).await
    }

    /// The enrollments a query matches.
    pub(crate) async fn enrollments(
        &self,
        scope: Scope,
        query: &paymesh_proto::common::v1::ListQuery,
    ) -> Result<paymesh_kit::query::Listing<EnrollmentRow>, Error> {
        self.store.enrollments(scope, query, self.limits).await
    }

    /// Changes an enrollment.
    pub(crate) async fn update_enrollment(
        &self,
        scope: Scope,
        request: pb::UpdateAutopayEnrollmentRequest,
    ) -> Result<EnrollmentRow, Error> {
        let given = request.autopay_enrollment.unwrap_or_default();
        let id = wire::object_id(&given.id, || Error::NotFound { resource: "Autopay enrollment" })?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let mut tx = self.store.begin().await?;
        let stored = Store::enrollment(&mut tx, scope, id, true).await?;
        let mut row = stored.clone();
        let mut fields = Fields::new("autopay_enrollment");
        for path in &paths {
            match path.as_str() {
                "payment_method_id" => {
                    if let Some(method) = fields.take("payment_method_id", wire::id(&given.payment_method_id))
                        && self.check_method(scope, &mut fields, stored.customer_id, method).await?
                    {
                        row.payment_method_id = method;
                    }
                }
                p if names(p, "upper_limit") => {
                    if let Some(limit) =
                        Self::upper_limit(&mut fields, given.upper_limit.as_ref(), &stored.currency)
                    {
                        row.upper_limit = limit;
                    }
                }
                "status" => match pb::AutopayStatus::try_from(given.status) {
                    Ok(pb::AutopayStatus::Active) => row.status = "active".to_owned(),
                    Ok(pb::AutopayStatus::Canceled) => row.status = "canceled".to_owned(),
                    _ => fields.push("status", "Must be active or canceled"),
                },
                "attrs" => {
                    if let Some(attrs) =
                        fields.take("attrs", patched_attrs(&stored.attrs.0, given.attrs.clone()))
                    {
                        row.attrs = Json(attrs);
                    }
                }
                other => fields.unchangeable(other, &["payment_method_id", "upper_limit", "status", "attrs"]),
            }
        }
        if !fields.ok() {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        }
        let now = self.clock.now();
        row.modified_at = now;
        Store::put_enrollment(&mut tx, scope, &row).await?;
        Store::record(&mut tx, scope, ("autopay_enrollment", "updated"), id, enrollment_json(&row), now)
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Deletes an enrollment.
    pub(crate) async fn delete_enrollment(&self, scope: Scope, id: &str) -> Result<EnrollmentRow, Error> {
        let id = wire::object_id(id, || Error::NotFound { resource: "Autopay enrollment" })?;
        let mut tx = self.store.begin().await?;
        let row = Store::enrollment(&mut tx, scope, id, true).await?;
        Store::delete_enrollment(&mut tx, id).await?;
        let now = self.clock.now();
        Store::record(&mut tx, scope, ("autopay_enrollment", "deleted"), id, enrollment_json(&row), now)
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Sends again the attempts a cut-short sweep left unended, then
    /// charges the invoices autopay should charge today, one at a time;
    /// answers how many attempts ended (approved or not).
    pub(crate) async fn charge_due(&self) -> Result<usize, Error> {
        let today = self.today();
        let mut after = None;
        let mut ended = 0;
        for _ in 0..CHARGES_PER_PASS {
            let now = self.clock.now();
            let mut tx = self.store.begin().await?;
            let unended = Store::unended_autopay(&mut tx, now - STALE).await?;
            let due = match unended {
                Some(due) => due,
                None => match Store::next_autopay(&mut tx, today, after).await? {
                    Some(due) => {
                        after = Some(due.invoice_id);
                        due
                    }
                    None => break,
                },
            };
            let attempt = match (due.last_attempt, due.last_status.as_deref()) {
                (Some(n), Some("charging")) => n,
                (Some(n), _) => n + 1,
                (None, _) => 1,
            };
            if attempt > MAX_ATTEMPTS {
                continue;
            }
            Store::charging(&mut tx, &due, attempt, now).await?;
            tx.commit().await?;
            if self.attempt(&due, attempt).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Sends attempt `attempt` of `due` and records how it ended; `false`
    /// when no answer came (it is sent again later, with the same key).
    async fn attempt(&self, due: &Autopay, attempt: i16) -> Result<bool, Error> {
        let scope = Scope { partner_id: due.partner_id, livemode: due.livemode };
        let today = self.today();
        let currency = Currency::parse(&due.currency).unwrap_or(Currency::Usd);
        let ended = if due.upper_limit.is_some_and(|limit| due.amount > limit) {
            Attempted {
                status: "over_limit",
                transaction_id: None,
                next_attempt_on: None,
                reason: Some(format!(
                    "{} due is above the enrollment's upper limit of {}",
                    due.amount,
                    due.upper_limit.unwrap_or_default()
                )),
            }
        } else {
            let charge = Charge {
                invoice_id: due.invoice_id,
                customer_id: due.customer_id,
                payment_method_id: due.payment_method_id,
                processing_id: due.processing_id,
                amount: Money::new(due.amount, currency),
            };
            let charged = self.peers.charge(scope, charge, &autopay::key(due.invoice_id, attempt)).await;
            // A sweep cut short here (the charge made, its end not recorded)
            // sends the same attempt again later, with the same key.
            faults::check("billing.autopay_after_charge").await?;
            match charged {
                Charged::Processed(transaction, _) => Attempted {
                    status: "processed",
                    transaction_id: transaction,
                    next_attempt_on: None,
                    reason: None,
                },
                Charged::Declined(transaction, why) => Attempted {
                    status: "declined",
                    transaction_id: transaction,
                    next_attempt_on: autopay::retry_on(attempt, today),
                    reason: Some(why),
                },
                Charged::Refused(why) => Attempted {
                    status: "failed",
                    transaction_id: None,
                    next_attempt_on: None,
                    reason: Some(why),
                },
                Charged::NotYet(e) => {
                    tracing::warn!(invoice = %due.invoice_id, attempt, error = %e, "autopay got no answer; will send again");
                    return Ok(false);
                }
            }
        };
        self.store.attempted(due, attempt, &ended, self.clock.now()).await?;
        tracing::info!(invoice = %due.invoice_id, attempt, status = ended.status, "autopay attempt ended");
        Ok(true)
    }
}

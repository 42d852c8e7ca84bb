//! Allocations: the payments service reserves a payment's allocations
//! before it is charged, and settles them once its outcome is stored —
//! applied as payment items, released, or reversed when money goes back.

use std::collections::BTreeSet;

use paymesh_kit::{
    Error, Violation,
    auth::Scope,
    money::{Currency, Money},
    wire,
};
use paymesh_proto::{billing::v1 as pb, common::v1 as common};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::Billing;
use crate::{
    convert,
    domain::{
        allocation::{self, MAX_ALLOCATIONS, Payable},
        invoice::{Entry, line_total},
        payers::Payer,
    },
    store::{AllocationRow, InvoiceRow, NewItem, Store},
};

/// The most held payments one ReleasableSettlements asks about.
const MAX_RELEASE_ASKS: usize = 500;

fn money(amount: Decimal, currency: Currency) -> common::Money {
    Money::new(amount, currency).to_proto()
}

impl Billing {
    /// Reserves a payment's allocations (all or none), or answers those it
    /// reserved before; and whether the payment is held from settlement.
    pub(crate) async fn reserve(
        &self,
        scope: Scope,
        request: pb::ReserveAllocationsRequest,
    ) -> Result<(Vec<pb::Allocation>, bool), Error> {
        let pb::ReserveAllocationsRequest { transaction_id, amount, allocations, customer_id } = request;
        let transaction = wire::id(&transaction_id).map_err(|why| Error::invalid("transaction_id", why))?;
        let customer = wire::optional_id((!customer_id.is_empty()).then_some(&customer_id))
            .map_err(|why| Error::invalid("customer_id", why))?;
        let pool = amount
            .as_ref()
            .map(Money::from_proto)
            .transpose()
            .map_err(|(part, why)| Error::invalid(format!("amount.{part}"), why))?;
        let Some(pool) = pool else { return Err(Error::invalid("amount", "Required")) };
        if allocations.is_empty() || allocations.len() > MAX_ALLOCATIONS {
            return Err(Error::invalid("allocations", format!("From 1 to {MAX_ALLOCATIONS} invoices")));
        }
        let mut problems = Vec::new();
        let mut wanted = Vec::new();
        for (i, given) in allocations.iter().enumerate() {
            let at = |name: &str| format!("allocations[{i}].{name}");
            let id = |raw: &str| wire::optional_id((!raw.trim().is_empty()).then_some(raw));
            let invoice =
                id(&given.invoice_id).map_err(|why| problems.push(Violation::new(at("invoice_id"), why)));
            let payer = id(&given.invoice_payer_id)
                .map_err(|why| problems.push(Violation::new(at("invoice_payer_id"), why)));
            if let (Ok(None), Ok(None)) = (invoice, payer) {
                problems.push(Violation::new(
                    at("invoice_id"),
                    "Required: the invoice paid (or its invoice_payer_id)",
                ));
            }
            let amount = match given.amount.as_ref() {
                None => None,
                Some(m) if m.amount.trim().is_empty() => None,
                Some(m) => convert::unit_amount(Some(m), pool.currency.code())
                    .map_err(|why| problems.push(Violation::new(at("amount"), why)))
                    .ok(),
            };
            wanted.push((invoice.ok().flatten(), payer.ok().flatten(), amount));
        }
        if !problems.is_empty() {
            return Err(Error::InvalidAttributes(problems));
        }
        let mut tx = self.store.begin().await?;
        let before = Store::allocations_of(&mut tx, scope, transaction).await?;
        if !before.is_empty() {
            let hold = Store::holds_settlement(&mut tx, transaction).await?;
            return Ok((before.iter().map(|a| answer(a, pool.currency)).collect(), hold));
        }
        // A payment for an invoice payer pays its invoice.
        for (i, (invoice, payer, _)) in wanted.iter_mut().enumerate() {
            let Some(payer) = *payer else { continue };
            match (Store::invoice_of_payer(&mut tx, scope, payer).await?, *invoice) {
                (None, _) => problems.push(Violation::new(
                    format!("allocations[{i}].invoice_payer_id"),
                    "No such invoice payer",
                )),
                (Some(found), Some(named)) if found != named => problems.push(Violation::new(
                    format!("allocations[{i}].invoice_payer_id"),
                    "Not a payer of the invoice named",
                )),
                (Some(found), _) => *invoice = Some(found),
            }
        }
        let mut seen = BTreeSet::new();
        for (i, (invoice, _, _)) in wanted.iter().enumerate() {
            if let Some(id) = invoice
                && !seen.insert(*id)
            {
                problems.push(Violation::new(
                    format!("allocations[{i}].invoice_id"),
                    "Named twice: one allocation per invoice",
                ));
            }
        }
        if !problems.is_empty() {
            return Err(Error::InvalidAttributes(problems));
        }
        // Invoices are locked in one order, so two payments never wait on
        // each other's.
        let mut rows: Vec<(Uuid, Option<InvoiceRow>)> = seen.iter().map(|id| (*id, None)).collect();
        for (id, row) in &mut rows {
            *row = match Store::invoice(&mut tx, scope, *id, true).await {
                Ok(found) => Some(found),
                Err(Error::NotFound { .. }) => None,
                Err(e) => return Err(e),
            };
        }
        let mut payables = Vec::new();
        for (i, (invoice, payer, amount)) in wanted.iter().enumerate() {
            let at = |name: &str| format!("allocations[{i}].{name}");
            let found = rows.iter().find(|(id, _)| Some(*id) == *invoice).and_then(|(_, row)| row.as_ref());
            let Some(row) = found else {
                problems.push(Violation::new(at("invoice_id"), "No such invoice"));
                continue;
            };
            if row.currency != pool.currency.code() {
                problems.push(Violation::new(
                    at("invoice_id"),
                    format!("The invoice is in {}; the payment is in {}", row.currency, pool.currency),
                ));
                continue;
            }
            let (payer, payer_left) = match Self::payer_paid_for(row, *payer, customer) {
                Some((payer, bound)) if bound => {
                    let left = payer.left() - Store::reserved_for(&mut tx, payer.id).await?;
                    (Some(payer.id), Some(left))
                }
                Some((payer, _)) => (Some(payer.id), None),
                None => (None, None),
            };
            let reserved = Store::reserved_on(&mut tx, row.id).await?;
            payables.push((
                (row.id, payer),
                Payable { status: row.status(), amount_due: row.amount_due, reserved, payer_left },
                *amount,
            ));
        }
        if !problems.is_empty() {
            return Err(Error::InvalidAttributes(problems));
        }
        let split: Vec<_> = payables.iter().map(|(_, p, a)| (*p, *a)).collect();
        let amounts = allocation::split(pool.amount, &split).map_err(|problems| {
            Error::InvalidAttributes(
                problems
                    .into_iter()
                    .map(|(i, name, why)| Violation::new(format!("allocations[{i}].{name}"), why))
                    .collect(),
            )
        })?;
        let now = self.clock.now();
        let mut made = Vec::new();
        for (position, (((invoice, payer), _, _), amount)) in payables.iter().zip(amounts).enumerate() {
            let position = i16::try_from(position).unwrap_or(i16::MAX);
            made.push(
                Store::insert_allocation(
                    &mut tx,
                    scope,
                    (transaction, *invoice, position),
                    (amount, *payer),
                    now,
                )
                .await?,
            );
        }
        let hold = Store::holds_settlement(&mut tx, transaction).await?;
        tx.commit().await?;
        tracing::info!(transaction = %transaction, invoices = made.len(), hold, "allocations reserved");
        Ok((made.iter().map(|a| answer(a, pool.currency)).collect(), hold))
    }

    /// Of the held payments a request names, those no invoice holds any
    /// more.
    pub(crate) async fn releasable(
        &self,
        scope: Scope,
        request: pb::ReleasableSettlementsRequest,
    ) -> Result<Vec<String>, Error> {
        if request.transaction_ids.len() > MAX_RELEASE_ASKS {
            return Err(Error::invalid("transaction_ids", format!("At most {MAX_RELEASE_ASKS}")));
        }
        let ids = request
            .transaction_ids
            .iter()
            .enumerate()
            .map(|(i, id)| wire::id(id).map_err(|why| Error::invalid(format!("transaction_ids[{i}]"), why)))
            .collect::<Result<Vec<Uuid>, Error>>()?;
        Ok(self.store.releasable(scope, &ids).await?.iter().map(Uuid::to_string).collect())
    }

    /// The payer of `invoice` a payment is made for, and whether its part
    /// bounds the payment: the payer named (bound); else the paying
    /// customer, if it is a payer of an invoice with several (bound); else
    /// the invoice's only payer (not bound: its part is the invoice).
    fn payer_paid_for(
        invoice: &InvoiceRow,
        named: Option<Uuid>,
        customer: Option<Uuid>,
    ) -> Option<(&Payer, bool)> {
        if let Some(id) = named {
            return invoice.payer(id).map(|p| (p, true));
        }
        match invoice.payers.0.as_slice() {
            [only] => Some((only, false)),
            several => customer.and_then(|c| several.iter().find(|p| p.account_id == c)).map(|p| (p, true)),
        }
    }

    /// Settles a payment's allocations as a notice of the payments service
    /// says, once per notice.
    pub(crate) async fn settle(
        &self,
        scope: Scope,
        request: pb::SettleAllocationsRequest,
    ) -> Result<(), Error> {
        let pb::SettleAllocationsRequest {
            notice_id,
            transaction_id,
            settlement,
            amount,
            reversing_transaction_id,
        } = request;
        let notice = wire::id(&notice_id).map_err(|why| Error::invalid("notice_id", why))?;
        let transaction = wire::id(&transaction_id).map_err(|why| Error::invalid("transaction_id", why))?;
        let settlement = pb::Settlement::try_from(settlement)
            .ok()
            .filter(|s| *s != pb::Settlement::Unspecified)
            .ok_or_else(|| Error::invalid("settlement", "Required: apply, release or reverse"))?;
        let back = amount
            .as_ref()
            .map(Money::from_proto)
            .transpose()
            .map_err(|(part, why)| Error::invalid(format!("amount.{part}"), why))?;
        let reversing =
            wire::optional_id((!reversing_transaction_id.is_empty()).then_some(&reversing_transaction_id))
                .map_err(|why| Error::invalid("reversing_transaction_id", why))?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !Store::settle_notice(&mut tx, notice, now).await? {
            return Ok(());
        }
        let mut allocations = Store::allocations_of(&mut tx, scope, transaction).await?;
        match settlement {
            pb::Settlement::Apply => {
                for row in allocations.iter_mut().filter(|a| a.status == "reserved") {
                    let item = self
                        .pay_item(&mut tx, scope, (row.invoice_id, row.payer_id), row.amount, transaction)
                        .await?;
                    row.status = "applied".to_owned();
                    Store::save_allocation(&mut tx, row, Some(item), now).await?;
                }
            }
            pb::Settlement::Release => {
                for row in allocations.iter_mut().filter(|a| a.status == "reserved") {
                    row.status = "released".to_owned();
                    Store::save_allocation(&mut tx, row, None, now).await?;
                }
            }
            pb::Settlement::Reapply => {
                let back = back.map_or(Decimal::ZERO, |m| m.amount);
                // The invoices in one order, as every payment locks them.
                let mut invoices: Vec<Uuid> = allocations.iter().map(|a| a.invoice_id).collect();
                invoices.sort_unstable();
                invoices.dedup();
                let mut rooms = Vec::new();
                for id in invoices {
                    let row = Store::invoice(&mut tx, scope, id, true).await?;
                    // A closed (or paid) invoice takes nothing more: the money
                    // stays the merchant's, on no invoice.
                    let room = match allocation::unpayable(row.status()) {
                        None => row.amount_due - Store::reserved_on(&mut tx, id).await?,
                        Some(_) => Decimal::ZERO,
                    };
                    rooms.push((id, room.max(Decimal::ZERO)));
                }
                let reversed: Vec<&mut AllocationRow> = allocations
                    .iter_mut()
                    .filter(|a| a.status == "applied" && a.reversed > Decimal::ZERO)
                    .collect();
                let shares: Vec<(Decimal, Decimal)> = reversed
                    .iter()
                    .map(|a| {
                        (
                            a.reversed,
                            rooms.iter().find(|(id, _)| *id == a.invoice_id).map_or(Decimal::ZERO, |r| r.1),
                        )
                    })
                    .collect();
                let by = reversing.unwrap_or(transaction);
                for (row, take) in reversed.into_iter().zip(allocation::reapplication(back, &shares)) {
                    if take == Decimal::ZERO {
                        continue;
                    }
                    self.pay_item(&mut tx, scope, (row.invoice_id, row.payer_id), take, by).await?;
                    row.reversed -= take;
                    Store::save_allocation(&mut tx, row, None, now).await?;
                }
            }
            pb::Settlement::Reverse | pb::Settlement::Unspecified => {
                let applied: Vec<&mut AllocationRow> =
                    allocations.iter_mut().filter(|a| a.status == "applied").collect();
                let total: Decimal = applied.iter().map(|a| a.amount - a.reversed).sum();
                let back = back.map_or(total, |m| m.amount);
                let shares: Vec<(Decimal, Decimal)> =
                    applied.iter().map(|a| (a.amount, a.reversed)).collect();
                let by = reversing.unwrap_or(transaction);
                for (row, take) in applied.into_iter().zip(allocation::reversal(back, &shares)) {
                    if take == Decimal::ZERO {
                        continue;
                    }
                    self.pay_item(&mut tx, scope, (row.invoice_id, row.payer_id), -take, by).await?;
                    row.reversed += take;
                    Store::save_allocation(&mut tx, row, None, now).await?;
                }
            }
        }
        tx.commit().await?;
        tracing::info!(transaction = %transaction, settlement = settlement.as_str_name(), "allocations settled");
        Ok(())
    }

    /// Records `amount` paid by `transaction` (negative: taken back) on
    /// invoice `invoice` for its payer `payer` as a payment item, and what
    /// follows for the invoice; answers the item's id.
    async fn pay_item(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        (invoice, payer): (Uuid, Option<Uuid>),
        amount: Decimal,
        transaction: Uuid,
    ) -> Result<Uuid, Error> {
        let row = Store::invoice(conn, scope, invoice, true).await?;
        let item = NewItem {
            entry: Entry::Payment,
            kind: None,
            description: None,
            amount,
            qty: 1,
            total: line_total(amount, 1),
            incurred_date: Some(self.today()),
            attrs: Value::Object(Map::new()),
            transaction_id: Some(transaction),
            parts: Vec::new(),
            payer_id: payer,
        };
        let stored =
            Store::insert_item(conn, scope, (invoice, &row.payers.0), &item, self.clock.now()).await?;
        self.after_items_changed(conn, scope, &row, ("created", &stored)).await?;
        Ok(stored.id)
    }
}

/// An allocation as the contract answers it.
fn answer(row: &AllocationRow, currency: Currency) -> pb::Allocation {
    pb::Allocation {
        invoice_id: row.invoice_id.to_string(),
        amount: Some(money(row.amount, currency)),
        invoice_payer_id: row.payer_id.map(|id| id.to_string()).unwrap_or_default(),
    }
}

//! The operations of the billing service: invoices and their items,
//! billing schedules and their charges, autopay, attachments, payment
//! links and their pages, and the sweeps that bill schedules, mark
//! invoices overdue, charge autopay and expire and remind links on the
//! service clock.

mod allocations;
mod attachments;
mod autopay;
pub(crate) mod links;
mod pay_page;

use chrono::{Days, NaiveDate};
use paymesh_kit::{
    Error,
    auth::{Principal, Scope},
    clock::Clock,
    config::ListLimits,
    idempotency::IdempotencyKeys,
    json::from_struct,
    query::Listing,
    values::Attrs,
    wire::{self, Fields},
};
use paymesh_proto::billing::v1 as pb;
use serde_json::Value;
use sqlx::{PgConnection, types::Json};
use uuid::Uuid;

use crate::{
    convert::{self, status_from_proto},
    domain::{
        invoice::{self, AcceptedPaymentState, Status, line_total},
        payers::{self, MAX_PAYERS, Payer},
        schedule::{Frequency, GivenDays, Rule, Span},
    },
    peers::Peers,
    store::{ChargeRow, InvoiceRow, ItemRow, NewInvoice, NewItem, ScheduleRow, Store},
};

/// The most schedules one pass of the sweep bills.
const SCHEDULES_PER_PASS: usize = 50;
/// The most billing dates of one schedule one pass bills (a clock moved a
/// long way catches up over several passes).
const DATES_PER_SCHEDULE: usize = 60;
/// The most invoices one pass marks overdue.
const OVERDUE_PER_PASS: i64 = 500;

/// The billing service.
#[derive(Clone, Debug)]
pub(crate) struct Billing {
    pub(crate) store: Store,
    pub(crate) keys: IdempotencyKeys,
    pub(crate) clock: Clock,
    pub(crate) limits: ListLimits,
    pub(crate) peers: Peers,
    /// The largest file an invoice attachment may be.
    pub(crate) max_file_bytes: usize,
    /// Where payment links' pages are served, without a trailing slash.
    pub(crate) public_url: std::sync::Arc<str>,
    /// The sender of payment-link emails.
    pub(crate) mailer: crate::mail::Mailer,
}

/// An invoice with its items.
pub(crate) type InvoiceWithItems = (InvoiceRow, Vec<ItemRow>);
/// A schedule with its charges.
pub(crate) type ScheduleWithCharges = (ScheduleRow, Vec<ChargeRow>);

/// Custom attributes after an update that sends `given`: merged into
/// `stored` (RFC 7396), or cleared when none is sent.
fn patched_attrs(stored: &Value, given: Option<prost_types::Struct>) -> Result<Value, String> {
    let current = Attrs::from_stored(stored.as_object().cloned().unwrap_or_default());
    current.patched(Some(given.map(from_struct))).map(|a| Value::Object(a.into_inner()))
}

/// Why an item cannot be changed or removed by the partner: a payment
/// item a transaction made moves with that transaction only.
fn made_by_payment(item: &ItemRow) -> Result<(), Error> {
    match item.transaction_id {
        Some(transaction) => Err(Error::Conflict(format!(
            "This payment item records transaction {transaction}: refund or void the transaction instead"
        ))),
        None => Ok(()),
    }
}

/// Whether an update mask path is `name` or one of its parts.
fn names(path: &str, name: &str) -> bool {
    path == name || path.strip_prefix(name).is_some_and(|rest| rest.starts_with('.'))
}

impl Billing {
    fn today(&self) -> NaiveDate {
        self.clock.now().date_naive()
    }

    /// The processing account of a new invoice or schedule of `customer`:
    /// the one given (which must exist), else the customer's primary one,
    /// else the partner's default one. Problems are recorded in `fields`.
    async fn customer_and_processing(
        &self,
        scope: Scope,
        fields: &mut Fields<'_>,
        customer: &str,
        processing: &str,
    ) -> Result<Option<(Uuid, Uuid)>, Error> {
        let customer_id = if customer.trim().is_empty() {
            fields.push("customer_id", "Required");
            None
        } else {
            fields.take("customer_id", wire::id(customer))
        };
        let given =
            fields.take("processing_id", wire::optional_id((!processing.is_empty()).then_some(processing)));
        let Some(customer_id) = customer_id else { return Ok(None) };
        let Some(found) = self.peers.customer(scope, customer_id).await? else {
            fields.push("customer_id", "No such customer");
            return Ok(None);
        };
        let processing_id = match given {
            None => return Ok(None),
            Some(Some(id)) => {
                if !self.peers.processing_account_exists(scope, id).await? {
                    fields.push("processing_id", "No such processing account");
                    return Ok(None);
                }
                id
            }
            Some(None) => match found.primary_processing_id {
                Some(id) => id,
                None => match self.peers.default_processing_account(scope).await? {
                    Some(id) => id,
                    None => {
                        fields
                            .push("processing_id", "Required: the partner has no default processing account");
                        return Ok(None);
                    }
                },
            },
        };
        Ok(Some((customer_id, processing_id)))
    }

    // === Invoices ===

    /// Creates an invoice with its items.
    pub(crate) async fn create_invoice(
        &self,
        scope: Scope,
        invoice: pb::Invoice,
    ) -> Result<InvoiceWithItems, Error> {
        let pb::Invoice {
            id: _,
            r#type,
            description,
            due_date,
            status,
            customer_id,
            processing_id,
            billing_schedule_id: _,
            billing_contact,
            items,
            currency,
            total_due: _,
            total_paid: _,
            amount_due: _,
            paid_time: _,
            attrs,
            livemode: _,
            create_time: _,
            update_time: _,
            payers,
            accepted_payment_state,
            amount_unallocated: _,
            paid: _,
        } = invoice;
        let mut fields = Fields::new("invoice");
        let accepted =
            fields.take("accepted_payment_state", convert::accepted_from_proto(accepted_payment_state));
        let accounts: Vec<&str> = payers.iter().map(|p| p.account_id.as_str()).collect();
        let (customer_id, payers) = self.payers(scope, &mut fields, &customer_id, &accounts).await?;
        let kind = fields.take("type", convert::kind(&r#type));
        let description = fields.take("description", convert::description(&description));
        let due_date =
            fields.take("due_date", convert::date(&due_date)).map(|d| d.unwrap_or_else(|| self.today()));
        let status = match status_from_proto(status) {
            None if status == 0 => Some(Status::Pending),
            Some(s @ (Status::Draft | Status::Pending)) => Some(s),
            _ => {
                fields.push("status", "A new invoice is draft or pending");
                None
            }
        };
        let contact = convert::contact(&mut fields, billing_contact);
        let currency = fields.take("currency", convert::currency(&currency));
        let attrs = fields.take("attrs", convert::attrs(attrs));
        if items.is_empty() {
            fields.push("items", "Required: at least one item");
        }
        let accounts = self.customer_and_processing(scope, &mut fields, &customer_id, &processing_id).await?;
        let payers = match (payers, accounts) {
            (Some(given), _) if !given.is_empty() => Some(given),
            (Some(_), Some((customer, _))) => Some(vec![Payer::new(customer)]),
            _ => None,
        };
        let mut new_items = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let prefix = format!("invoice.items[{i}]");
            let mut item_fields = Fields::new(&prefix);
            let currency = currency.as_deref().unwrap_or("USD");
            let given = convert::given_parts(&mut item_fields, &item.allocations, currency);
            let parsed = convert::new_item(&mut item_fields, item, currency);
            if let (Some(mut parsed), Some(payers)) = (parsed, payers.as_deref()) {
                convert::place_item(&mut item_fields, payers, &mut parsed, given);
                new_items.push(parsed);
            }
            for v in item_fields.into_violations() {
                fields.push_path(v.field, v.description);
            }
        }
        let (Some(kind), Some(description), Some(due_date), Some(status), Some(contact), Some(currency)) =
            (kind, description, due_date, status, contact, currency)
        else {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        };
        let (Some(attrs), Some((customer_id, processing_id)), Some(payers), Some(accepted), true) =
            (attrs, accounts, payers, accepted, fields.ok())
        else {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        };
        let new = NewInvoice {
            id: Uuid::now_v7(),
            kind,
            description,
            due_date,
            status,
            customer_id,
            processing_id,
            billing_schedule_id: None,
            billing_contact: contact,
            currency,
            attrs,
            payers,
            accepted,
        };
        let mut tx = self.store.begin().await?;
        let made = self.insert_invoice(&mut tx, scope, &new, &new_items).await?;
        tx.commit().await?;
        tracing::info!(invoice = %new.id, items = new_items.len(), "invoice created");
        made.ok_or_else(|| Error::Internal(anyhow::anyhow!("a new invoice met an existing one")))
    }

    /// The payers given for a new invoice or schedule, by their customer
    /// accounts (problems recorded in `fields`): accounts of the partner,
    /// each once, at most [`MAX_PAYERS`]; an empty list when none is given.
    /// With them, its customer: the one given, else the first payer's
    /// (PlacePay's invoices name their payers, not a customer).
    async fn payers(
        &self,
        scope: Scope,
        fields: &mut Fields<'_>,
        customer: &str,
        accounts: &[&str],
    ) -> Result<(String, Option<Vec<Payer>>), Error> {
        let customer = match (customer.trim(), accounts.first()) {
            ("", Some(first)) if !first.trim().is_empty() => (*first).to_owned(),
            _ => customer.to_owned(),
        };
        if accounts.len() > MAX_PAYERS {
            fields.push("payers", format!("At most {MAX_PAYERS} payers"));
            return Ok((customer, None));
        }
        let mut payers: Vec<Payer> = Vec::new();
        let mut ok = true;
        for (i, given) in accounts.iter().enumerate() {
            let at = format!("payers[{i}].account_id");
            if given.trim().is_empty() {
                fields.push(&at, "Required: the customer account paying");
                ok = false;
                continue;
            }
            let Some(account) = fields.take(&at, wire::id(given)) else {
                ok = false;
                continue;
            };
            if payers.iter().any(|p| p.account_id == account) {
                fields.push(&at, "Named twice: each account pays once");
                ok = false;
            } else if self.peers.customer(scope, account).await?.is_none() {
                fields.push(&at, "No such customer");
                ok = false;
            } else {
                payers.push(Payer::new(account));
            }
        }
        Ok((customer, ok.then_some(payers)))
    }

    /// Stores `new` with `items` in `conn`'s transaction and records its
    /// event; `None` if the schedule's invoice for that date exists.
    async fn insert_invoice(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        new: &NewInvoice,
        items: &[NewItem],
    ) -> Result<Option<InvoiceWithItems>, Error> {
        let now = self.clock.now();
        if !Store::insert_invoice(conn, scope, new, now).await? {
            return Ok(None);
        }
        for item in items {
            Store::insert_item(conn, scope, (new.id, &new.payers), item, now).await?;
        }
        let before = Store::invoice(conn, scope, new.id, true).await?;
        let today = self.today();
        let (row, items) = Store::refresh(
            conn,
            &before,
            |totals| invoice::status(new.status, totals, new.due_date, today),
            now,
        )
        .await?;
        Store::record(conn, scope, ("invoice", "created"), row.id, convert::invoice_json(&row, &items), now)
            .await?;
        Ok(Some((row, items)))
    }

    /// One invoice with its items.
    pub(crate) async fn invoice(&self, scope: Scope, id: &str) -> Result<InvoiceWithItems, Error> {
        let id = wire::object_id(id, || Error::NotFound { resource: "Invoice" })?;
        let mut tx = self.store.snapshot().await?;
        let row = Store::invoice(&mut tx, scope, id, false).await?;
        let items = Store::items_of_in(&mut tx, &[id]).await?;
        tx.commit().await?;
        Ok((row, items))
    }

    /// The invoices a query matches, with their items.
    pub(crate) async fn invoices(
        &self,
        scope: Scope,
        query: &paymesh_proto::common::v1::ListQuery,
    ) -> Result<(Listing<InvoiceRow>, Vec<ItemRow>), Error> {
        let mut tx = self.store.snapshot().await?;
        let listing = Store::invoices_in(&mut tx, scope, query, self.limits).await?;
        let ids: Vec<Uuid> = listing.items.iter().map(|r| r.id).collect();
        let items = if ids.is_empty() { Vec::new() } else { Store::items_of_in(&mut tx, &ids).await? };
        tx.commit().await?;
        Ok((listing, items))
    }

    /// Changes an invoice.
    pub(crate) async fn update_invoice(
        &self,
        scope: Scope,
        request: pb::UpdateInvoiceRequest,
    ) -> Result<InvoiceWithItems, Error> {
        let invoice = request.invoice.unwrap_or_default();
        let id = wire::object_id(&invoice.id, || Error::NotFound { resource: "Invoice" })?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let mut tx = self.store.begin().await?;
        let stored = Store::invoice(&mut tx, scope, id, true).await?;
        let from = stored.status();
        let mut row = stored.clone();
        let mut to = from;
        let mut fields = Fields::new("invoice");
        let mut contact_given = false;
        for path in &paths {
            match path.as_str() {
                "type" => row.kind = fields.take("type", convert::kind(&invoice.r#type)).unwrap_or_default(),
                "description" => {
                    row.description = fields
                        .take("description", convert::description(&invoice.description))
                        .unwrap_or_default();
                }
                "due_date" => match fields.take("due_date", convert::date(&invoice.due_date)) {
                    Some(Some(date)) => row.due_date = date,
                    Some(None) => fields.push("due_date", "Required: a date, YYYY-MM-DD"),
                    None => {}
                },
                "status" => match status_from_proto(invoice.status) {
                    Some(status) => match invoice::refusal(from, status) {
                        Some(why) => fields.push("status", why),
                        None => to = status,
                    },
                    None => fields.push("status", "Must be pending or closed"),
                },
                "attrs" => {
                    if let Some(attrs) =
                        fields.take("attrs", patched_attrs(&stored.attrs.0, invoice.attrs.clone()))
                    {
                        row.attrs = Json(attrs);
                    }
                }
                p if names(p, "billing_contact") => contact_given = true,
                other => fields.unchangeable(
                    other,
                    &["type", "description", "due_date", "status", "billing_contact", "attrs"],
                ),
            }
        }
        if contact_given && let Some(contact) = convert::contact(&mut fields, invoice.billing_contact.clone())
        {
            row.billing_contact = contact.map(Json);
        }
        if !fields.ok() {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        }
        if from == Status::Closed {
            // Closing it again changes nothing, and answers it.
            if paths.iter().all(|p| p == "status") && to == Status::Closed {
                let items = Store::items_of_in(&mut tx, &[id]).await?;
                return Ok((stored, items));
            }
            if !paths.is_empty() {
                return Err(Error::Conflict("A closed invoice cannot change".to_owned()));
            }
        }
        let now = self.clock.now();
        row.modified_at = now;
        row.status = to.as_str().to_owned();
        if to == Status::Closed {
            row.paid_at = None;
        }
        Store::save_invoice(&mut tx, &row).await?;
        let today = self.today();
        let current = if from == Status::Draft && to == Status::Pending { Status::Pending } else { to };
        let (after, items) = Store::refresh(
            &mut tx,
            &row,
            |totals| invoice::status(current, totals, row.due_date, today),
            now,
        )
        .await?;
        let change = if after.status == stored.status { "updated" } else { after.status.as_str() };
        Store::record(&mut tx, scope, ("invoice", change), id, convert::invoice_json(&after, &items), now)
            .await?;
        tx.commit().await?;
        Ok((after, items))
    }

    /// Deletes an invoice nothing was paid on.
    pub(crate) async fn delete_invoice(&self, scope: Scope, id: &str) -> Result<InvoiceWithItems, Error> {
        let id = wire::object_id(id, || Error::NotFound { resource: "Invoice" })?;
        let mut tx = self.store.begin().await?;
        let row = Store::invoice(&mut tx, scope, id, true).await?;
        let items = Store::items_of_in(&mut tx, &[id]).await?;
        if items.iter().any(|i| i.entry_type == "payment") || Store::allocated(&mut tx, id).await? {
            return Err(Error::Conflict(
                "An invoice with payments (or a payment in flight) cannot be deleted: close it instead \
                 (status=closed)"
                    .to_owned(),
            ));
        }
        let now = self.clock.now();
        // Its active payment links stop taking payments first.
        for link in Store::cancel_invoice_links(&mut tx, id, now).await? {
            let data = links::link_json(&link, &self.link_url(&link), now);
            Store::record(&mut tx, scope, ("payment_link", "canceled"), link.id, data, now).await?;
        }
        Store::delete_invoice(&mut tx, id).await?;
        Store::record(&mut tx, scope, ("invoice", "deleted"), id, convert::invoice_json(&row, &items), now)
            .await?;
        tx.commit().await?;
        Ok((row, items))
    }

    // === Line items ===

    /// Locks the invoice of an item operation, refusing a closed one.
    async fn open_invoice(
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        field: &str,
    ) -> Result<InvoiceRow, Error> {
        let row = match Store::invoice(conn, scope, id, true).await {
            Err(Error::NotFound { .. }) => return Err(Error::invalid(field, "No such invoice")),
            other => other?,
        };
        if row.status() == Status::Closed {
            return Err(Error::invalid(field, "The invoice is closed: its items cannot change"));
        }
        Ok(row)
    }

    /// Recomputes `invoice`'s totals, payers and status after a change of
    /// its items and records what changed; answers the item as it now is
    /// (its parts among the payers recomputed; as it was, if deleted).
    pub(super) async fn after_items_changed(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        invoice: &InvoiceRow,
        item: (&str, &ItemRow),
    ) -> Result<ItemRow, Error> {
        let (now, today) = (self.clock.now(), self.today());
        let (after, items) = Store::refresh(
            conn,
            invoice,
            |t| invoice::status(invoice.status(), t, invoice.due_date, today),
            now,
        )
        .await?;
        let change = if after.status == invoice.status { "updated" } else { after.status.as_str() };
        Store::record(conn, scope, ("invoice", change), after.id, convert::invoice_json(&after, &items), now)
            .await?;
        let (change, row) = item;
        // The item as refresh left it (its parts among the payers); a
        // deleted one as it was.
        let row = items.into_iter().find(|i| i.id == row.id).unwrap_or_else(|| row.clone());
        Store::record(conn, scope, ("line_item", change), row.id, convert::item_json(&row), now).await?;
        Ok(row)
    }

    /// Adds an item to an invoice.
    pub(crate) async fn create_item(&self, scope: Scope, item: pb::LineItem) -> Result<ItemRow, Error> {
        let invoice_id = wire::id(&item.invoice_id).map_err(|why| {
            let why = if item.invoice_id.trim().is_empty() { "Required".to_owned() } else { why };
            Error::invalid("line_item.invoice_id", why)
        })?;
        let mut tx = self.store.begin().await?;
        let invoice = Self::open_invoice(&mut tx, scope, invoice_id, "line_item.invoice_id").await?;
        let mut fields = Fields::new("line_item");
        let given = convert::given_parts(&mut fields, &item.allocations, &invoice.currency);
        let Some(mut new) = convert::new_item(&mut fields, item, &invoice.currency) else {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        };
        convert::place_item(&mut fields, &invoice.payers.0, &mut new, given);
        if !fields.ok() {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        }
        let row = Store::insert_item(&mut tx, scope, (invoice_id, &invoice.payers.0), &new, self.clock.now())
            .await?;
        let row = self.after_items_changed(&mut tx, scope, &invoice, ("created", &row)).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// One line item.
    pub(crate) async fn item(&self, scope: Scope, id: &str) -> Result<ItemRow, Error> {
        let id = wire::object_id(id, || Error::NotFound { resource: "Line item" })?;
        self.store.read_item(scope, id).await
    }

    /// The line items a query matches.
    pub(crate) async fn items(
        &self,
        scope: Scope,
        query: &paymesh_proto::common::v1::ListQuery,
    ) -> Result<Listing<ItemRow>, Error> {
        self.store.items(scope, query, self.limits).await
    }

    /// Locks item `id` and its invoice (the invoice first, as every change
    /// of an invoice does), refusing a closed invoice.
    async fn locked_item(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
    ) -> Result<(InvoiceRow, ItemRow), Error> {
        let invoice_id = self.store.read_item(scope, id).await?.invoice_id;
        let invoice = Self::open_invoice(conn, scope, invoice_id, "line_item.invoice_id").await?;
        let item = Store::item(conn, scope, id, true).await?;
        Ok((invoice, item))
    }

    /// Changes a line item.
    pub(crate) async fn update_item(
        &self,
        scope: Scope,
        request: pb::UpdateLineItemRequest,
    ) -> Result<ItemRow, Error> {
        let item = request.line_item.unwrap_or_default();
        let id = wire::object_id(&item.id, || Error::NotFound { resource: "Line item" })?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let mut tx = self.store.begin().await?;
        let (invoice, stored) = self.locked_item(&mut tx, scope, id).await?;
        made_by_payment(&stored)?;
        let mut row = stored.clone();
        let mut fields = Fields::new("line_item");
        let mut parts = None;
        for path in &paths {
            match path.as_str() {
                "type" => row.kind = fields.take("type", convert::kind(&item.r#type)).unwrap_or_default(),
                "description" => {
                    row.description = fields
                        .take("description", convert::description(&item.description))
                        .unwrap_or_default();
                }
                p if names(p, "amount") => {
                    if let Some(amount) =
                        fields.take("amount", convert::unit_amount(item.amount.as_ref(), &stored.currency))
                    {
                        row.amount = amount;
                    }
                }
                "qty" => {
                    if let Some(qty) = fields.take("qty", convert::qty(item.qty)) {
                        row.qty = qty;
                    }
                }
                "incurred_date" => {
                    if let Some(date) = fields.take("incurred_date", convert::date(&item.incurred_date)) {
                        row.incurred_date = date;
                    }
                }
                "attrs" => {
                    if let Some(attrs) =
                        fields.take("attrs", patched_attrs(&stored.attrs.0, item.attrs.clone()))
                    {
                        row.attrs = Json(attrs);
                    }
                }
                p if names(p, "allocations") => parts = Some(item.allocations.clone()),
                other => fields.unchangeable(
                    other,
                    &["type", "description", "amount", "qty", "incurred_date", "attrs", "allocations"],
                ),
            }
        }
        row.total = line_total(row.amount, row.qty);
        if let Some(given) = parts {
            // The parts given replace the custom ones; the auto ones follow.
            let given = convert::given_parts(&mut fields, &given, &stored.currency);
            let entry = invoice::Entry::parse(&row.entry_type).unwrap_or(invoice::Entry::Charge);
            row.allocations = Json(convert::parts(&mut fields, &invoice.payers.0, (entry, row.total), given));
        } else {
            let kept = row.custom_parts();
            let amounts: Vec<_> = kept.iter().map(|(_, amount)| *amount).collect();
            if let Some(why) = payers::refusal(row.total, &amounts) {
                fields.push("amount", format!("{why}: change its allocations too"));
            }
        }
        if !fields.ok() {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        }
        row.modified_at = self.clock.now();
        Store::save_item(&mut tx, &row).await?;
        let row = self.after_items_changed(&mut tx, scope, &invoice, ("updated", &row)).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Removes a line item from its invoice; an invoice keeps one at least.
    pub(crate) async fn delete_item(&self, scope: Scope, id: &str) -> Result<ItemRow, Error> {
        let id = wire::object_id(id, || Error::NotFound { resource: "Line item" })?;
        let mut tx = self.store.begin().await?;
        let (invoice, row) = self.locked_item(&mut tx, scope, id).await?;
        made_by_payment(&row)?;
        if Store::items_of_in(&mut tx, &[invoice.id]).await?.len() <= 1 {
            return Err(Error::Conflict(
                "An invoice keeps one item at least: delete or close the invoice instead".to_owned(),
            ));
        }
        Store::delete_item(&mut tx, id).await?;
        self.after_items_changed(&mut tx, scope, &invoice, ("deleted", &row)).await?;
        tx.commit().await?;
        Ok(row)
    }

    // === Billing schedules ===

    /// The rule of `frequency` with the days of `schedule`, problems named
    /// under `billing_schedule.`; days given for another frequency are
    /// refused.
    fn rule(
        fields: &mut Fields<'_>,
        frequency: Frequency,
        schedule: &pb::BillingSchedule,
        base: GivenDays,
        created: NaiveDate,
    ) -> Option<Rule> {
        let given = convert::given_days(schedule);
        let objects = [
            ("bimonthly", schedule.bimonthly.is_some(), Frequency::Bimonthly),
            ("monthly", schedule.monthly.is_some(), Frequency::Monthly),
            ("quarterly", schedule.quarterly.is_some(), Frequency::Quarterly),
            ("annually", schedule.annually.is_some(), Frequency::Annually),
        ];
        let mut ok = true;
        for (name, present, of) in objects {
            if present && of != frequency {
                fields.push(name, format!("Only for a {name} schedule; this one is {}", frequency.as_str()));
                ok = false;
            }
        }
        let merged = GivenDays {
            bimonthly: [given.bimonthly[0].or(base.bimonthly[0]), given.bimonthly[1].or(base.bimonthly[1])],
            monthly: given.monthly.or(base.monthly),
            quarterly: std::array::from_fn(|q| {
                (given.quarterly[q].0.or(base.quarterly[q].0), given.quarterly[q].1.or(base.quarterly[q].1))
            }),
            annually: (given.annually.0.or(base.annually.0), given.annually.1.or(base.annually.1)),
        };
        match Rule::resolve(frequency, &merged, created) {
            Ok(rule) => ok.then_some(rule),
            Err(problems) => {
                for (field, why) in problems {
                    fields.push(&field, why);
                }
                None
            }
        }
    }

    /// Creates a billing schedule with its charges.
    pub(crate) async fn create_schedule(
        &self,
        scope: Scope,
        schedule: pb::BillingSchedule,
    ) -> Result<ScheduleWithCharges, Error> {
        let today = self.today();
        let mut fields = Fields::new("billing_schedule");
        let kind = match fields.take("type", convert::kind(&schedule.r#type)) {
            Some(Some(kind)) => Some(kind),
            Some(None) => {
                fields.push("type", "Required");
                None
            }
            None => None,
        };
        let description = fields.take("description", convert::description(&schedule.description));
        let start =
            fields.take("start_date", convert::date(&schedule.start_date)).map(|d| d.unwrap_or(today));
        let end = fields.take("end_date", convert::date(&schedule.end_date));
        if let (Some(start), Some(Some(end))) = (start, end)
            && end < start
        {
            fields.push("end_date", format!("Must not be before the start date ({start})"));
        }
        let frequency = convert::frequency_from_proto(schedule.recurring_frequency);
        if frequency.is_none() {
            fields.push("recurring_frequency", format!("Required: one of {}", Frequency::WORDS.join(", ")));
        }
        let rule = frequency.and_then(|f| Self::rule(&mut fields, f, &schedule, GivenDays::default(), today));
        let currency = fields.take("currency", convert::currency(&schedule.currency));
        let attrs = fields.take("attrs", convert::attrs(schedule.attrs.clone()));
        if schedule.charges.is_empty() {
            fields.push("charges", "Required: at least one charge");
        }
        let mut charges = Vec::new();
        for (i, charge) in schedule.charges.iter().enumerate() {
            let prefix = format!("billing_schedule.charges[{i}]");
            let mut charge_fields = Fields::new(&prefix);
            charges.extend(convert::new_charge(
                &mut charge_fields,
                charge.clone(),
                currency.as_deref().unwrap_or("USD"),
            ));
            for v in charge_fields.into_violations() {
                fields.push_path(v.field, v.description);
            }
        }
        let accepted = fields
            .take("accepted_payment_state", convert::accepted_from_proto(schedule.accepted_payment_state));
        let accounts: Vec<&str> = schedule.payers.iter().map(|p| p.account_id.as_str()).collect();
        let (customer, payers) = self.payers(scope, &mut fields, &schedule.customer_id, &accounts).await?;
        let accounts =
            self.customer_and_processing(scope, &mut fields, &customer, &schedule.processing_id).await?;
        let (Some(kind), Some(description), Some(start), Some(end), Some(rule), Some(currency), Some(attrs)) =
            (kind, description, start, end, rule, currency, attrs)
        else {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        };
        let (Some((customer_id, processing_id)), Some(payers), Some(accepted), true) =
            (accounts, payers, accepted, fields.ok())
        else {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        };
        let now = self.clock.now();
        let span = Span { start, end, billed_from: today, prorated: schedule.prorated };
        let days = rule.days_json();
        let row = ScheduleRow {
            id: Uuid::now_v7(),
            livemode: scope.livemode,
            kind,
            description,
            customer_id,
            processing_id,
            currency,
            start_date: start,
            end_date: end,
            recurring_frequency: rule.frequency().as_str().to_owned(),
            billing_days: (!days.is_null()).then_some(Json(days)),
            billed_from: today,
            next_billing_date: span.next_billing_date(rule),
            prorated: schedule.prorated,
            attrs: Json(attrs),
            created_at: now,
            modified_at: now,
            payers: Json(payers.iter().map(|p| p.account_id).collect()),
            accepted_payment_state: accepted.as_str().to_owned(),
        };
        let mut tx = self.store.begin().await?;
        Store::insert_schedule(&mut tx, scope, &row).await?;
        let mut stored = Vec::new();
        for charge in &charges {
            stored.push(Store::insert_charge(&mut tx, scope, row.id, charge, now).await?);
        }
        let data = convert::schedule_json(&row, &stored);
        Store::record(&mut tx, scope, ("billing_schedule", "created"), row.id, data, now).await?;
        tx.commit().await?;
        tracing::info!(billing_schedule = %row.id, frequency = %row.recurring_frequency, "billing schedule created");
        Ok((row, stored))
    }

    /// One billing schedule with its charges.
    pub(crate) async fn schedule(&self, scope: Scope, id: &str) -> Result<ScheduleWithCharges, Error> {
        let id = wire::object_id(id, || Error::NotFound { resource: "Billing schedule" })?;
        let mut tx = self.store.snapshot().await?;
        let row = Store::schedule(&mut tx, scope, id, false).await?;
        let charges = Store::charges_of_in(&mut tx, &[id]).await?;
        tx.commit().await?;
        Ok((row, charges))
    }

    /// The billing schedules a query matches, with their charges.
    pub(crate) async fn schedules(
        &self,
        scope: Scope,
        query: &paymesh_proto::common::v1::ListQuery,
    ) -> Result<(Listing<ScheduleRow>, Vec<ChargeRow>), Error> {
        let mut tx = self.store.snapshot().await?;
        let listing = Store::schedules_in(&mut tx, scope, query, self.limits).await?;
        let ids: Vec<Uuid> = listing.items.iter().map(|r| r.id).collect();
        let charges = if ids.is_empty() { Vec::new() } else { Store::charges_of_in(&mut tx, &ids).await? };
        tx.commit().await?;
        Ok((listing, charges))
    }

    /// Changes a billing schedule, from its next period on.
    pub(crate) async fn update_schedule(
        &self,
        scope: Scope,
        request: pb::UpdateBillingScheduleRequest,
    ) -> Result<ScheduleWithCharges, Error> {
        let schedule = request.billing_schedule.unwrap_or_default();
        let id = wire::object_id(&schedule.id, || Error::NotFound { resource: "Billing schedule" })?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let mut tx = self.store.begin().await?;
        let stored = Store::schedule(&mut tx, scope, id, true).await?;
        let stored_rule = Rule::from_stored(
            &stored.recurring_frequency,
            stored.billing_days.as_ref().map_or(&Value::Null, |d| &d.0),
        )
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("billing schedule {id} holds an unreadable rule")))?;
        let mut row = stored.clone();
        let mut fields = Fields::new("billing_schedule");
        let mut frequency = stored_rule.frequency();
        let mut days_changed = false;
        for path in &paths {
            match path.as_str() {
                "type" => match fields.take("type", convert::kind(&schedule.r#type)) {
                    Some(Some(kind)) => row.kind = kind,
                    Some(None) => fields.push("type", "Required"),
                    None => {}
                },
                "description" => {
                    row.description = fields
                        .take("description", convert::description(&schedule.description))
                        .unwrap_or_default();
                }
                "start_date" => match fields.take("start_date", convert::date(&schedule.start_date)) {
                    Some(Some(date)) => row.start_date = date,
                    Some(None) => fields.push("start_date", "Required: a date, YYYY-MM-DD"),
                    None => {}
                },
                "end_date" => {
                    if let Some(date) = fields.take("end_date", convert::date(&schedule.end_date)) {
                        row.end_date = date;
                    }
                }
                "recurring_frequency" => match convert::frequency_from_proto(schedule.recurring_frequency) {
                    Some(f) => {
                        frequency = f;
                        days_changed = true;
                    }
                    None => fields.push(
                        "recurring_frequency",
                        format!("Must be one of {}", Frequency::WORDS.join(", ")),
                    ),
                },
                p if ["bimonthly", "monthly", "quarterly", "annually"].iter().any(|n| names(p, n)) => {
                    days_changed = true;
                }
                "attrs" => {
                    if let Some(attrs) =
                        fields.take("attrs", patched_attrs(&stored.attrs.0, schedule.attrs.clone()))
                    {
                        row.attrs = Json(attrs);
                    }
                }
                other => fields.unchangeable(
                    other,
                    &[
                        "type",
                        "description",
                        "start_date",
                        "end_date",
                        "recurring_frequency",
                        "bimonthly",
                        "monthly",
                        "quarterly",
                        "annually",
                        "attrs",
                    ],
                ),
            }
        }
        if let Some(end) = row.end_date
            && end < row.start_date
        {
            fields.push("end_date", format!("Must not be before the start date ({})", row.start_date));
        }
        let mut rule = stored_rule;
        if days_changed {
            // Days not given keep their stored values while the frequency
            // stays; a new frequency starts from its defaults.
            let base = if frequency == stored_rule.frequency() {
                given_of(stored_rule)
            } else {
                GivenDays::default()
            };
            if let Some(new) =
                Self::rule(&mut fields, frequency, &schedule, base, stored.created_at.date_naive())
            {
                rule = new;
            }
        }
        if !fields.ok() {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        }
        let days = rule.days_json();
        row.recurring_frequency = rule.frequency().as_str().to_owned();
        row.billing_days = (!days.is_null()).then_some(Json(days));
        row.next_billing_date = Span {
            start: row.start_date,
            end: row.end_date,
            billed_from: row.billed_from,
            prorated: row.prorated,
        }
        .next_billing_date(rule);
        let now = self.clock.now();
        row.modified_at = now;
        Store::save_schedule(&mut tx, &row).await?;
        let charges = Store::charges_of_in(&mut tx, &[id]).await?;
        let data = convert::schedule_json(&row, &charges);
        Store::record(&mut tx, scope, ("billing_schedule", "updated"), id, data, now).await?;
        tx.commit().await?;
        Ok((row, charges))
    }

    /// Deletes a billing schedule and its charges.
    pub(crate) async fn delete_schedule(&self, scope: Scope, id: &str) -> Result<ScheduleWithCharges, Error> {
        let id = wire::object_id(id, || Error::NotFound { resource: "Billing schedule" })?;
        let mut tx = self.store.begin().await?;
        let row = Store::schedule(&mut tx, scope, id, true).await?;
        let charges = Store::charges_of_in(&mut tx, &[id]).await?;
        Store::delete_schedule(&mut tx, id).await?;
        let now = self.clock.now();
        let data = convert::schedule_json(&row, &charges);
        Store::record(&mut tx, scope, ("billing_schedule", "deleted"), id, data, now).await?;
        tx.commit().await?;
        Ok((row, charges))
    }

    // === Billing charges ===

    /// Adds a charge to a billing schedule.
    pub(crate) async fn create_charge(
        &self,
        scope: Scope,
        charge: pb::BillingCharge,
    ) -> Result<ChargeRow, Error> {
        let schedule_id = wire::id(&charge.billing_schedule_id).map_err(|why| {
            let why = if charge.billing_schedule_id.trim().is_empty() { "Required".to_owned() } else { why };
            Error::invalid("billing_charge.billing_schedule_id", why)
        })?;
        let mut tx = self.store.begin().await?;
        let schedule = match Store::schedule(&mut tx, scope, schedule_id, true).await {
            Err(Error::NotFound { .. }) => {
                return Err(Error::invalid("billing_charge.billing_schedule_id", "No such billing schedule"));
            }
            other => other?,
        };
        let mut fields = Fields::new("billing_charge");
        let Some(new) = convert::new_charge(&mut fields, charge, &schedule.currency) else {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        };
        let now = self.clock.now();
        let row = Store::insert_charge(&mut tx, scope, schedule_id, &new, now).await?;
        Store::record(&mut tx, scope, ("billing_charge", "created"), row.id, convert::charge_json(&row), now)
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// One billing charge.
    pub(crate) async fn charge(&self, scope: Scope, id: &str) -> Result<ChargeRow, Error> {
        let id = wire::object_id(id, || Error::NotFound { resource: "Billing charge" })?;
        self.store.read_charge(scope, id).await
    }

    /// The billing charges a query matches.
    pub(crate) async fn charges(
        &self,
        scope: Scope,
        query: &paymesh_proto::common::v1::ListQuery,
    ) -> Result<Listing<ChargeRow>, Error> {
        self.store.charges(scope, query, self.limits).await
    }

    /// Locks charge `id` and its schedule (the schedule first).
    async fn locked_charge(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
    ) -> Result<(ScheduleRow, ChargeRow), Error> {
        let schedule_id = self.store.read_charge(scope, id).await?.billing_schedule_id;
        let schedule = Store::schedule(conn, scope, schedule_id, true).await?;
        let charge = Store::charge(conn, scope, id, true).await?;
        Ok((schedule, charge))
    }

    /// Changes a billing charge.
    pub(crate) async fn update_charge(
        &self,
        scope: Scope,
        request: pb::UpdateBillingChargeRequest,
    ) -> Result<ChargeRow, Error> {
        let charge = request.billing_charge.unwrap_or_default();
        let id = wire::object_id(&charge.id, || Error::NotFound { resource: "Billing charge" })?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let mut tx = self.store.begin().await?;
        // The schedule is locked first, as every change of its charges does.
        let (_, stored) = self.locked_charge(&mut tx, scope, id).await?;
        let mut row = stored.clone();
        let mut fields = Fields::new("billing_charge");
        for path in &paths {
            match path.as_str() {
                "type" => row.kind = fields.take("type", convert::kind(&charge.r#type)).unwrap_or_default(),
                "description" => {
                    row.description = fields
                        .take("description", convert::description(&charge.description))
                        .unwrap_or_default();
                }
                p if names(p, "amount") => {
                    if let Some(amount) =
                        fields.take("amount", convert::unit_amount(charge.amount.as_ref(), &stored.currency))
                    {
                        row.amount = amount;
                    }
                }
                "qty" => {
                    if let Some(qty) = fields.take("qty", convert::qty(charge.qty)) {
                        row.qty = qty;
                    }
                }
                "attrs" => {
                    if let Some(attrs) =
                        fields.take("attrs", patched_attrs(&stored.attrs.0, charge.attrs.clone()))
                    {
                        row.attrs = Json(attrs);
                    }
                }
                "start_date" => {
                    if let Some(date) = fields.take("start_date", convert::date(&charge.start_date)) {
                        row.start_date = date;
                    }
                }
                other => fields
                    .unchangeable(other, &["type", "description", "amount", "qty", "attrs", "start_date"]),
            }
        }
        if !fields.ok() {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        }
        let now = self.clock.now();
        row.total = line_total(row.amount, row.qty);
        row.modified_at = now;
        Store::save_charge(&mut tx, &row).await?;
        Store::record(&mut tx, scope, ("billing_charge", "updated"), id, convert::charge_json(&row), now)
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Removes a charge from its schedule; a schedule keeps one at least.
    pub(crate) async fn delete_charge(&self, scope: Scope, id: &str) -> Result<ChargeRow, Error> {
        let id = wire::object_id(id, || Error::NotFound { resource: "Billing charge" })?;
        let mut tx = self.store.begin().await?;
        let (schedule, row) = self.locked_charge(&mut tx, scope, id).await?;
        if Store::charges_of_in(&mut tx, &[schedule.id]).await?.len() <= 1 {
            return Err(Error::Conflict(
                "A billing schedule keeps one charge at least: delete the schedule instead".to_owned(),
            ));
        }
        Store::delete_charge(&mut tx, id).await?;
        let now = self.clock.now();
        Store::record(&mut tx, scope, ("billing_charge", "deleted"), id, convert::charge_json(&row), now)
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    // === The sweeps ===

    /// Makes the invoices of every schedule whose billing date has come, one
    /// schedule per transaction; answers how many invoices were made.
    pub(crate) async fn bill_due(&self) -> Result<usize, Error> {
        let today = self.today();
        let mut made = 0;
        for _ in 0..SCHEDULES_PER_PASS {
            let mut tx = self.store.begin().await?;
            let Some(due) = Store::due_schedules(&mut tx, today, 1).await?.pop() else { break };
            made += self
                .bill(
                    &mut tx,
                    Scope { partner_id: due.partner_id, livemode: due.row.livemode },
                    due.row,
                    today,
                )
                .await?;
            tx.commit().await?;
        }
        Ok(made)
    }

    /// Makes `schedule`'s invoices due by `today` in `conn`'s transaction.
    async fn bill(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        mut schedule: ScheduleRow,
        today: NaiveDate,
    ) -> Result<usize, Error> {
        let rule = Rule::from_stored(
            &schedule.recurring_frequency,
            schedule.billing_days.as_ref().map_or(&Value::Null, |d| &d.0),
        )
        .ok_or_else(|| {
            Error::Internal(anyhow::anyhow!("billing schedule {} holds an unreadable rule", schedule.id))
        })?;
        let charges = Store::charges_of_in(conn, &[schedule.id]).await?;
        let items: Vec<(Option<NaiveDate>, NewItem)> = charges
            .iter()
            .map(|c| {
                let item = NewItem {
                    entry: invoice::Entry::Charge,
                    kind: c.kind.clone(),
                    description: c.description.clone(),
                    amount: c.amount,
                    qty: c.qty,
                    total: c.total,
                    incurred_date: None,
                    attrs: Value::Object(serde_json::Map::new()),
                    transaction_id: None,
                    parts: Vec::new(),
                    payer_id: None,
                };
                (c.start_date, item)
            })
            .collect();
        let mut span = Span {
            start: schedule.start_date,
            end: schedule.end_date,
            billed_from: schedule.billed_from,
            prorated: schedule.prorated,
        };
        let mut made = 0;
        for period in span.due(rule, today, DATES_PER_SCHEDULE) {
            let date = period.bills_on;
            // A partial period bills each charge for the days it covers; a
            // charge that starts later, from its start.
            let items: Vec<NewItem> = items
                .iter()
                .filter_map(|(start, item)| match period.charge_share(*start, schedule.prorated)? {
                    None => Some(item.clone()),
                    Some((covered, of)) => {
                        let amount = invoice::prorated(item.amount, covered, of);
                        Some(NewItem {
                            amount,
                            total: line_total(amount, item.qty),
                            incurred_date: Some(date),
                            ..item.clone()
                        })
                    }
                })
                .collect();
            let new = NewInvoice {
                id: Uuid::now_v7(),
                kind: Some(schedule.kind.clone()),
                description: schedule.description.clone(),
                due_date: date,
                status: Status::Pending,
                customer_id: schedule.customer_id,
                processing_id: schedule.processing_id,
                billing_schedule_id: Some(schedule.id),
                billing_contact: None,
                currency: schedule.currency.clone(),
                attrs: Value::Object(serde_json::Map::new()),
                payers: schedule.invoice_payers().into_iter().map(Payer::new).collect(),
                accepted: AcceptedPaymentState::parse(&schedule.accepted_payment_state).unwrap_or_default(),
            };
            // A period none of whose charges has started bills nothing.
            if !items.is_empty() && self.insert_invoice(conn, scope, &new, &items).await?.is_some() {
                made += 1;
                tracing::info!(billing_schedule = %schedule.id, invoice = %new.id, %date, "schedule billed");
            }
            span.billed_from = period.last + Days::new(1);
        }
        schedule.billed_from = span.billed_from;
        schedule.next_billing_date = span.next_billing_date(rule);
        schedule.modified_at = self.clock.now();
        Store::save_schedule(conn, &schedule).await?;
        Ok(made)
    }

    /// Marks overdue the issued invoices with something left to pay after
    /// their due date; answers how many.
    pub(crate) async fn mark_overdue(&self) -> Result<usize, Error> {
        let (today, now) = (self.today(), self.clock.now());
        let mut tx = self.store.begin().await?;
        let late = Store::mark_overdue(&mut tx, today, OVERDUE_PER_PASS, now).await?;
        let ids: Vec<Uuid> = late.iter().map(|(_, row)| row.id).collect();
        let items = if ids.is_empty() { Vec::new() } else { Store::items_of_in(&mut tx, &ids).await? };
        for (partner_id, row) in &late {
            let scope = Scope { partner_id: *partner_id, livemode: row.livemode };
            let data = convert::invoice_json(row, &items);
            Store::record(&mut tx, scope, ("invoice", "overdue"), row.id, data, now).await?;
        }
        tx.commit().await?;
        Ok(late.len())
    }
}

/// The days of a stored rule, as if given (to keep them on an update).
fn given_of(rule: Rule) -> GivenDays {
    match rule {
        Rule::Bimonthly { first, second } => {
            GivenDays { bimonthly: [Some(first), Some(second)], ..GivenDays::default() }
        }
        Rule::Monthly { day } => GivenDays { monthly: Some(day), ..GivenDays::default() },
        Rule::Quarterly(q) => {
            GivenDays { quarterly: q.map(|(m, d)| (Some(m), Some(d))), ..GivenDays::default() }
        }
        Rule::Annually { month, day } => {
            GivenDays { annually: (Some(month), Some(day)), ..GivenDays::default() }
        }
        Rule::Daily | Rule::Weekly | Rule::Biweekly => GivenDays::default(),
    }
}

/// Whether `principal` may use billing: secret keys (and services) only.
pub(crate) fn scope_of(principal: &Principal) -> Result<Scope, Error> {
    principal.require_secret_key()?;
    Ok(principal.scope())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_paths_name_an_attribute_or_its_parts() {
        assert!(names("billing_contact", "billing_contact"));
        assert!(names("billing_contact.email", "billing_contact"));
        assert!(!names("billing_contacts", "billing_contact"));
        assert!(names("monthly.billing_day", "monthly"));
    }

    #[test]
    fn stored_days_are_kept_on_an_update() {
        let given = given_of(Rule::Bimonthly { first: 3, second: 17 });
        assert_eq!(given.bimonthly, [Some(3), Some(17)]);
        let given = given_of(Rule::Quarterly([(2, 28), (5, 31), (8, 31), (11, 30)]));
        assert_eq!(given.quarterly[3], (Some(11), Some(30)));
        let created = NaiveDate::from_ymd_opt(2026, 1, 9).unwrap_or_default();
        assert_eq!(
            Rule::resolve(Frequency::Monthly, &given_of(Rule::Monthly { day: 31 }), created),
            Ok(Rule::Monthly { day: 31 })
        );
    }

    #[test]
    fn attrs_merge_on_update_and_clear_when_none_is_sent() {
        let stored = serde_json::json!({"a": 1, "b": 2});
        let mut patch = serde_json::Map::new();
        patch.insert("b".to_owned(), Value::Null);
        patch.insert("c".to_owned(), Value::from(3));
        let merged = patched_attrs(&stored, Some(paymesh_kit::json::to_struct(patch))).unwrap();
        assert_eq!(merged, serde_json::json!({"a": 1, "c": 3}));
        assert_eq!(patched_attrs(&stored, None).unwrap(), serde_json::json!({}));
    }
}

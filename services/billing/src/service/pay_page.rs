//! The hosted pay page's side of billing: what the page of a link shows,
//! and its payment, once per submission.
//!
//! A submission is recorded (`charging`) under the link's row lock before
//! the payments service is asked, with an Idempotency-Key made of the link
//! and the submission: the same submission sent again (a double click, a
//! reload) gets the same answer and charges once, and a one-time link
//! takes one submission at a time, so it is never paid twice. A
//! submission cut short (billing stopped before the answer was recorded)
//! is resolved by the sweep, which finds its payment by the attempt id the
//! payment carries in its attrs.

use paymesh_kit::{
    Error,
    auth::Scope,
    json::from_struct,
    money::{Currency, Money},
    wire::Fields,
};
use paymesh_proto::{billing::v1 as pb, common::v1::ErrorReason, payments::v1 as pay};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use super::{Billing, links::link_json};
use crate::{
    convert,
    domain::{
        invoice::Status,
        link::{self, LinkStatus, LinkType},
    },
    peers::{Charged, LINK_ATTEMPT_ATTR, LinkPayment},
    store::{
        AttachmentRow, InvoiceRow, Owner, Store,
        links::{AttemptRow, LinkRow},
    },
};

/// How long a page's payment may be in flight before another submission
/// of a one-time link is taken, and before the sweep looks for its
/// outcome (longer than any request may take).
const STALE_ATTEMPT: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// The most cut-short submissions one pass resolves.
const ATTEMPTS_PER_PASS: i64 = 50;

/// A submission id: 16 to 64 letters, digits, `-` or `_`.
fn submission_id(raw: &str) -> Result<&str, Error> {
    let raw = raw.trim();
    let valid = (16..=64).contains(&raw.len())
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(raw)
    } else {
        Err(Error::invalid("submission_id", "Must be 16 to 64 letters, digits, - or _"))
    }
}

/// Why an invoice takes no more payment, as the page says it.
fn invoice_closed(invoice: &InvoiceRow) -> Option<&'static str> {
    match invoice.status() {
        Status::Paid => Some("This invoice has been paid"),
        Status::Closed => Some("This invoice was closed"),
        _ => None,
    }
}

impl Billing {
    /// The invoice of `link`, if it has one.
    async fn link_invoice(&self, scope: Scope, link: &LinkRow) -> Result<Option<InvoiceRow>, Error> {
        let Some(id) = link.invoice_id else { return Ok(None) };
        let mut conn = self.store.conn().await?;
        Ok(Some(Store::invoice(&mut conn, scope, id, false).await?))
    }

    /// What the page of the link at `token` asks for: the link's amount,
    /// else what is left of its invoice, else nothing (the payer types
    /// it).
    fn amount_due(link: &LinkRow, invoice: Option<&InvoiceRow>) -> Option<Decimal> {
        match (link.amount, invoice) {
            (Some(amount), Some(invoice)) => Some(amount.min(invoice.amount_due)),
            (Some(amount), None) => Some(amount),
            (None, Some(invoice)) => Some(invoice.amount_due),
            (None, None) => None,
        }
    }

    /// The page of the link whose URL holds `token`.
    pub(crate) async fn pay_page(&self, token: &str) -> Result<pb::PayPage, Error> {
        let (row, scope) = Store::link_by_token(&mut *self.store.conn().await?, token.trim(), false).await?;
        let now = self.clock.now();
        let invoice = self.link_invoice(scope, &row).await?;
        let status = row.status_at(now);
        let closed = status.closed_reason().or_else(|| {
            if status == LinkStatus::Active { invoice.as_ref().and_then(invoice_closed) } else { None }
        });
        let money = |amount: Decimal| {
            Money::new(amount, Currency::parse(&row.currency).unwrap_or(Currency::Usd)).to_proto()
        };
        let page_invoice = match &invoice {
            None => None,
            Some(invoice) => {
                let mut conn = self.store.conn().await?;
                let items = Store::items_of_in(&mut conn, &[invoice.id]).await?;
                let files = self.store.attachments_of(scope, Owner::Invoice(invoice.id)).await?;
                Some(pb::PayPageInvoice {
                    id: invoice.id.to_string(),
                    description: invoice.description.clone().unwrap_or_default(),
                    due_date: invoice.due_date.to_string(),
                    items: items
                        .iter()
                        .filter(|i| i.entry_type == "charge")
                        .map(|i| pb::PayPageItem {
                            description: i.description.clone().or_else(|| i.kind.clone()).unwrap_or_default(),
                            total: Some(money(i.total)),
                        })
                        .collect(),
                    total_due: Some(money(invoice.total_due)),
                    amount_due: Some(money(invoice.amount_due)),
                    attachments: files
                        .iter()
                        .map(|f| pb::PayPageFile { id: f.id.to_string(), file_name: f.file_name.clone() })
                        .collect(),
                })
            }
        };
        let own_files = self.store.attachments_of(scope, Owner::Link(row.id)).await?;
        let merchant_name = self.merchant_name(scope, row.processing_id).await?;
        let url = self.link_url(&row);
        Ok(pb::PayPage {
            amount_due: Self::amount_due(&row, invoice.as_ref()).map(money),
            closed_reason: closed.unwrap_or_default().to_owned(),
            invoice: page_invoice,
            asks_payer: row.customer_id.is_none(),
            transaction_id: row.transaction_id.map(|t| t.to_string()).unwrap_or_default(),
            attachments: own_files
                .iter()
                .map(|f| pb::PayPageFile { id: f.id.to_string(), file_name: f.file_name.clone() })
                .collect(),
            merchant_name,
            link: Some(convert::link_to_proto(&row, &Default::default(), &url, now)),
        })
    }

    /// One file of the link whose URL holds `token`, or of its invoice.
    pub(crate) async fn page_attachment(
        &self,
        token: &str,
        id: &str,
    ) -> Result<(AttachmentRow, Vec<u8>), Error> {
        let (row, scope) = Store::link_by_token(&mut *self.store.conn().await?, token.trim(), false).await?;
        let not_found = || Error::NotFound { resource: "Invoice attachment" };
        let id = Uuid::parse_str(id.trim()).map_err(|_| not_found())?;
        let file = self.store.attachment(scope, id).await?;
        let offered = file.payment_link_id == Some(row.id)
            || (file.invoice_id.is_some() && file.invoice_id == row.invoice_id);
        if !offered {
            return Err(not_found());
        }
        let content = self.store.attachment_content(file.id).await?;
        Ok((file, content))
    }

    /// Pays the link whose URL holds `token`, once per submission.
    pub(crate) async fn pay_link(
        &self,
        request: pb::PayPaymentLinkRequest,
    ) -> Result<pb::PayPaymentLinkResponse, Error> {
        let submission = submission_id(&request.submission_id)?.to_owned();
        let (link, scope) =
            Store::link_by_token(&mut *self.store.conn().await?, request.token.trim(), false).await?;
        let currency = Currency::parse(&link.currency).unwrap_or(Currency::Usd);
        let mut fields = Fields::new("payment");
        let given = request.answers.clone().map(from_struct).unwrap_or_default();
        let answers = match link::answers(&link.additional_datafields.0, &given) {
            Ok(answers) => answers,
            Err(problems) => {
                for (title, why) in problems {
                    fields.push_path(format!("answers.{title}"), why);
                }
                serde_json::Map::new()
            }
        };
        let Some(method) = request.payment_method.clone() else {
            fields.push_path("payment_method", "Required: a card or a bank account");
            return Err(Error::InvalidAttributes(fields.into_violations()));
        };
        let payer = if link.customer_id.is_none() {
            let name = request.payer_name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 200 {
                fields.push_path("payer_name", "Required: your name, 1 to 200 characters");
            }
            let email = request.payer_email.trim().to_owned();
            if email.is_empty() {
                fields.push_path("payer_email", "Required: your email address");
            } else if let Err(why) = super::links::email_address(&email) {
                fields.push_path("payer_email", why);
            }
            Some((name, email))
        } else {
            None
        };
        let typed = match (&request.amount, link.amount.is_none() && link.invoice_id.is_none()) {
            (_, false) => None,
            (Some(m), true) if !m.amount.trim().is_empty() => {
                match convert::unit_amount(Some(m), currency.code()) {
                    Ok(a) if a > Decimal::ZERO => Some(a),
                    Ok(_) => {
                        fields.push_path("amount", "Must be greater than 0");
                        None
                    }
                    Err(why) => {
                        fields.push_path("amount", why);
                        None
                    }
                }
            }
            (_, true) => {
                fields.push_path("amount", "Required: the amount to pay");
                None
            }
        };
        if !fields.ok() {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        }

        // The submission, recorded before anything is charged.
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let (locked, _) = Store::link_by_token(&mut tx, request.token.trim(), true).await?;
        let attempt = match Store::attempt(&mut tx, locked.id, &submission).await? {
            Some(done) if done.status != "charging" => {
                drop(tx);
                return self.answer_of(&locked, &done);
            }
            Some(charging) => {
                // Sent again while (or after) its first sending: the same
                // key, without holding the link.
                tx.rollback().await?;
                charging
            }
            None => {
                if let Some(reason) = locked.status_at(now).closed_reason() {
                    return Err(Error::Conflict(reason.to_owned()));
                }
                let invoice = match locked.invoice_id {
                    Some(id) => Some(Store::invoice(&mut tx, scope, id, false).await?),
                    None => None,
                };
                if let Some(reason) = invoice.as_ref().and_then(invoice_closed) {
                    return Err(Error::Conflict(reason.to_owned()));
                }
                if locked.kind() == LinkType::OneTime
                    && Store::charging_elsewhere(&mut tx, locked.id, &submission, now - STALE_ATTEMPT).await?
                {
                    return Err(Error::Conflict(
                        "A payment of this link is being processed: wait a moment and reload the page"
                            .to_owned(),
                    ));
                }
                let amount = match (Self::amount_due(&locked, invoice.as_ref()), &invoice) {
                    (Some(due), Some(invoice)) => {
                        let left = (due.min(invoice.amount_due)
                            - Store::reserved_on(&mut tx, invoice.id).await?)
                            .max(Decimal::ZERO);
                        if left.is_zero() {
                            return Err(Error::Conflict(
                                "The rest of this invoice is being paid: wait a moment and reload the page"
                                    .to_owned(),
                            ));
                        }
                        left
                    }
                    (Some(due), None) => due,
                    (None, _) => typed.unwrap_or_default(),
                };
                let customer = match (locked.customer_id, &payer) {
                    (Some(customer), _) => customer,
                    (None, Some((name, email))) => {
                        self.peers.create_customer(scope, (name, email), "payment.payer").await?
                    }
                    (None, None) => return Err(Error::invalid("payer_name", "Required")),
                };
                let attempt =
                    Store::insert_attempt(&mut tx, scope, (locked.id, &submission), amount, customer, now)
                        .await?;
                tx.commit().await?;
                attempt
            }
        };

        // The charge: the same submission is the same Idempotency-Key.
        let mut attrs = answers;
        attrs.insert("payment_link_id".to_owned(), json!(link.id));
        attrs.insert(LINK_ATTEMPT_ATTR.to_owned(), json!(attempt.id));
        let payment = LinkPayment {
            customer_id: attempt.customer_id,
            processing_id: link.processing_id,
            invoice_id: link.invoice_id,
            amount: Money::new(attempt.amount, currency),
            method,
            description: link.description.clone(),
            attrs,
        };
        let key = format!("payment_link:{}:{submission}", link.id);
        let charged = self.peers.pay_link(scope, payment, &key).await;
        let done = self.record_attempt(scope, &attempt, charged).await?;
        self.answer_of(&link, &done)
    }

    /// The page's answer for a finished submission.
    fn answer_of(&self, link: &LinkRow, attempt: &AttemptRow) -> Result<pb::PayPaymentLinkResponse, Error> {
        let currency = Currency::parse(&link.currency).unwrap_or(Currency::Usd);
        let message = attempt.message.clone().unwrap_or_default();
        match (attempt.status.as_str(), attempt.transaction_id) {
            ("processed", transaction) => Ok(pb::PayPaymentLinkResponse {
                transaction_id: transaction.map(|t| t.to_string()).unwrap_or_default(),
                amount: Some(Money::new(attempt.charged.unwrap_or(attempt.amount), currency).to_proto()),
                redirect_url: link.redirect_url.clone().unwrap_or_default(),
            }),
            ("declined", Some(transaction)) => Err(Error::Refused {
                reason: ErrorReason::TransactionDeclined,
                object: "transaction",
                id: transaction,
                code: "declined".to_owned(),
                message,
            }),
            _ => Err(Error::invalid(
                "payment_method",
                if message.is_empty() { "The payment was not made".to_owned() } else { message },
            )),
        }
    }

    /// Records how a submission's charge ended: a processed payment counts
    /// on the link (and pays a one-time link); a charge with no answer
    /// stays `charging` for the same submission or the sweep.
    async fn record_attempt(
        &self,
        scope: Scope,
        attempt: &AttemptRow,
        charged: Charged,
    ) -> Result<AttemptRow, Error> {
        let (status, transaction, message, charged) = match charged {
            Charged::Processed(transaction, charged) => ("processed", transaction, None, charged),
            Charged::Declined(transaction, why) => ("declined", transaction, Some(why), None),
            Charged::Refused(why) => ("failed", None, Some(why), None),
            // The same submission still on its way (a double click): it
            // is answered once it ends.
            Charged::NotYet(Error::Conflict(_)) => {
                return Err(Error::Conflict(
                    "Your payment is being processed: reload this page in a moment to see it".to_owned(),
                ));
            }
            Charged::NotYet(error) => return Err(error),
        };
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut link = Store::link(&mut tx, scope, attempt.link_id, true).await?;
        let Some(mut current) = Store::charging_attempt(&mut tx, attempt.id).await? else {
            // Recorded meanwhile (the sweep, or the same submission).
            drop(tx);
            return self.attempt_row(attempt).await;
        };
        Store::finish_attempt(&mut tx, attempt.id, status, (transaction, message.as_deref(), charged), now)
            .await?;
        if status == "processed" {
            link.payment_count += 1;
            link.amount_paid += attempt.amount;
            if link.kind() == LinkType::OneTime {
                link.status = LinkStatus::Paid.as_str().to_owned();
                link.transaction_id = transaction;
            }
            let link = Store::save_link(&mut tx, &link, now).await?;
            let mut data = link_json(&link, &self.link_url(&link), now);
            data["last_transaction_id"] = json!(transaction);
            Store::record(&mut tx, scope, ("payment_link", "paid"), link.id, data, now).await?;
        }
        tx.commit().await?;
        tracing::info!(link = %attempt.link_id, attempt = %attempt.id, status, "payment link submission ended");
        current.status = status.to_owned();
        current.transaction_id = transaction;
        current.message = message;
        current.charged = charged;
        Ok(current)
    }

    /// Attempt `attempt` as stored now.
    async fn attempt_row(&self, attempt: &AttemptRow) -> Result<AttemptRow, Error> {
        let mut conn = self.store.conn().await?;
        Store::attempt_by_id(&mut conn, attempt.id).await
    }

    /// Resolves submissions cut short: each one's payment is looked up by
    /// the attempt id it carries; none made means it failed.
    pub(crate) async fn resolve_link_attempts(&self) -> Result<usize, Error> {
        let stale = self.store.stale_attempts(self.clock.now() - STALE_ATTEMPT, ATTEMPTS_PER_PASS).await?;
        for attempt in &stale {
            let scope = attempt.scope();
            let charged = match self.peers.link_payment(scope, attempt.id).await? {
                None => Charged::Refused("The payment was not completed".to_owned()),
                Some(payment) => {
                    let id = Uuid::parse_str(&payment.id).ok();
                    match pay::TransactionStatus::try_from(payment.status) {
                        Ok(pay::TransactionStatus::Declined | pay::TransactionStatus::Rejected) => {
                            Charged::Declined(id, payment.status_message)
                        }
                        Ok(pay::TransactionStatus::Voided) => Charged::Refused(payment.status_message),
                        _ => Charged::Processed(id, payment.amount.and_then(|m| m.amount.parse().ok())),
                    }
                }
            };
            self.record_attempt(scope, attempt, charged).await?;
        }
        Ok(stale.len())
    }
}

//! Attachments: files a partner shares with an invoice's customer or a
//! payment link's payer, checked by the kit's file rules and kept with
//! their invoice or link.

use paymesh_kit::{
    Error,
    files::{ContentType, FileName, check_content},
    query::{Listing, one},
    wire::{self, Fields},
};
use paymesh_proto::{billing::v1 as pb, common::v1::ListQuery};

use uuid::Uuid;

use super::{Billing, links::Manager};
use crate::{
    convert,
    domain::invoice::Status,
    store::{ATTACHMENTS, AttachmentRow, NewAttachment, Owner, Store},
};

impl Billing {
    /// Attaches the file a request carries to an invoice that is not
    /// closed.
    pub(crate) async fn create_attachment(
        &self,
        manager: Manager,
        request: pb::CreateInvoiceAttachmentRequest,
    ) -> Result<AttachmentRow, Error> {
        let scope = manager.scope;
        let pb::CreateInvoiceAttachmentRequest { invoice_attachment, content } = request;
        let pb::InvoiceAttachment {
            id: _,
            invoice_id,
            payment_link_id,
            file_name,
            content_type,
            size_bytes: _,
            sha256: _,
            attrs,
            livemode: _,
            create_time: _,
        } = invoice_attachment.unwrap_or_default();
        let mut fields = Fields::new("invoice_attachment");
        let owner = match (invoice_id.trim().is_empty(), payment_link_id.trim().is_empty()) {
            (false, true) => fields.take("invoice_id", wire::id(&invoice_id)).map(Owner::Invoice),
            (true, false) => fields.take("payment_link_id", wire::id(&payment_link_id)).map(Owner::Link),
            (true, true) => {
                fields.push(
                    "invoice_id",
                    "Required: the invoice (or payment_link_id: the link) the file is attached to",
                );
                None
            }
            (false, false) => {
                fields.push("payment_link_id", "Give invoice_id or payment_link_id, not both");
                None
            }
        };
        let file_name = fields.take("file_name", FileName::parse(&file_name));
        let content_type = fields.take("content_type", ContentType::parse(&content_type));
        if let Some(kind) = content_type {
            fields.take("content", check_content(&content, kind, self.max_file_bytes));
        }
        let attrs = fields.take("attrs", convert::attrs(attrs));
        let (Some(owner), Some(file_name), Some(content_type), Some(attrs), true) =
            (owner, file_name, content_type, attrs, fields.ok())
        else {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        };
        let mut tx = self.store.begin().await?;
        self.open_owner(&mut tx, manager, owner, true).await?;
        let new = NewAttachment {
            owner,
            file_name: file_name.as_str().to_owned(),
            content_type: content_type.as_str(),
            attrs,
        };
        let now = self.clock.now();
        let row = Store::insert_attachment(&mut tx, scope, &new, &content, now).await?;
        let data = convert::attachment_json(&row);
        Store::record(&mut tx, scope, ("invoice_attachment", "created"), row.id, data, now).await?;
        tx.commit().await?;
        tracing::info!(attachment = %row.id, owner = ?owner, bytes = row.size_bytes, "file attached");
        Ok(row)
    }

    /// One attachment's description, if the manager may see its owner.
    pub(crate) async fn attachment(&self, manager: Manager, id: &str) -> Result<AttachmentRow, Error> {
        let not_found = || Error::NotFound { resource: "Invoice attachment" };
        let id = wire::object_id(id, not_found)?;
        let row = self.store.attachment(manager.scope, id).await?;
        if let Some(merchant) = manager.merchant {
            let mut conn = self.store.conn().await?;
            let processing = match (row.invoice_id, row.payment_link_id) {
                (Some(invoice), _) => {
                    Store::invoice(&mut conn, manager.scope, invoice, false).await?.processing_id
                }
                (None, Some(link)) => Store::link(&mut conn, manager.scope, link, false).await?.processing_id,
                (None, None) => return Err(not_found()),
            };
            if processing != merchant {
                return Err(not_found());
            }
        }
        Ok(row)
    }

    /// The attachments a query matches.
    pub(crate) async fn attachments(
        &self,
        manager: Manager,
        query: &ListQuery,
    ) -> Result<Listing<AttachmentRow>, Error> {
        self.store.attachments(manager.scope, query, self.limits, manager.merchant).await
    }

    /// One attachment with its file.
    pub(crate) async fn attachment_content(
        &self,
        manager: Manager,
        id: &str,
    ) -> Result<(AttachmentRow, Vec<u8>), Error> {
        let row = self.attachment(manager, id).await?;
        let content = self.store.attachment_content(row.id).await?;
        Ok((row, content))
    }

    /// Deletes an attachment of an invoice that is not closed, or of a link
    /// that still takes payments.
    pub(crate) async fn delete_attachment(&self, manager: Manager, id: &str) -> Result<AttachmentRow, Error> {
        let scope = manager.scope;
        let found = self.attachment(manager, id).await?;
        let owner = match (found.invoice_id, found.payment_link_id) {
            (Some(invoice), _) => Owner::Invoice(invoice),
            (None, Some(link)) => Owner::Link(link),
            (None, None) => return Err(Error::NotFound { resource: "Invoice attachment" }),
        };
        let mut tx = self.store.begin().await?;
        // The owner first, as every change of an invoice or link locks it.
        self.open_owner(&mut tx, manager, owner, false).await?;
        let row: AttachmentRow =
            one(&mut tx, &ATTACHMENTS, scope, (found.id, "Invoice attachment"), true).await?;
        Store::delete_attachment(&mut tx, row.id).await?;
        let now = self.clock.now();
        let data = convert::attachment_json(&row);
        Store::record(&mut tx, scope, ("invoice_attachment", "deleted"), row.id, data, now).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Locks the owner of a file change, refusing a closed invoice or a
    /// link that takes no more payments (their files stay as they are).
    /// `creating`: a missing owner is a problem of the body.
    async fn open_owner(
        &self,
        tx: &mut sqlx::PgConnection,
        manager: Manager,
        owner: Owner,
        creating: bool,
    ) -> Result<(), Error> {
        let scope = manager.scope;
        // A merchant's own invoices and links only; another's is missing.
        let mine = |processing: Uuid| manager.merchant.is_none_or(|m| m == processing);
        let closed = match owner {
            Owner::Invoice(id) => match Store::invoice(tx, scope, id, true).await {
                Ok(found) if mine(found.processing_id) => {
                    (found.status() == Status::Closed).then_some("The invoice is closed")
                }
                Ok(_) | Err(Error::NotFound { .. }) if creating => {
                    return Err(Error::invalid("invoice_attachment.invoice_id", "No such invoice"));
                }
                Ok(_) => return Err(Error::NotFound { resource: "Invoice attachment" }),
                Err(other) => return Err(other),
            },
            Owner::Link(id) => match Store::link(tx, scope, id, true).await {
                Ok(found) if mine(found.processing_id) => found.status_at(self.clock.now()).closed_reason(),
                Ok(_) | Err(Error::NotFound { .. }) if creating => {
                    return Err(Error::invalid("invoice_attachment.payment_link_id", "No such payment link"));
                }
                Ok(_) => return Err(Error::NotFound { resource: "Invoice attachment" }),
                Err(other) => return Err(other),
            },
        };
        match (closed, creating, owner) {
            (None, _, _) => Ok(()),
            (Some(why), true, Owner::Invoice(_)) => Err(Error::invalid(
                "invoice_attachment.invoice_id",
                format!("{why}: nothing more is attached to it"),
            )),
            (Some(why), true, Owner::Link(_)) => Err(Error::invalid(
                "invoice_attachment.payment_link_id",
                format!("{why}: nothing more is attached to it"),
            )),
            (Some(why), false, _) => Err(Error::Conflict(format!("{why}: its attachments stay as they are"))),
        }
    }
}

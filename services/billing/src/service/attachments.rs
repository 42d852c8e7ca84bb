//! Invoice attachments: files a partner shares with an invoice's customer,
//! checked by the kit's file rules and kept with the invoice.

use paymesh_kit::{
    Error,
    auth::Scope,
    files::{ContentType, FileName, check_content},
    query::{Listing, one},
    wire::{self, Fields},
};
use paymesh_proto::{billing::v1 as pb, common::v1::ListQuery};

use super::Billing;
use crate::{
    convert,
    domain::invoice::Status,
    store::{ATTACHMENTS, AttachmentRow, NewAttachment, Store},
};

impl Billing {
    /// Attaches the file a request carries to an invoice that is not
    /// closed.
    pub(crate) async fn create_attachment(
        &self,
        scope: Scope,
        request: pb::CreateInvoiceAttachmentRequest,
    ) -> Result<AttachmentRow, Error> {
        let pb::CreateInvoiceAttachmentRequest { invoice_attachment, content } = request;
        let pb::InvoiceAttachment {
            id: _,
            invoice_id,
            file_name,
            content_type,
            size_bytes: _,
            sha256: _,
            attrs,
            livemode: _,
            create_time: _,
        } = invoice_attachment.unwrap_or_default();
        let mut fields = Fields::new("invoice_attachment");
        let invoice = if invoice_id.trim().is_empty() {
            fields.push("invoice_id", "Required: the invoice the file is attached to");
            None
        } else {
            fields.take("invoice_id", wire::id(&invoice_id))
        };
        let file_name = fields.take("file_name", FileName::parse(&file_name));
        let content_type = fields.take("content_type", ContentType::parse(&content_type));
        if let Some(kind) = content_type {
            fields.take("content", check_content(&content, kind, self.max_file_bytes));
        }
        let attrs = fields.take("attrs", convert::attrs(attrs));
        let (Some(invoice_id), Some(file_name), Some(content_type), Some(attrs), true) =
            (invoice, file_name, content_type, attrs, fields.ok())
        else {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        };
        let mut tx = self.store.begin().await?;
        let invoice = match Store::invoice(&mut tx, scope, invoice_id, true).await {
            Err(Error::NotFound { .. }) => {
                return Err(Error::invalid("invoice_attachment.invoice_id", "No such invoice"));
            }
            other => other?,
        };
        if invoice.status() == Status::Closed {
            return Err(Error::invalid(
                "invoice_attachment.invoice_id",
                "The invoice is closed: nothing more is attached to it",
            ));
        }
        let new = NewAttachment {
            invoice_id,
            file_name: file_name.as_str().to_owned(),
            content_type: content_type.as_str(),
            attrs,
        };
        let now = self.clock.now();
        let row = Store::insert_attachment(&mut tx, scope, &new, &content, now).await?;
        let data = convert::attachment_json(&row);
        Store::record(&mut tx, scope, ("invoice_attachment", "created"), row.id, data, now).await?;
        tx.commit().await?;
        tracing::info!(attachment = %row.id, invoice = %invoice_id, bytes = row.size_bytes, "file attached");
        Ok(row)
    }

    /// One attachment's description.
    pub(crate) async fn attachment(&self, scope: Scope, id: &str) -> Result<AttachmentRow, Error> {
        let id = wire::object_id(id, || Error::NotFound { resource: "Invoice attachment" })?;
        self.store.attachment(scope, id).await
    }

    /// The attachments a query matches.
    pub(crate) async fn attachments(
        &self,
        scope: Scope,
        query: &ListQuery,
    ) -> Result<Listing<AttachmentRow>, Error> {
        self.store.attachments(scope, query, self.limits).await
    }

    /// One attachment with its file.
    pub(crate) async fn attachment_content(
        &self,
        scope: Scope,
        id: &str,
    ) -> Result<(AttachmentRow, Vec<u8>), Error> {
        let row = self.attachment(scope, id).await?;
        let content = self.store.attachment_content(row.id).await?;
        Ok((row, content))
    }

    /// Deletes an attachment of an invoice that is not closed.
    pub(crate) async fn delete_attachment(&self, scope: Scope, id: &str) -> Result<AttachmentRow, Error> {
        let found = self.attachment(scope, id).await?;
        let mut tx = self.store.begin().await?;
        // The invoice first, as every change of an invoice locks it.
        let invoice = Store::invoice(&mut tx, scope, found.invoice_id, true).await?;
        if invoice.status() == Status::Closed {
            return Err(Error::Conflict(
                "The invoice is closed: its attachments stay as they are".to_owned(),
            ));
        }
        let row: AttachmentRow =
            one(&mut tx, &ATTACHMENTS, scope, (found.id, "Invoice attachment"), true).await?;
        Store::delete_attachment(&mut tx, row.id).await?;
        let now = self.clock.now();
        let data = convert::attachment_json(&row);
        Store::record(&mut tx, scope, ("invoice_attachment", "deleted"), row.id, data, now).await?;
        tx.commit().await?;
        Ok(row)
    }
}

-- Files attached to payment links (connectFi's invoice file of a link),
-- kept beside invoices' own: an attachment belongs to exactly one invoice
-- or one link, and goes with it.
ALTER TABLE invoice_attachments
    ALTER COLUMN invoice_id DROP NOT NULL,
    ADD COLUMN payment_link_id uuid REFERENCES payment_links (id) ON DELETE CASCADE,
    ADD CONSTRAINT invoice_attachments_one_owner CHECK ((invoice_id IS NULL) <> (payment_link_id IS NULL));

CREATE INDEX invoice_attachments_by_link ON invoice_attachments (payment_link_id, id)
    WHERE payment_link_id IS NOT NULL;

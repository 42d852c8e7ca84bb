-- Files attached to invoices (statements, leases, receipts) for their
-- customers: checked like identity documents (PDF, JPEG or PNG, confirmed
-- by their first bytes, within the size limit). They are not KYC evidence
-- and are stored as uploaded; deleting the invoice deletes them.
CREATE TABLE invoice_attachments (
    id           uuid        PRIMARY KEY,
    partner_id   uuid        NOT NULL,
    livemode     boolean     NOT NULL,
    invoice_id   uuid        NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    file_name    text        NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    content_type text        NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    size_bytes   bigint      NOT NULL CHECK (size_bytes > 0),
    sha256       text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content      bytea       NOT NULL,
    attrs        jsonb       NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL
);

CREATE INDEX invoice_attachments_by_partner ON invoice_attachments (partner_id, livemode, created_at, id);
CREATE INDEX invoice_attachments_by_invoice ON invoice_attachments (invoice_id, id);

-- Allocations: the parts of payments (in the payments service) that pay
-- invoices. Reserved before the payment is charged, under the invoices'
-- row locks; applied (a payment item of the invoice), released, or
-- reversed (in part, `reversed`) as the payments service's notices say.
CREATE TABLE allocations (
    id             uuid        PRIMARY KEY,
    partner_id     uuid        NOT NULL,
    livemode       boolean     NOT NULL,
    transaction_id uuid        NOT NULL,
    invoice_id     uuid        NOT NULL REFERENCES invoices (id),
    -- The order given, for answering it.
    position       smallint    NOT NULL,
    amount         numeric(20,4) NOT NULL CHECK (amount > 0),
    status         text        NOT NULL CHECK (status IN ('reserved', 'applied', 'released')),
    -- How much of an applied allocation went back.
    reversed       numeric(20,4) NOT NULL DEFAULT 0 CHECK (reversed >= 0 AND reversed <= amount),
    -- The payment item an applied allocation made.
    line_item_id   uuid,
    created_at     timestamptz NOT NULL,
    modified_at    timestamptz NOT NULL,
    UNIQUE (transaction_id, invoice_id)
);

CREATE INDEX allocations_by_invoice ON allocations (invoice_id) WHERE status = 'reserved';

-- The payments service's notices already settled: each is settled once.
CREATE TABLE settled_notices (
    id         uuid        PRIMARY KEY,
    settled_at timestamptz NOT NULL
);

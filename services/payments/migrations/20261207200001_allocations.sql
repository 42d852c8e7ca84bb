-- Payments that pay invoices (billing's allocations), and the notices that
-- tell billing what became of them.

-- The invoices a payment pays: [{"invoice_id": "…", "amount": "29.99"}],
-- the amounts as billing reserved them (unset until then).
ALTER TABLE transactions ADD COLUMN allocations jsonb NOT NULL DEFAULT '[]';

-- What billing must hear about a payment with allocations, written in the
-- transaction of the change (the outcome, a refund, a void, a bank
-- return, a chargeback, a payment forgotten before it was charged) and
-- delivered at least once; billing settles each notice once, by its id.
CREATE TABLE billing_notices (
    id             uuid        PRIMARY KEY,
    partner_id     uuid        NOT NULL,
    livemode       boolean     NOT NULL,
    transaction_id uuid        NOT NULL,
    settlement     text        NOT NULL CHECK (settlement IN ('apply', 'release', 'reverse')),
    -- For reverse: how much went back (NULL: everything) and what took it.
    amount         numeric(20,4),
    currency       text        NOT NULL,
    reversing_transaction_id uuid,
    created_at     timestamptz NOT NULL,
    -- A sender holds a notice until then (another takes it after).
    locked_until   timestamptz,
    delivered_at   timestamptz
);

CREATE INDEX billing_notices_undelivered ON billing_notices (created_at) WHERE delivered_at IS NULL;

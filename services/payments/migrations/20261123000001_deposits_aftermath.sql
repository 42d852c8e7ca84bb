-- Deposits, bank returns, chargebacks and cascaded attempts.

-- When a transaction became processed (settled): daily deposits pay out
-- what settled before the day began.
ALTER TABLE transactions ADD COLUMN settled_at timestamptz;
UPDATE transactions SET settled_at = modified_at WHERE status = 'processed';

-- A payment charged to a customer's default method that declined, then
-- cascaded through the customer's other methods: the declined attempts
-- before this one, oldest first.
ALTER TABLE transactions ADD COLUMN prior_attempt_ids uuid[] NOT NULL DEFAULT '{}';

-- What a deposit may take: processed payments and chargeback reversals not
-- yet paid out.
CREATE INDEX transactions_depositable ON transactions (settled_at)
    WHERE status = 'processed' AND funding_status = 'captured' AND type IN ('payment', 'chargeback_reversal');

-- What the processor will do to an approved payment after it settles: a
-- bank return (R01…) or a chargeback, later perhaps overturned. `due_at`
-- is set when the payment settles; a row is removed once applied, or when
-- the payment is voided.
CREATE TABLE aftermaths (
    payment_id        uuid PRIMARY KEY REFERENCES transactions (id),
    partner_id        uuid NOT NULL,
    livemode          boolean NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('bank_reject', 'chargeback', 'chargeback_reversal')),
    -- bank_reject: the NACHA return code.
    return_code       text CHECK (return_code IN ('R01', 'R02', 'R03')),
    -- After settlement: business days for bank returns, days for chargebacks.
    delay_days        integer NOT NULL CHECK (delay_days >= 0),
    -- chargeback: days after it when the dispute is overturned, if it is.
    reverse_after_days integer CHECK (reverse_after_days >= 0),
    -- chargeback_reversal: the chargeback it overturns.
    chargeback_id     uuid REFERENCES transactions (id),
    due_at            timestamptz,
    CHECK ((kind = 'bank_reject') = (return_code IS NOT NULL)),
    CHECK ((kind = 'chargeback_reversal') = (chargeback_id IS NOT NULL))
);

CREATE INDEX aftermaths_due ON aftermaths (due_at) WHERE due_at IS NOT NULL;

-- Autopay: customers' enrollments, and every attempt to charge an
-- invoice for them.
CREATE TABLE autopay_enrollments (
    id                  uuid        PRIMARY KEY,
    partner_id          uuid        NOT NULL,
    livemode            boolean     NOT NULL,
    customer_id         uuid        NOT NULL,
    payment_method_id   uuid        NOT NULL,
    -- Only this schedule's invoices; NULL: every invoice of the customer.
    billing_schedule_id uuid,
    currency            text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    upper_limit         numeric(20,4) CHECK (upper_limit > 0),
    status              text        NOT NULL CHECK (status IN ('active', 'canceled')),
    last_payment_status text        CHECK (last_payment_status IN ('processed', 'declined', 'failed', 'over_limit')),
    last_payment_at     timestamptz,
    last_transaction_id uuid,
    attrs               jsonb       NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL,
    modified_at         timestamptz NOT NULL
);

CREATE INDEX autopay_enrollments_by_partner ON autopay_enrollments (partner_id, livemode, created_at, id);
CREATE INDEX autopay_enrollments_by_customer ON autopay_enrollments (partner_id, livemode, customer_id)
    WHERE status = 'active';

-- One attempt to charge an invoice. `charging` until the payments service
-- answers: a sweep cut short sends the same attempt again, with the same
-- Idempotency-Key, so it is charged once.
CREATE TABLE autopay_attempts (
    id              uuid        PRIMARY KEY,
    partner_id      uuid        NOT NULL,
    livemode        boolean     NOT NULL,
    invoice_id      uuid        NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    enrollment_id   uuid        NOT NULL REFERENCES autopay_enrollments (id) ON DELETE CASCADE,
    attempt         smallint    NOT NULL CHECK (attempt BETWEEN 1 AND 3),
    status          text        NOT NULL CHECK (status IN ('charging', 'processed', 'declined', 'failed', 'over_limit')),
    transaction_id  uuid,
    -- Declined: when the next attempt is due (NULL: none follows).
    next_attempt_on date,
    reason          text,
    created_at      timestamptz NOT NULL,
    modified_at     timestamptz NOT NULL,
    UNIQUE (invoice_id, attempt)
);

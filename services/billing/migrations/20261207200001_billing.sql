-- The billing schema: billing schedules and their charges, invoices and
-- their line items. Amounts are numeric(20,4) in the invoice's (or the
-- schedule's) currency; every row carries its partner and mode, and every
-- statement is scoped by them.

-- === Billing schedules ===

CREATE TABLE billing_schedules (
    id                uuid        PRIMARY KEY,
    partner_id        uuid        NOT NULL,
    livemode          boolean     NOT NULL,
    type              text        NOT NULL CHECK (length(type) BETWEEN 1 AND 64),
    description       text        CHECK (length(description) <= 1000),
    customer_id       uuid        NOT NULL,
    processing_id     uuid        NOT NULL,
    currency          text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    start_date        date        NOT NULL,
    end_date          date        CHECK (end_date >= start_date),
    recurring_frequency text      NOT NULL CHECK (recurring_frequency IN
                          ('daily', 'weekly', 'biweekly', 'bimonthly', 'monthly', 'quarterly', 'annually')),
    -- The billing days of the frequency, defaults resolved at creation
    -- (domain::schedule::Rule::days_json); null for daily, weekly and
    -- biweekly.
    billing_days      jsonb,
    -- The first day not billed yet: the day the schedule was created, then
    -- the day after the last period billed. A change of the frequency
    -- applies from here: what is billed stays.
    billed_from       date        NOT NULL,
    -- The next billing date with a full period (NULL once the schedule has
    -- ended): what the sweep looks for.
    next_billing_date date,
    attrs             jsonb       NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL,
    modified_at       timestamptz NOT NULL
);

CREATE INDEX billing_schedules_by_partner ON billing_schedules (partner_id, livemode, created_at, id);
-- The sweep's queue: schedules with a billing date to come.
CREATE INDEX billing_schedules_due ON billing_schedules (next_billing_date) WHERE next_billing_date IS NOT NULL;

CREATE TABLE billing_charges (
    id                  uuid        PRIMARY KEY,
    partner_id          uuid        NOT NULL,
    livemode            boolean     NOT NULL,
    billing_schedule_id uuid        NOT NULL REFERENCES billing_schedules (id) ON DELETE CASCADE,
    type                text        CHECK (length(type) <= 64),
    description         text        CHECK (length(description) <= 1000),
    -- The schedule's currency.
    currency            text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount              numeric(20,4) NOT NULL,
    qty                 integer     NOT NULL CHECK (qty BETWEEN 1 AND 1000000),
    total               numeric(20,4) NOT NULL,
    attrs               jsonb       NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL,
    modified_at         timestamptz NOT NULL
);

CREATE INDEX billing_charges_by_partner ON billing_charges (partner_id, livemode, created_at, id);
CREATE INDEX billing_charges_by_schedule ON billing_charges (billing_schedule_id, id);

-- === Invoices ===

CREATE TABLE invoices (
    id                  uuid        PRIMARY KEY,
    partner_id          uuid        NOT NULL,
    livemode            boolean     NOT NULL,
    type                text        CHECK (length(type) <= 64),
    description         text        CHECK (length(description) <= 1000),
    due_date            date        NOT NULL,
    status              text        NOT NULL CHECK (status IN
                          ('draft', 'pending', 'partially_paid', 'paid', 'overdue', 'closed')),
    customer_id         uuid        NOT NULL,
    processing_id       uuid        NOT NULL,
    -- The schedule that made it; kept when the schedule is deleted.
    billing_schedule_id uuid,
    billing_contact     jsonb,
    currency            text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    total_due           numeric(20,4) NOT NULL,
    total_paid          numeric(20,4) NOT NULL,
    amount_due          numeric(20,4) NOT NULL CHECK (amount_due >= 0),
    paid_at             timestamptz CHECK ((status = 'paid') = (paid_at IS NOT NULL)),
    attrs               jsonb       NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL,
    modified_at         timestamptz NOT NULL
);

CREATE INDEX invoices_by_partner ON invoices (partner_id, livemode, created_at, id);
CREATE INDEX invoices_by_customer ON invoices (partner_id, livemode, customer_id);
-- One invoice per schedule and billing date, however many sweeps run.
CREATE UNIQUE INDEX invoices_one_per_period ON invoices (billing_schedule_id, due_date)
    WHERE billing_schedule_id IS NOT NULL;
-- The overdue sweep's queue.
CREATE INDEX invoices_open_by_due_date ON invoices (due_date) WHERE status IN ('pending', 'partially_paid');

CREATE TABLE line_items (
    id             uuid        PRIMARY KEY,
    partner_id     uuid        NOT NULL,
    livemode       boolean     NOT NULL,
    invoice_id     uuid        NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    entry_type     text        NOT NULL CHECK (entry_type IN ('charge', 'payment')),
    type           text        CHECK (length(type) <= 64),
    description    text        CHECK (length(description) <= 1000),
    -- The invoice's currency.
    currency       text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount         numeric(20,4) NOT NULL,
    qty            integer     NOT NULL CHECK (qty BETWEEN 1 AND 1000000),
    total          numeric(20,4) NOT NULL,
    incurred_date  date,
    transaction_id uuid,
    attrs          jsonb       NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL,
    modified_at    timestamptz NOT NULL
);

CREATE INDEX line_items_by_partner ON line_items (partner_id, livemode, created_at, id);
CREATE INDEX line_items_by_invoice ON line_items (invoice_id, id);

-- === Idempotency ===

-- Idempotency keys of the Create… RPCs (paymesh_kit::idempotency), the
-- shape of the other services' table.
CREATE TABLE idempotency_keys (
    partner_id    uuid NOT NULL,
    livemode      boolean NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    -- NULL while the first request is in flight.
    response      bytea,
    -- The gRPC status of an error answer (its encoded google.rpc.Status in
    -- response), NULL for a success.
    error_code    integer,
    error_message text,
    created_at    timestamptz NOT NULL,
    -- How long the request that claimed the key holds it.
    locked_until  timestamptz NOT NULL,
    PRIMARY KEY (partner_id, livemode, key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Payment links: pages where a partner's customer pays a processing
-- account. `token` is the secret of the page's URL (never listed); the
-- page finds the link by it alone.
CREATE TABLE payment_links (
    id                    uuid          PRIMARY KEY,
    partner_id            uuid          NOT NULL,
    livemode              boolean       NOT NULL,
    token                 text          NOT NULL UNIQUE CHECK (length(token) >= 32),
    type                  text          NOT NULL CHECK (type IN ('one_time', 'reusable')),
    description           text          NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
    -- NULL: the invoice's balance, or what the payer types.
    amount                numeric(20,4) CHECK (amount > 0),
    currency              text          NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    processing_id         uuid          NOT NULL,
    customer_id           uuid,
    -- An invoice deleted cancels its links first (the service does), then
    -- leaves them without it.
    invoice_id            uuid          REFERENCES invoices (id) ON DELETE SET NULL,
    additional_datafields jsonb         NOT NULL DEFAULT '[]',
    status                text          NOT NULL CHECK (status IN ('active', 'paid', 'canceled', 'expired')),
    expires_at            timestamptz,
    transaction_id        uuid,
    payment_count         integer       NOT NULL DEFAULT 0 CHECK (payment_count >= 0),
    amount_paid           numeric(20,4) NOT NULL DEFAULT 0,
    redirect_url          text,
    due_date              date,
    -- {"days_before": [3], "days_after": [1, 7]}
    reminders             jsonb         NOT NULL DEFAULT '{}',
    attrs                 jsonb         NOT NULL DEFAULT '{}',
    created_at            timestamptz   NOT NULL,
    modified_at           timestamptz   NOT NULL,
    CHECK (status <> 'paid' OR (type = 'one_time' AND transaction_id IS NOT NULL))
);

CREATE INDEX payment_links_by_partner ON payment_links (partner_id, livemode, created_at, id);
CREATE INDEX payment_links_by_invoice ON payment_links (invoice_id) WHERE invoice_id IS NOT NULL;
-- The sweeps: active links that expire, or have reminders to send.
CREATE INDEX payment_links_expiring ON payment_links (expires_at) WHERE status = 'active' AND expires_at IS NOT NULL;
CREATE INDEX payment_links_reminding ON payment_links (due_date)
    WHERE status = 'active' AND due_date IS NOT NULL AND reminders <> '{}';

-- Every message about a link: asked for (`queued`), then handed to the
-- SMTP relay (`sent`), kept without one (`recorded`), or refused by it
-- (`failed`). A reminder is sent once per link and day.
CREATE TABLE payment_link_messages (
    id          uuid        PRIMARY KEY,
    link_id     uuid        NOT NULL REFERENCES payment_links (id) ON DELETE CASCADE,
    partner_id  uuid        NOT NULL,
    livemode    boolean     NOT NULL,
    channel     text        NOT NULL CHECK (channel IN ('email', 'webhook')),
    kind        text        NOT NULL CHECK (kind IN ('link', 'reminder')),
    reminder_on date,
    recipient   text        NOT NULL,
    subject     text        NOT NULL,
    body        text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('queued', 'sent', 'recorded', 'failed')),
    attempts    smallint    NOT NULL DEFAULT 0,
    error       text,
    created_at  timestamptz NOT NULL,
    sent_at     timestamptz,
    CHECK ((kind = 'reminder') = (reminder_on IS NOT NULL)),
    UNIQUE (link_id, reminder_on)
);

CREATE INDEX payment_link_messages_by_link ON payment_link_messages (link_id, created_at, id);
CREATE INDEX payment_link_messages_queued ON payment_link_messages (created_at) WHERE status = 'queued';

-- One submission of a link's page. `charging` until the payments service
-- answers; the same submission sent again answers what the first one got,
-- and a one-time link takes one submission at a time. A submission cut
-- short is found again by the sweep through the payment's attrs.
CREATE TABLE payment_link_attempts (
    id             uuid          PRIMARY KEY,
    link_id        uuid          NOT NULL REFERENCES payment_links (id) ON DELETE CASCADE,
    partner_id     uuid          NOT NULL,
    livemode       boolean       NOT NULL,
    submission_id  text          NOT NULL,
    amount         numeric(20,4) NOT NULL CHECK (amount > 0),
    customer_id    uuid          NOT NULL,
    status         text          NOT NULL CHECK (status IN ('charging', 'processed', 'declined', 'failed')),
    transaction_id uuid,
    message        text,
    -- What the payment charged: the amount, with any convenience fee.
    charged        numeric(20,4),
    created_at     timestamptz   NOT NULL,
    modified_at    timestamptz   NOT NULL,
    UNIQUE (link_id, submission_id)
);

CREATE INDEX payment_link_attempts_charging ON payment_link_attempts (modified_at) WHERE status = 'charging';

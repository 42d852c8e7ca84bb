-- Transactions, the links between them, the double-entry journal and its
-- balances, and idempotency records.

-- Every movement of money. Amounts are exact decimals in the transaction's
-- currency; `amount` is what the payment method is charged (fees
-- included) or what a refund returns.
CREATE TABLE transactions (
    id                uuid PRIMARY KEY,
    partner_id        uuid NOT NULL,
    livemode          boolean NOT NULL,
    type              text NOT NULL CHECK (type IN
                          ('payment', 'refund', 'deposit', 'reversal', 'chargeback', 'chargeback_reversal')),
    status            text NOT NULL CHECK (status IN
                          ('authorized', 'processing', 'processed', 'declined', 'voided', 'rejected')),
    status_code       text NOT NULL,
    status_message    text NOT NULL,
    currency          text NOT NULL CHECK (currency IN ('USD', 'CAD')),
    amount            numeric(20, 4) NOT NULL CHECK (amount > 0),
    fee               numeric(20, 4) NOT NULL DEFAULT 0 CHECK (fee >= 0),
    cust_conv_fee     numeric(20, 4) NOT NULL DEFAULT 0 CHECK (cust_conv_fee >= 0),
    -- Payments: what processed refunds returned so far. Never more than
    -- the amount: the database refuses it even if the service erred.
    refunded_amount   numeric(20, 4) NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    funding_status    text NOT NULL CHECK (funding_status IN ('pending', 'captured', 'batched', 'refunded', 'reversed')),
    risk_score        numeric(4, 2) CHECK (risk_score BETWEEN -1 AND 1),
    risk_flag         text CHECK (risk_flag IN ('allowed', 'in_review', 'denied')),
    customer_id       uuid,
    payment_method_id uuid,
    -- card or bank_account: what was charged, for settlement.
    method_kind       text CHECK (method_kind IN ('card', 'bank_account')),
    processing_id     uuid,
    payment_intent_id uuid,
    description       text,
    order_number      text,
    attrs             jsonb NOT NULL DEFAULT '{}',
    connector         text NOT NULL,
    -- The connector's reference of the authorization.
    authorization_ref text,
    -- Bank payments: when they settle (processing → processed).
    settles_at        timestamptz,
    created_at        timestamptz NOT NULL,
    modified_at       timestamptz NOT NULL
);

CREATE INDEX transactions_by_partner ON transactions (partner_id, livemode, created_at, id);
CREATE INDEX transactions_by_customer ON transactions (partner_id, livemode, customer_id);
CREATE INDEX transactions_settling ON transactions (settles_at) WHERE status = 'processing';
-- One charge per intent: declined attempts do not count.
CREATE UNIQUE INDEX transactions_one_charge_per_intent
    ON transactions (payment_intent_id) WHERE payment_intent_id IS NOT NULL AND status <> 'declined';

-- Links between transactions, Payload's transaction ledger: each side of a
-- refund sees the other. `amount` is the associated transaction's amount,
-- signed from `transaction_id`'s side.
CREATE TABLE transaction_ledgers (
    id                   uuid PRIMARY KEY,
    partner_id           uuid NOT NULL,
    livemode             boolean NOT NULL,
    transaction_id       uuid NOT NULL REFERENCES transactions (id),
    assoc_transaction_id uuid NOT NULL REFERENCES transactions (id),
    entry_type           text NOT NULL,
    currency             text NOT NULL,
    amount               numeric(20, 4) NOT NULL,
    attrs                jsonb NOT NULL DEFAULT '{}',
    created_at           timestamptz NOT NULL,
    modified_at          timestamptz NOT NULL
);

CREATE INDEX transaction_ledgers_by_transaction ON transaction_ledgers (transaction_id, created_at);
CREATE INDEX transaction_ledgers_by_partner ON transaction_ledgers (partner_id, livemode, created_at, id);

-- The double-entry journal. A posting is the set of entries one money
-- movement writes; its amounts sum to zero (debits positive, credits
-- negative). Entries are never changed or removed: a correction is a new
-- posting.
CREATE TABLE ledger_entries (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    posting_id     uuid NOT NULL,
    partner_id     uuid NOT NULL,
    livemode       boolean NOT NULL,
    transaction_id uuid NOT NULL REFERENCES transactions (id),
    -- processor_clearing, platform_fees, processing_account:<id>.
    account        text NOT NULL,
    currency       text NOT NULL,
    amount         numeric(20, 4) NOT NULL CHECK (amount <> 0),
    created_at     timestamptz NOT NULL
);

CREATE INDEX ledger_entries_by_posting ON ledger_entries (posting_id);
CREATE INDEX ledger_entries_by_transaction ON ledger_entries (transaction_id);

CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: post a correction instead';
END;
$$;

CREATE TRIGGER ledger_entries_append_only
    BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

-- The balance of each ledger account, kept with every posting.
CREATE TABLE ledger_balances (
    partner_id  uuid NOT NULL,
    livemode    boolean NOT NULL,
    account     text NOT NULL,
    currency    text NOT NULL,
    balance     numeric(20, 4) NOT NULL,
    modified_at timestamptz NOT NULL,
    PRIMARY KEY (partner_id, livemode, account, currency)
);

-- Idempotency keys of CreateTransaction: the first request's fingerprint
-- and, once it is answered, its answer (a response or an error status).
CREATE TABLE idempotency_keys (
    partner_id   uuid NOT NULL,
    livemode     boolean NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    -- NULL while the first request is in flight.
    response     bytea,
    -- The gRPC status of an error answer (its encoded google.rpc.Status in
    -- response), NULL for a success.
    error_code   integer,
    error_message text,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (partner_id, livemode, key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

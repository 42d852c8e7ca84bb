-- Payment intents and the processing settings they are priced with.

-- A drafted payment, priced at its last change. The quote (fee lines and
-- delivery options) is kept as it was shown; amounts are exact decimals.
CREATE TABLE payment_intents (
    id                      uuid PRIMARY KEY,
    partner_id              uuid NOT NULL,
    livemode                boolean NOT NULL,
    payer_id                uuid,
    recipient_id            uuid,
    payment_method_id       uuid,
    currency                text CHECK (currency IN ('USD', 'CAD')),
    target_amount           numeric(20, 4) CHECK (target_amount > 0),
    source_amount           numeric(20, 4),
    fee                     numeric(20, 4),
    cust_conv_fee           numeric(20, 4),
    -- The fee lines of the chosen option: [{type, amount, rate}].
    fees                    jsonb NOT NULL DEFAULT '[]',
    -- Remittance details; account_name as given, the payer's name used
    -- when it is not.
    account_name            text,
    payer_name              text,
    account_number          text,
    memo                    text,
    -- The date the partner chose, if any; delivery_date is the date in force.
    requested_delivery_date date,
    delivery_date           date,
    speed                   text,
    is_expedited            boolean NOT NULL DEFAULT false,
    -- [{delivery_date, cutoff_time, speed, expedited, fees, source_amount}].
    delivery_options        jsonb NOT NULL DEFAULT '[]',
    funding_type            text CHECK (funding_type IN ('credit', 'debit', 'bank_account')),
    payout_method           text CHECK (payout_method IN ('ach', 'wire', 'check', 'eft')),
    status                  text NOT NULL CHECK (status IN ('INCOMPLETE', 'CAPTURABLE', 'CAPTURED', 'CANCELED')),
    -- [{code, field, message}].
    status_reasons          jsonb NOT NULL DEFAULT '[]',
    transaction_id          uuid UNIQUE,
    attrs                   jsonb NOT NULL DEFAULT '{}',
    -- Every write adds one; a write names the version it read, so two
    -- concurrent changes (even within one clock tick) cannot both land.
    version                 bigint NOT NULL DEFAULT 0,
    expires_at              timestamptz NOT NULL,
    created_at              timestamptz NOT NULL,
    modified_at             timestamptz NOT NULL,
    CHECK ((currency IS NULL) = (target_amount IS NULL)),
    CHECK ((status = 'CAPTURED') = (transaction_id IS NOT NULL))
);

CREATE INDEX payment_intents_by_partner ON payment_intents (partner_id, livemode, created_at, id);
CREATE INDEX payment_intents_by_payer ON payment_intents (partner_id, livemode, payer_id);

-- Processing settings set at one level: a processing account's
-- (processing_id) or the partner's own (processing_id NULL). Only the
-- fields set at that level are stored; the rest are inherited.
CREATE TABLE processing_settings (
    partner_id    uuid NOT NULL,
    livemode      boolean NOT NULL,
    processing_id uuid,
    -- {"credit_trans_rate": "0.029", …}: decimal strings.
    fields        jsonb NOT NULL DEFAULT '{}',
    -- {"check.overnight": {"rate": "0.005", "handling_fee": "29.00", "delivery_fee": "1.49"}, …}.
    expedite_fees jsonb NOT NULL DEFAULT '{}',
    modified_at   timestamptz NOT NULL
);

CREATE UNIQUE INDEX processing_settings_level
    ON processing_settings (partner_id, livemode, coalesce(processing_id, '00000000-0000-0000-0000-000000000000'));

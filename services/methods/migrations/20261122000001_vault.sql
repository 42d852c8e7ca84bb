-- The payment-method vault: cards and bank accounts of a partner's
-- accounts.
--
-- A number (card or bank account) is stored only as envelope-encrypted
-- bytes (`number_sealed`, see the kit's crypto module: AES-256-GCM under a
-- data key of its own, wrapped by a key-encryption key whose id travels in
-- the ciphertext), beside what may be shown: the last four digits and, for
-- cards, the first six (the BIN). A card's security code is never stored.

-- === The BIN table ===

-- What a card's first digits say of its issuer: how the card is funded and,
-- where it differs from the brand of the number's range, the brand the
-- issuer registered. The longest matching prefix wins; a card whose BIN is
-- not here is a credit card of its range's brand. The rows below are the
-- test cards of the seeds and well-known test BINs; a deployment loads its
-- processor's full table into the same shape.
CREATE TABLE bins (
    prefix    text PRIMARY KEY CHECK (prefix ~ '^[0-9]{6,8}$'),
    brand     text CHECK (brand IN ('visa', 'mastercard', 'american_express', 'discover', 'diners_club', 'jcb',
                                    'unionpay')),
    card_type text NOT NULL CHECK (card_type IN ('credit', 'debit', 'prepaid')),
    issuer    text NOT NULL CHECK (char_length(issuer) BETWEEN 1 AND 200)
);

INSERT INTO bins (prefix, brand, card_type, issuer) VALUES
    -- The seeds' test cards.
    ('424242', NULL, 'credit', 'Test issuer (Visa)'),
    ('411111', NULL, 'credit', 'Test issuer (Visa)'),
    ('444433', NULL, 'credit', 'Test issuer (Visa)'),
    ('510029', NULL, 'credit', 'Test issuer (Mastercard)'),
    ('510320', NULL, 'credit', 'Test issuer (Mastercard)'),
    ('555555', NULL, 'credit', 'Test issuer (Mastercard)'),
    ('601191', NULL, 'credit', 'Test issuer (Discover)'),
    -- The Payload reference lists 3672 005140 64164 as its American Express
    -- test card, in a range that is otherwise Diners Club's.
    ('367200', 'american_express', 'credit', 'Test issuer (American Express)'),
    -- Well-known test BINs of other funding types and brands.
    ('378282', NULL, 'credit', 'Test issuer (American Express)'),
    ('371449', NULL, 'credit', 'Test issuer (American Express)'),
    ('400005', NULL, 'debit', 'Test issuer (Visa debit)'),
    ('520082', NULL, 'debit', 'Test issuer (Mastercard debit)'),
    ('510510', NULL, 'prepaid', 'Test issuer (Mastercard prepaid)'),
    ('460000', NULL, 'prepaid', 'Test issuer (Visa prepaid)'),
    ('601111', NULL, 'credit', 'Test issuer (Discover)'),
    ('353011', NULL, 'credit', 'Test issuer (JCB)'),
    ('620000', NULL, 'debit', 'Test issuer (UnionPay debit)'),
    ('305693', NULL, 'credit', 'Test issuer (Diners Club)');

-- === Payment methods ===

CREATE TABLE payment_methods (
    id                 uuid        PRIMARY KEY,
    partner_id         uuid        NOT NULL,
    livemode           boolean     NOT NULL,
    -- The identity account it belongs to, and that account's type: a
    -- customer pays with it, a processing account is paid out to it.
    account_id         uuid        NOT NULL,
    owner_type         text        NOT NULL CHECK (owner_type IN ('customer', 'processing')),
    type               text        NOT NULL CHECK (type IN ('card', 'bank_account')),
    account_holder     text CHECK (char_length(account_holder) BETWEEN 1 AND 200),
    phone_number       text,
    -- How partners read it: "Visa x-4242", "Checking x-6789".
    description        text        NOT NULL,
    is_default         boolean     NOT NULL DEFAULT false,
    -- The number, sealed, and what of it may be shown.
    number_sealed      bytea       NOT NULL,
    last4              text        NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
    -- HMAC-SHA256 of the partner and the number under the vault's
    -- fingerprint key: equal for the same number twice under one partner.
    fingerprint        text        NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    -- Cards.
    card_brand         text CHECK (card_brand IN ('visa', 'mastercard', 'american_express', 'discover',
                                                  'diners_club', 'jcb', 'unionpay')),
    card_type          text CHECK (card_type IN ('credit', 'debit', 'prepaid')),
    bin                text CHECK (bin ~ '^[0-9]{6}$'),
    card_length        smallint CHECK (card_length BETWEEN 12 AND 19),
    expiry_month       smallint CHECK (expiry_month BETWEEN 1 AND 12),
    expiry_year        smallint CHECK (expiry_year BETWEEN 2000 AND 2200),
    -- Bank accounts: a US routing number, or Canadian institution and
    -- transit numbers.
    country            text CHECK (country IN ('US', 'CA')),
    routing_number     text CHECK (routing_number ~ '^[0-9]{9}$'),
    institution_number text CHECK (institution_number ~ '^[0-9]{3}$'),
    transit_number     text CHECK (transit_number ~ '^[0-9]{5}$'),
    account_type       text CHECK (account_type IN ('checking', 'savings')),
    account_class      text CHECK (account_class IN ('personal', 'business')),
    -- The billing address.
    street_address     text,
    unit_number        text,
    city               text,
    state_province     text,
    postal_code        text,
    address_country    text,
    attrs              jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attrs) = 'object'),
    created_at         timestamptz NOT NULL,
    modified_at        timestamptz NOT NULL,
    -- Deleted methods keep their row for the history of their payments.
    deleted_at         timestamptz,
    CONSTRAINT payment_methods_shape CHECK (
        CASE type
            WHEN 'card' THEN card_brand IS NOT NULL AND card_type IS NOT NULL AND bin IS NOT NULL
                AND card_length IS NOT NULL AND expiry_month IS NOT NULL AND expiry_year IS NOT NULL
                AND postal_code IS NOT NULL
                AND country IS NULL AND routing_number IS NULL AND institution_number IS NULL
                AND transit_number IS NULL AND account_type IS NULL AND account_class IS NULL
            WHEN 'bank_account' THEN country IS NOT NULL AND account_type IS NOT NULL
                AND account_class IS NOT NULL
                AND (country = 'US') = (routing_number IS NOT NULL)
                AND (country = 'CA') = (institution_number IS NOT NULL AND transit_number IS NOT NULL)
                AND card_brand IS NULL AND card_type IS NULL AND bin IS NULL AND card_length IS NULL
                AND expiry_month IS NULL AND expiry_year IS NULL
        END
    )
);

-- The default listing order, within one partner and mode.
CREATE INDEX payment_methods_listing ON payment_methods (partner_id, livemode, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX payment_methods_account ON payment_methods (partner_id, livemode, account_id)
    WHERE deleted_at IS NULL;
CREATE INDEX payment_methods_fingerprint ON payment_methods (partner_id, livemode, fingerprint)
    WHERE deleted_at IS NULL;
-- At most one default method per account.
CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods (account_id)
    WHERE is_default AND deleted_at IS NULL;

-- === Customers' defaults, kept in step with identity ===

-- Identity shows a customer's default method (`default_payment_method_id`);
-- the vault decides it. A change queues the customer here in the
-- transaction of the change; after the commit the vault tells identity
-- what the default now is (read afresh, so the latest wins) and clears the
-- row, and a background task retries what could not be delivered.
CREATE TABLE default_syncs (
    account_id uuid        PRIMARY KEY,
    partner_id uuid        NOT NULL,
    livemode   boolean     NOT NULL,
    queued_at  timestamptz NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0,
    last_error text
);

-- === The detokenization audit ===

-- Every Detokenize call, released, refused or failed: who asked (a service by name,
-- or a partner key by id), for what, why, and what came of it. Rows are
-- never changed nor removed.
CREATE TABLE detokenizations (
    id                uuid        PRIMARY KEY,
    partner_id        uuid        NOT NULL,
    livemode          boolean     NOT NULL,
    -- The id as asked (it may name nothing), and the method it named.
    requested_id      text        NOT NULL,
    payment_method_id uuid,
    caller_kind       text        NOT NULL CHECK (caller_kind IN ('service', 'secret', 'client', 'merchant')),
    caller            text        NOT NULL,
    purpose           text        NOT NULL,
    -- released: the numbers went out; refused: the call was not allowed;
    -- error: it was allowed but failed inside the vault.
    outcome           text        NOT NULL CHECK (outcome IN ('released', 'refused', 'error')),
    reason            text,
    created_at        timestamptz NOT NULL
);

CREATE INDEX detokenizations_method ON detokenizations (payment_method_id, created_at);
CREATE INDEX detokenizations_partner ON detokenizations (partner_id, livemode, created_at);

CREATE FUNCTION detokenizations_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the detokenization audit is append-only';
END;
$$;

CREATE TRIGGER detokenizations_append_only BEFORE UPDATE OR DELETE ON detokenizations
    FOR EACH ROW EXECUTE FUNCTION detokenizations_append_only();

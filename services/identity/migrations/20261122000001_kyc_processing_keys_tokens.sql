-- Identity, second step: processing accounts (payees) beside customers,
-- KYC/KYB (legal entities, owners, identity documents), restricted and
-- rolled API keys, and access tokens.
--
-- Sensitive values (bank account numbers, EINs, SSNs, document contents)
-- are stored only as envelope-encrypted bytes (`*_sealed`, see the kit's
-- crypto module) with, where partners need to recognise them, their last
-- four digits.

-- === Accounts ===

-- Billers are processing accounts of no partner: a curated directory every
-- partner reads in both modes.
ALTER TABLE accounts ALTER COLUMN partner_id DROP NOT NULL;
ALTER TABLE accounts ALTER COLUMN livemode DROP NOT NULL;
ALTER TABLE accounts DROP CONSTRAINT accounts_type_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_type_check CHECK (type IN ('customer', 'processing'));

ALTER TABLE accounts
    -- Customers.
    ADD COLUMN primary_processing_id     uuid REFERENCES accounts (id),
    ADD COLUMN default_payment_method_id uuid,
    ADD COLUMN kyc_status                text CHECK (kyc_status IN ('unverified', 'pending', 'verified', 'rejected')),
    ADD COLUMN kyc_status_reasons        text[] NOT NULL DEFAULT '{}',
    -- Processing accounts.
    ADD COLUMN industry                  text,
    ADD COLUMN category                  text,
    ADD COLUMN visibility                text CHECK (visibility IN ('payer', 'partner', 'biller')),
    ADD COLUMN payer_id                  uuid REFERENCES accounts (id),
    ADD COLUMN payout_method             text CHECK (payout_method IN ('ach', 'wire', 'check', 'eft')),
    -- Payout details without the account number: holder, routing number,
    -- account type, institution and transit numbers, mailing address.
    ADD COLUMN payout_details            jsonb,
    ADD COLUMN payout_account_sealed     bytea,
    ADD COLUMN payout_account_last4      text CHECK (payout_account_last4 ~ '^[0-9]{4}$'),
    ADD COLUMN processing_status         text CHECK (processing_status IN
                                             ('pending', 'active', 'in_review', 'update_required', 'inactive')),
    ADD COLUMN processing_status_reasons text[] NOT NULL DEFAULT '{}',
    ADD COLUMN processing_status_at      timestamptz,
    ADD COLUMN legal_entity_id           uuid,
    ADD COLUMN is_default                boolean NOT NULL DEFAULT false;

UPDATE accounts SET kyc_status = 'unverified',
    kyc_status_reasons = '{"No identity document has been submitted"}' WHERE type = 'customer';

ALTER TABLE accounts ADD CONSTRAINT accounts_shape CHECK (
    CASE type
        WHEN 'customer' THEN partner_id IS NOT NULL AND livemode IS NOT NULL AND kyc_status IS NOT NULL
            AND industry IS NULL AND processing_status IS NULL AND visibility IS NULL
        WHEN 'processing' THEN industry IS NOT NULL AND category IS NOT NULL AND visibility IS NOT NULL
            AND processing_status IS NOT NULL AND processing_status_at IS NOT NULL AND kyc_status IS NULL
            AND primary_processing_id IS NULL
            AND (partner_id IS NULL) = (visibility = 'biller')
            AND (livemode IS NULL) = (partner_id IS NULL)
            AND (payer_id IS NOT NULL) = (visibility = 'payer')
            AND (payout_method IS NULL OR payout_details IS NOT NULL)
            AND (payout_account_sealed IS NULL) = (payout_account_last4 IS NULL)
    END
);

-- One default processing account per partner and mode.
CREATE UNIQUE INDEX accounts_one_default ON accounts (partner_id, livemode)
    WHERE is_default AND deleted_at IS NULL;
CREATE INDEX accounts_processing ON accounts (partner_id, livemode, processing_status)
    WHERE type = 'processing' AND deleted_at IS NULL;
CREATE INDEX accounts_legal_entity ON accounts (legal_entity_id) WHERE legal_entity_id IS NOT NULL;
CREATE INDEX accounts_payer ON accounts (payer_id) WHERE payer_id IS NOT NULL;
CREATE INDEX accounts_billers ON accounts (created_at DESC, id DESC) WHERE partner_id IS NULL;

-- Every activation status change of a processing account: who, why, when.
CREATE TABLE processing_status_changes (
    id          uuid        PRIMARY KEY,
    account_id  uuid        NOT NULL REFERENCES accounts (id),
    from_status text,
    to_status   text        NOT NULL,
    reasons     text[]      NOT NULL DEFAULT '{}',
    actor_type  text        NOT NULL CHECK (actor_type IN ('api_key', 'system', 'operator')),
    actor_id    uuid,
    created_at  timestamptz NOT NULL
);

CREATE INDEX processing_status_changes_account ON processing_status_changes (account_id, created_at, id);

-- === KYB ===

CREATE TABLE legal_entities (
    id                 uuid        PRIMARY KEY,
    partner_id         uuid        NOT NULL REFERENCES partners (id),
    livemode           boolean     NOT NULL,
    legal_name         text        NOT NULL,
    type               text        NOT NULL,
    ein_sealed         bytea,
    ein_last4          text        CHECK (ein_last4 ~ '^[0-9]{4}$'),
    street_address     text,
    unit_number        text,
    city               text,
    state_province     text,
    postal_code        text,
    country            text,
    phone_number       text,
    website            text,
    start_date         date,
    state_incorporated text,
    contact_name       text,
    contact_email      text,
    contact_title      text,
    kyb_status         text        NOT NULL CHECK (kyb_status IN ('unverified', 'pending', 'verified', 'rejected')),
    kyb_status_reasons text[]      NOT NULL DEFAULT '{}',
    attrs              jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attrs) = 'object'),
    created_at         timestamptz NOT NULL,
    modified_at        timestamptz NOT NULL,
    deleted_at         timestamptz,
    CHECK ((ein_sealed IS NULL) = (ein_last4 IS NULL))
);

CREATE INDEX legal_entities_listing ON legal_entities (partner_id, livemode, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

ALTER TABLE accounts ADD CONSTRAINT accounts_legal_entity_fk
    FOREIGN KEY (legal_entity_id) REFERENCES legal_entities (id);

CREATE TABLE legal_entity_owners (
    id                 uuid         PRIMARY KEY,
    partner_id         uuid         NOT NULL REFERENCES partners (id),
    livemode           boolean      NOT NULL,
    legal_entity_id    uuid         NOT NULL REFERENCES legal_entities (id),
    full_name          text         NOT NULL,
    title              text,
    ownership          numeric(5,2) CHECK (ownership > 0 AND ownership <= 100),
    birth_date         date,
    ssn_sealed         bytea,
    ssn_last4          text         CHECK (ssn_last4 ~ '^[0-9]{4}$'),
    street_address     text,
    unit_number        text,
    city               text,
    state_province     text,
    postal_code        text,
    country            text,
    email              text,
    phone_number       text,
    type               text         NOT NULL CHECK (type IN ('beneficial_owner', 'control_person')),
    kyc_status         text         NOT NULL CHECK (kyc_status IN ('unverified', 'pending', 'verified', 'rejected')),
    kyc_status_reasons text[]       NOT NULL DEFAULT '{}',
    attrs              jsonb        NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attrs) = 'object'),
    created_at         timestamptz  NOT NULL,
    modified_at        timestamptz  NOT NULL,
    deleted_at         timestamptz,
    CHECK ((ssn_sealed IS NULL) = (ssn_last4 IS NULL))
);

CREATE INDEX legal_entity_owners_entity ON legal_entity_owners (legal_entity_id) WHERE deleted_at IS NULL;
CREATE INDEX legal_entity_owners_listing ON legal_entity_owners (partner_id, livemode, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

-- Identity documents. Contents are sealed; a document is never deleted
-- (it is KYC evidence).
CREATE TABLE documents (
    id              uuid        PRIMARY KEY,
    partner_id      uuid        NOT NULL REFERENCES partners (id),
    livemode        boolean     NOT NULL,
    type            text        NOT NULL,
    account_id      uuid        REFERENCES accounts (id),
    legal_entity_id uuid        REFERENCES legal_entities (id),
    owner_id        uuid        REFERENCES legal_entity_owners (id),
    file_name       text        NOT NULL,
    content_type    text        NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    size_bytes      bigint      NOT NULL CHECK (size_bytes > 0),
    sha256          text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_sealed  bytea       NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'verified', 'rejected')),
    status_reason   text,
    reviewed_at     timestamptz,
    attrs           jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attrs) = 'object'),
    created_at      timestamptz NOT NULL,
    modified_at     timestamptz NOT NULL,
    CHECK (num_nonnulls(account_id, legal_entity_id, owner_id) = 1),
    CHECK ((status = 'pending') = (reviewed_at IS NULL)),
    CHECK ((status = 'rejected') = (status_reason IS NOT NULL))
);

CREATE INDEX documents_listing ON documents (partner_id, livemode, created_at DESC, id DESC);
CREATE INDEX documents_account ON documents (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX documents_legal_entity ON documents (legal_entity_id) WHERE legal_entity_id IS NOT NULL;
CREATE INDEX documents_owner ON documents (owner_id) WHERE owner_id IS NOT NULL;

-- === API keys ===

ALTER TABLE api_keys
    ADD COLUMN name         text  NOT NULL DEFAULT '',
    -- [{"method": "GET", "resource": "/transactions"}, …]; empty: unrestricted.
    ADD COLUMN permissions  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(permissions) = 'array'),
    ADD COLUMN rolled_to_id uuid  REFERENCES api_keys (id),
    ADD COLUMN attrs        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attrs) = 'object'),
    ADD COLUMN modified_at  timestamptz;

UPDATE api_keys SET modified_at = created_at;
ALTER TABLE api_keys ALTER COLUMN modified_at SET NOT NULL;
CREATE INDEX api_keys_listing ON api_keys (partner_id, livemode, created_at DESC, id DESC);

-- === Access tokens ===

-- Session tokens are random and kept only as their SHA-256; merchant tokens
-- are JWTs whose `jti` is the row id (nothing secret is stored).
CREATE TABLE access_tokens (
    id          uuid        PRIMARY KEY,
    partner_id  uuid        NOT NULL REFERENCES partners (id),
    livemode    boolean     NOT NULL,
    type        text        NOT NULL CHECK (type IN ('session_access', 'merchant')),
    account_id  uuid        NOT NULL REFERENCES accounts (id),
    token_hash  bytea       UNIQUE CHECK (length(token_hash) = 32),
    expires_at  timestamptz NOT NULL,
    redeemed_at timestamptz,
    revoked_at  timestamptz,
    issued_by   uuid        NOT NULL,
    attrs       jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attrs) = 'object'),
    created_at  timestamptz NOT NULL,
    modified_at timestamptz NOT NULL,
    CHECK ((type = 'session_access') = (token_hash IS NOT NULL)),
    CHECK (redeemed_at IS NULL OR type = 'session_access')
);

CREATE INDEX access_tokens_listing ON access_tokens (partner_id, livemode, created_at DESC, id DESC);

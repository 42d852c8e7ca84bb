-- Partners: the tenants of paymesh. Every other row of every service is
-- scoped by (partner_id, livemode).
CREATE TABLE partners (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL,
    modified_at timestamptz NOT NULL
);

-- API keys. The key itself is shown once at creation and never stored:
-- only its SHA-256 (keys are 190-bit random strings, so a fast hash is
-- enough) and, for display, its prefix and last four characters.
CREATE TABLE api_keys (
    id          uuid        PRIMARY KEY,
    partner_id  uuid        NOT NULL REFERENCES partners (id),
    livemode    boolean     NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('secret', 'client')),
    prefix      text        NOT NULL,
    last4       text        NOT NULL CHECK (char_length(last4) = 4),
    key_hash    bytea       NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    revoked_at  timestamptz
);

CREATE INDEX api_keys_partner ON api_keys (partner_id, livemode);

-- Accounts: payers (customers) of a partner. Deleted accounts keep their
-- row (deleted_at set) for the history of their payments.
CREATE TABLE accounts (
    id           uuid        PRIMARY KEY,
    partner_id   uuid        NOT NULL REFERENCES partners (id),
    livemode     boolean     NOT NULL,
    type         text        NOT NULL CHECK (type IN ('customer')),
    name         text        NOT NULL,
    email        text        NOT NULL,
    phone_number text,
    description  text,
    attrs        jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attrs) = 'object'),
    created_at   timestamptz NOT NULL,
    modified_at  timestamptz NOT NULL,
    deleted_at   timestamptz
);

-- The default listing order, within one partner and mode.
CREATE INDEX accounts_listing ON accounts (partner_id, livemode, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX accounts_email ON accounts (partner_id, livemode, lower(email))
    WHERE deleted_at IS NULL;

-- Idempotency keys of the Create… RPCs (paymesh_kit::idempotency): the
-- first request's fingerprint and, once it is answered, its answer.
CREATE TABLE idempotency_keys (
    partner_id    uuid NOT NULL,
    livemode      boolean NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    -- NULL while the first request is in flight.
    response      bytea,
    -- The gRPC status of an error answer (its encoded details in
    -- response), NULL for a success.
    error_code    integer,
    error_message text,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (partner_id, livemode, key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

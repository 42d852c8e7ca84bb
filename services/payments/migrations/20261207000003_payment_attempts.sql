-- Crash-safe payments. A payment is stored `pending` before the processor
-- is asked, with its attempt beside it; finishing it (its outcome, its
-- postings, its event and the answer kept for its Idempotency-Key) is one
-- database transaction that also deletes the attempt. An attempt left
-- behind by a request that died is finished by a retry with its key, or by
-- the sweep once its lease runs out (services/payments/src/store/attempts.rs).

ALTER TABLE transactions DROP CONSTRAINT transactions_status_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_status_check CHECK (status IN
    ('pending', 'authorized', 'processing', 'processed', 'declined', 'voided', 'rejected'));

-- A payment voided before anything moved (its payment intent could no
-- longer be charged) does not use the intent up.
DROP INDEX transactions_one_charge_per_intent;
CREATE UNIQUE INDEX transactions_one_charge_per_intent
    ON transactions (payment_intent_id)
    WHERE payment_intent_id IS NOT NULL AND status <> 'declined'
      AND NOT (status = 'voided' AND funding_status = 'pending');

CREATE TABLE payment_attempts (
    -- The pending payment; also the processor's idempotency reference.
    transaction_id  uuid PRIMARY KEY REFERENCES transactions (id),
    partner_id      uuid NOT NULL,
    livemode        boolean NOT NULL,
    -- The Idempotency-Key of the request that made it, if any: the answer
    -- is kept for it when the attempt finishes.
    idempotency_key text,
    -- Authorize only (capture later), or charge now.
    authorize_only  boolean NOT NULL,
    -- Until when the request (or sweep) working on it holds it.
    locked_until    timestamptz NOT NULL,
    created_at      timestamptz NOT NULL
);

CREATE UNIQUE INDEX payment_attempts_by_key ON payment_attempts (partner_id, livemode, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX payment_attempts_by_lease ON payment_attempts (locked_until);

-- make bench: the physical limit. The SQL writes of one card payment of
-- 100.00 (charged 102.90, 2.90 of it the payer's fee), statement for
-- statement and database transaction for database transaction as paymesh
-- makes them, for pgbench:
--
--   pgbench --no-vacuum --protocol=prepared --file=scripts/bench-payment.sql \
--       --define=partner=UUID --define=processing=UUID --define=customer=UUID \
--       --define=method=UUID --client=N --jobs=2 --time=SECONDS DATABASE_URL
--
-- (paymesh-bench runs it on the mesh's own database after bench-setup.sql,
-- with a partner id of its own and the bench's processing account, customer
-- and card.) One pgbench transaction is one payment's writes:
--
--   1. the Idempotency-Key claimed, with     services/kit/src/idempotency.rs (claim)
--      its lease
--   2. the methods service's Detokenize audit row      services/methods/src/store.rs (audit)
--   3. the payment stored pending with its   services/payments/src/store/attempts.rs
--      attempt, before the processor is         (start)
--      asked
--   4. the outcome: the attempt deleted,     services/payments/src/store/attempts.rs
--      the row updated, its posting — three     (finish: update_row, post, record,
--      journal entries, each moving its         keep_in)
--      account's balance — its outbox event
--      and the answer kept for retries, in
--      one transaction
--
-- The reads a payment also makes (the key, the card, the accounts, the
-- pricing, the row read back) are left out: this is the write ceiling.
-- Every payment moves the same three balance rows (processor clearing,
-- the processing account, platform fees), as the bench's payments do.

\set key random(1, 9223372036854775806)

-- 1. Claim the key: drop an expired record of it, then insert it, leased.
BEGIN;
DELETE FROM payments.idempotency_keys
    WHERE partner_id = :partner AND livemode = false
      AND key = 'pgbench-' || :client_id::text || '-' || :key::text
      AND created_at < now() - interval '24 hours';
INSERT INTO payments.idempotency_keys (partner_id, livemode, key, request_hash, created_at, locked_until)
    VALUES (:partner, false, 'pgbench-' || :client_id::text || '-' || :key::text,
            sha256(convert_to(:key::text, 'UTF8')), now(), now() + interval '10 seconds')
    ON CONFLICT DO NOTHING;
COMMIT;

-- 2. The methods service records the release of the card's number to payments.
INSERT INTO methods.detokenizations (id, partner_id, livemode, requested_id, payment_method_id,
        caller_kind, caller, purpose, outcome, reason, created_at)
    VALUES (bench.uuid7(), :partner, false, :method::text, :method, 'service', 'payments',
            'authorize payment ' || bench.uuid7()::text, 'released', NULL, now());

-- 3. The payment, pending, with its attempt.
BEGIN;
INSERT INTO payments.transactions (id, partner_id, livemode, type, status, status_code, status_message,
        currency, amount, fee, cust_conv_fee, refunded_amount, funding_status, risk_score, risk_flag,
        customer_id, payment_method_id, method_kind, processing_id, payment_intent_id, description,
        order_number, attrs, connector, authorization_ref, settles_at, settled_at, prior_attempt_ids,
        delivery_fee, delivery_date, payout_method, created_at, modified_at)
    VALUES (bench.uuid7(), :partner, false, 'payment', 'pending', 'pending', 'Being charged.',
            'USD', 102.90, 0, 2.90, 0, 'pending', NULL, NULL,
            :customer, :method, 'card', :processing, NULL, NULL,
            NULL, '{}', 'test', NULL, NULL, NULL, '{}',
            0, NULL, NULL, now(), now())
    RETURNING id AS payment, bench.uuid7() AS posting \gset
INSERT INTO payments.payment_attempts (transaction_id, partner_id, livemode, idempotency_key, authorize_only,
        locked_until, created_at)
    VALUES (:payment, :partner, false, 'pgbench-' || :client_id::text || '-' || :key::text, false,
            now() + interval '10 seconds', now());
COMMIT;

-- 4. The outcome: the attempt finished, the payment processed, its
-- posting, its event and the answer kept for a retry with the same key
-- (the encoded CreateTransactionResponse of such a payment is about 310
-- bytes; 320 here), in one transaction.
BEGIN;
DELETE FROM payments.payment_attempts
    WHERE transaction_id = :payment AND partner_id = :partner AND livemode = false
    RETURNING idempotency_key;
UPDATE payments.transactions SET status = 'processed', status_code = 'approved', status_message = 'Approved.',
        funding_status = 'captured', risk_score = 0, risk_flag = 'allowed',
        authorization_ref = 'test_' || md5(:key::text), settled_at = now(), modified_at = now()
    WHERE id = :payment AND partner_id = :partner AND livemode = false;
INSERT INTO payments.ledger_entries (posting_id, partner_id, livemode, transaction_id, account, currency,
        amount, created_at)
    VALUES (:posting, :partner, false, :payment, 'processor_clearing', 'USD', 102.90, now());
INSERT INTO payments.ledger_balances (partner_id, livemode, account, currency, balance, modified_at)
    VALUES (:partner, false, 'processor_clearing', 'USD', 102.90, now())
    ON CONFLICT (partner_id, livemode, account, currency)
    DO UPDATE SET balance = ledger_balances.balance + EXCLUDED.balance, modified_at = EXCLUDED.modified_at;
INSERT INTO payments.ledger_entries (posting_id, partner_id, livemode, transaction_id, account, currency,
        amount, created_at)
    VALUES (:posting, :partner, false, :payment, 'processing_account:' || :processing::text, 'USD', -100.00, now());
INSERT INTO payments.ledger_balances (partner_id, livemode, account, currency, balance, modified_at)
    VALUES (:partner, false, 'processing_account:' || :processing::text, 'USD', -100.00, now())
    ON CONFLICT (partner_id, livemode, account, currency)
    DO UPDATE SET balance = ledger_balances.balance + EXCLUDED.balance, modified_at = EXCLUDED.modified_at;
INSERT INTO payments.ledger_entries (posting_id, partner_id, livemode, transaction_id, account, currency,
        amount, created_at)
    VALUES (:posting, :partner, false, :payment, 'platform_fees', 'USD', -2.90, now());
INSERT INTO payments.ledger_balances (partner_id, livemode, account, currency, balance, modified_at)
    VALUES (:partner, false, 'platform_fees', 'USD', -2.90, now())
    ON CONFLICT (partner_id, livemode, account, currency)
    DO UPDATE SET balance = ledger_balances.balance + EXCLUDED.balance, modified_at = EXCLUDED.modified_at;
INSERT INTO payments.outbox (id, partner_id, livemode, event_type, resource, resource_id, data, created_at)
    VALUES (bench.uuid7(), :partner, false, 'transaction.payment', 'transaction', :payment,
            jsonb_build_object('id', :payment::text, 'type', 'payment', 'status', 'processed',
                'status_code', 'approved', 'amount', '102.90', 'fee', '0.00', 'cust_conv_fee', '2.90',
                'delivery_fee', '0.00', 'delivery_date', NULL, 'payout_method', NULL, 'currency', 'USD',
                'funding_status', 'captured', 'customer_id', :customer::text,
                'payment_method_id', :method::text, 'processing_id', :processing::text,
                'payment_intent_id', NULL, 'ledger', '[]'::jsonb),
            now());
UPDATE payments.idempotency_keys
    SET response = decode(repeat(md5(:key::text), 20), 'hex'), error_code = NULL, error_message = NULL
    WHERE partner_id = :partner AND livemode = false
      AND key = 'pgbench-' || :client_id::text || '-' || :key::text
      AND response IS NULL AND locked_until > now();
COMMIT;

-- make bench: the stored transactions the list query runs over. psql
-- variables: rows, partner, processing, customer, method (the bench
-- partner's own, read from its first payment). paymesh-bench runs it after
-- the payment load, once bench-setup.sql made the bench schema:
--
--   psql -X -v ON_ERROR_STOP=1 -v rows=1000000 -v partner=UUID -v processing=UUID \
--        -v customer=UUID -v method=UUID -f scripts/bench-seed.sql DATABASE_URL
--
-- The rows have the shape the payments service writes
-- (services/payments/src/store.rs, insert_row): card payments of the bench
-- partner in test mode over the past year, oldest first, with UUIDv7 ids
-- in time order; amounts log-uniform from 1.03 to about 5,145 (2.90% of it
-- the payer's fee), so about half are above 50; 85% processed, 8% declined
-- (no fee), 4% voided before capture, 3% still authorized. Processed ones
-- were paid out long ago (funding_status batched): the deposit sweep
-- leaves them alone, as it would a year of history. Only the transactions
-- table is filled: the list query reads it (and the ledger links of the
-- page, which card payments do not have).
\set ON_ERROR_STOP on
SELECT setseed(0.8) AS seeded \gset

INSERT INTO payments.transactions (id, partner_id, livemode, type, status, status_code, status_message,
        currency, amount, fee, cust_conv_fee, refunded_amount, funding_status, risk_score, risk_flag,
        customer_id, payment_method_id, method_kind, processing_id, payment_intent_id, description,
        order_number, attrs, connector, authorization_ref, settles_at, settled_at, prior_attempt_ids,
        delivery_fee, delivery_date, payout_method, created_at, modified_at)
SELECT bench.uuid7_at(at), :'partner', false, 'payment', status,
       CASE status WHEN 'processed' THEN 'approved' WHEN 'declined' THEN 'insufficient_bal'
                   WHEN 'voided' THEN 'voided' ELSE 'authorized' END,
       CASE status WHEN 'processed' THEN 'Approved.'
                   WHEN 'declined' THEN 'The card does not have enough funds.'
                   WHEN 'voided' THEN 'Voided.'
                   ELSE 'Authorized; capture it to collect the funds.' END,
       'USD', amount, 0,
       CASE WHEN status = 'declined' THEN 0 ELSE amount - round(amount / 1.029, 2) END,
       0, CASE status WHEN 'processed' THEN 'batched' ELSE 'pending' END, 0, 'allowed',
       :'customer', :'method', 'card', :'processing', NULL, NULL,
       NULL, '{}', 'test', CASE WHEN status = 'declined' THEN NULL ELSE 'test_' || md5(i::text) END,
       NULL, CASE WHEN status = 'processed' THEN at END, '{}',
       0, NULL, NULL, at, at
FROM (
    SELECT i, at, amount,
           CASE WHEN r < 0.85 THEN 'processed' WHEN r < 0.93 THEN 'declined'
                WHEN r < 0.97 THEN 'voided' ELSE 'authorized' END AS status
    FROM (
        SELECT i,
               -- From a year ago to an hour ago, evenly.
               now() - interval '365 days'
                   + interval '1 second' * ((365 * 86400 - 3600)::float8 * i / :rows) AS at,
               round((exp(random() * ln(5000)) * 1.029)::numeric, 2) AS amount,
               random() AS r
        FROM generate_series(1, :rows) AS i
    ) AS drawn
) AS seeded;

-- As autovacuum would leave a table that old: statistics and the
-- visibility map up to date.
VACUUM (ANALYZE) payments.transactions;

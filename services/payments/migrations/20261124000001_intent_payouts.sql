-- Payouts of payment-intent payments: each is paid out on its own, on the
-- intent's delivery date, by the intent's payout method; the daily deposit
-- takes every other payment.

-- A payment of an intent: the expedited-delivery fee lines the payer paid
-- (the platform's; not paid out). Zero for every other transaction.
ALTER TABLE transactions ADD COLUMN delivery_fee numeric(20, 4) NOT NULL DEFAULT 0 CHECK (delivery_fee >= 0);

-- A payment of an intent: the day the recipient is paid. A deposit: the day
-- it was paid out.
ALTER TABLE transactions ADD COLUMN delivery_date date;

-- How the recipient is paid (intent payments) or was paid (deposits).
ALTER TABLE transactions ADD COLUMN payout_method text
    CHECK (payout_method IN ('ach', 'wire', 'check', 'eft'));

-- What payouts of intent payments may take, by delivery date.
CREATE INDEX transactions_payouts_due ON transactions (delivery_date)
    WHERE status = 'processed' AND funding_status = 'captured' AND type = 'payment'
      AND delivery_date IS NOT NULL;

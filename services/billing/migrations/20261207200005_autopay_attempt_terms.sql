-- What an autopay attempt asked for: sent again after a sweep was cut
-- short, it must ask for the same (its Idempotency-Key answers only the
-- same request), whatever became of the invoice or the enrollment since.
ALTER TABLE autopay_attempts ADD COLUMN amount numeric(20,4);
ALTER TABLE autopay_attempts ADD COLUMN payment_method_id uuid;

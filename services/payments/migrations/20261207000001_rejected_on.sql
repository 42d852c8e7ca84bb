-- The day the bank returned a payment's debit (Payload's `rejected_on`),
-- filterable like the other dates. Payments rejected before this column
-- existed were rejected on the day they last changed.
ALTER TABLE transactions ADD COLUMN rejected_on date;
UPDATE transactions SET rejected_on = (modified_at AT TIME ZONE 'UTC')::date WHERE status = 'rejected';

-- PlacePay's recurring invoices on the schedule engine: the payers of every
-- invoice a schedule makes, its settlement configuration, and charges that
-- start after their schedule (PlacePay's date_incurred on a template item).

-- The payers' customer accounts, in order (["<uuid>", …]); empty: the
-- schedule's customer alone.
ALTER TABLE billing_schedules ADD COLUMN payers jsonb NOT NULL DEFAULT '[]';
ALTER TABLE billing_schedules ADD COLUMN accepted_payment_state text NOT NULL DEFAULT 'partial'
    CHECK (accepted_payment_state IN ('partial', 'full'));
-- The first day a charge covers; null: the schedule's start.
ALTER TABLE billing_charges ADD COLUMN start_date date;

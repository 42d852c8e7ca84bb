-- Invoice payers (PlacePay's multi-payer invoices): the customer accounts
-- that pay an invoice, kept with the invoice they belong to (every change
-- of them locks the invoice row first), and each charge item's division
-- among them.

-- [{"id", "account_id", "amount_allocated", "amount_paid",
--   "last_payment_at"}], in the order given; amounts as decimal strings,
-- recomputed with the invoice's totals (domain::payers).
ALTER TABLE invoices ADD COLUMN payers jsonb NOT NULL DEFAULT '[]';
-- partial: each payment is paid out on its own; full: the payments service
-- holds them until the invoice is paid or closed.
ALTER TABLE invoices ADD COLUMN accepted_payment_state text NOT NULL DEFAULT 'partial'
    CHECK (accepted_payment_state IN ('partial', 'full'));
-- What of the charge items no payer is assigned.
ALTER TABLE invoices ADD COLUMN amount_unallocated numeric(20,4) NOT NULL DEFAULT 0;

-- Invoices made before payers existed are paid by their customer alone.
UPDATE invoices SET payers = jsonb_build_array(jsonb_build_object(
    'id', gen_random_uuid(), 'account_id', customer_id,
    'amount_allocated', total_due::text, 'amount_paid', total_paid::text, 'last_payment_at', NULL));

-- A payment by invoice payer id finds its invoice.
CREATE INDEX invoices_by_payer ON invoices USING gin (payers jsonb_path_ops);

-- Charge items: [{"payer_id", "account_id", "amount", "type"}], custom parts
-- as given and auto parts as computed. Payment items: the payer that paid.
ALTER TABLE line_items ADD COLUMN allocations jsonb NOT NULL DEFAULT '[]';
ALTER TABLE line_items ADD COLUMN payer_id uuid;

-- The invoice payer a reservation is made for, if any.
ALTER TABLE allocations ADD COLUMN payer_id uuid;
CREATE INDEX allocations_by_payer ON allocations (payer_id) WHERE status = 'reserved' AND payer_id IS NOT NULL;

-- A chargeback overturned gives the merchant the money back: billing hears
-- it as a notice to pay again what the chargeback had taken off invoices.
ALTER TABLE billing_notices DROP CONSTRAINT billing_notices_settlement_check;
ALTER TABLE billing_notices ADD CONSTRAINT billing_notices_settlement_check
    CHECK (settlement IN ('apply', 'release', 'reverse', 'reapply'));

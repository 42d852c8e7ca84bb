-- A payment of an invoice that accepts payments in full only is held from
-- deposits until the billing service releases it (the invoice is paid or
-- closed). The sweep asks billing about the held ones.
ALTER TABLE transactions ADD COLUMN settlement_held boolean NOT NULL DEFAULT false;
CREATE INDEX transactions_settlement_held ON transactions (id) WHERE settlement_held;

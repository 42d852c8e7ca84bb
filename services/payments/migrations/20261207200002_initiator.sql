-- Who made a payment: the partner through the API, or paymesh's automatic
-- billing (autopay), whose payment events fire `automatic_payment`.
ALTER TABLE transactions ADD COLUMN initiator text NOT NULL DEFAULT 'api'
    CHECK (initiator IN ('api', 'automatic_billing'));

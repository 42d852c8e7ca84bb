-- How a processing account pays its fees: withheld from each daily
-- deposit, or billed monthly with gross deposits. NULL: inherited.
ALTER TABLE processing_settings
    ADD COLUMN billing_preference text CHECK (billing_preference IN ('netted_daily', 'billed_monthly'));

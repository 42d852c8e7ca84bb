-- Methods that belong to no account: a card or bank account tokenized
-- without an `account_id` (Payload's tokenization and Secure Input), and a
-- card charged without being kept on file (a payment's inline method with
-- no customer, `single_use`). A method on an account is stored as before;
-- one on no account may leave out what only a reusable method needs — a
-- card's expiry and billing postal code — and is never an account's
-- default.
--
-- A deleted method's number is erased: its row stays for the history of
-- its payments (last four, brand, fingerprint), its ciphertext does not.

ALTER TABLE payment_methods
    ALTER COLUMN account_id DROP NOT NULL,
    ALTER COLUMN owner_type DROP NOT NULL,
    ALTER COLUMN number_sealed DROP NOT NULL,
    -- The number serves one payment and is erased once it is finished (or
    -- by the vault's sweep, an hour after it was given).
    ADD COLUMN single_use boolean NOT NULL DEFAULT false;

UPDATE payment_methods SET number_sealed = NULL WHERE deleted_at IS NOT NULL;

ALTER TABLE payment_methods
    DROP CONSTRAINT payment_methods_shape,
    ADD CONSTRAINT payment_methods_shape CHECK (
        CASE type
            WHEN 'card' THEN card_brand IS NOT NULL AND card_type IS NOT NULL AND bin IS NOT NULL
                AND card_length IS NOT NULL
                AND (expiry_month IS NULL) = (expiry_year IS NULL)
                AND (account_id IS NULL OR (expiry_month IS NOT NULL AND postal_code IS NOT NULL))
                AND country IS NULL AND routing_number IS NULL AND institution_number IS NULL
                AND transit_number IS NULL AND account_type IS NULL AND account_class IS NULL
            WHEN 'bank_account' THEN country IS NOT NULL AND account_type IS NOT NULL
                AND account_class IS NOT NULL
                AND (country = 'US') = (routing_number IS NOT NULL)
                AND (country = 'CA') = (institution_number IS NOT NULL AND transit_number IS NOT NULL)
                AND card_brand IS NULL AND card_type IS NULL AND bin IS NULL AND card_length IS NULL
                AND expiry_month IS NULL AND expiry_year IS NULL
        END
    ),
    ADD CONSTRAINT payment_methods_owner CHECK (
        (account_id IS NULL) = (owner_type IS NULL)
        AND (account_id IS NULL OR NOT single_use)
        AND (account_id IS NOT NULL OR NOT is_default)
    ),
    ADD CONSTRAINT payment_methods_number_kept CHECK (number_sealed IS NOT NULL OR deleted_at IS NOT NULL);

-- The sweep's work: single-use methods still holding a number.
CREATE INDEX payment_methods_single_use ON payment_methods (created_at)
    WHERE single_use AND deleted_at IS NULL;

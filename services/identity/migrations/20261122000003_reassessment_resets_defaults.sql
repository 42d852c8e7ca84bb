-- Identity, third step: what keeps activation honest after it happened.
--
-- 1. Accounts that are active without KYB by design — the test-mode default
--    processing account of every partner, and the curated billers — are
--    marked exempt; every other processing account is re-weighed whenever
--    its payout or KYB changes, also once active.
-- 2. A verification no longer survives a change to what it verified: the
--    `*_reset_at` time marks such a change, and only documents uploaded
--    after it count.
-- 3. Partners created before default processing accounts existed get theirs.

ALTER TABLE accounts
    ADD COLUMN kyb_exempt   boolean NOT NULL DEFAULT false,
    ADD COLUMN kyc_reset_at timestamptz;
ALTER TABLE legal_entities ADD COLUMN kyb_reset_at timestamptz;
ALTER TABLE legal_entity_owners ADD COLUMN kyc_reset_at timestamptz;

-- Exempt: the billers, and every test-mode account made active by design
-- as its partner's default — also one that has since stopped being the
-- default (it stays exempt, as the code keeps it).
UPDATE accounts SET kyb_exempt = true
WHERE partner_id IS NULL
   OR (livemode = false AND type = 'processing' AND EXISTS (
          SELECT 1 FROM processing_status_changes c
          WHERE c.account_id = accounts.id
            AND 'Test mode: the default processing account is active at once' = ANY (c.reasons)));

-- Default processing accounts for partners that have none, named after the
-- partner, reachable at a placeholder address the partner should replace.
INSERT INTO accounts (id, partner_id, livemode, type, name, email, description, industry, category, visibility,
                      processing_status, processing_status_reasons, processing_status_at, is_default, kyb_exempt,
                      created_at, modified_at)
SELECT gen_random_uuid(), p.id, mode.livemode, 'processing', p.name, 'partner-' || p.id || '@paymesh.invalid',
       'Default processing account', 'General', 'other', 'partner',
       CASE WHEN mode.livemode THEN 'update_required' ELSE 'active' END,
       CASE WHEN mode.livemode
            THEN '{"payout_method: set a payout method and its details","legal_entity_id: link the legal entity (KYB) of the business"}'::text[]
            ELSE '{}'::text[] END,
       now(), true, NOT mode.livemode, now(), now()
FROM partners p
CROSS JOIN (VALUES (false), (true)) AS mode (livemode)
WHERE NOT EXISTS (
    SELECT 1 FROM accounts a
    WHERE a.partner_id = p.id AND a.livemode = mode.livemode AND a.is_default AND a.deleted_at IS NULL
);

INSERT INTO processing_status_changes (id, account_id, from_status, to_status, reasons, actor_type, created_at)
SELECT gen_random_uuid(), a.id, NULL, a.processing_status, '{"Created for an existing partner"}', 'operator', a.created_at
FROM accounts a
WHERE a.is_default AND NOT EXISTS (SELECT 1 FROM processing_status_changes c WHERE c.account_id = a.id);

-- Their `account.created` events, as every account has.
INSERT INTO outbox (id, partner_id, livemode, event_type, resource, resource_id, data, created_at)
SELECT gen_random_uuid(), a.partner_id, a.livemode, 'account.created', 'account', a.id,
       jsonb_build_object('id', a.id, 'type', 'processing', 'name', a.name, 'email', a.email,
                          'livemode', a.livemode,
                          'processing', jsonb_build_object('status', a.processing_status, 'default', true)),
       a.created_at
FROM accounts a
WHERE a.is_default AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.resource_id = a.id);

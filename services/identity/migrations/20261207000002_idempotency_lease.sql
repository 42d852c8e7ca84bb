-- How long the request that claimed a key holds it: a retry after this
-- takes over what a request that died unanswered had started
-- (paymesh_kit::idempotency). Keys claimed before the lease existed are
-- taken as expired.
ALTER TABLE idempotency_keys ADD COLUMN locked_until timestamptz NOT NULL DEFAULT '1970-01-01 00:00:00+00';
ALTER TABLE idempotency_keys ALTER COLUMN locked_until DROP DEFAULT;

-- make bench: helpers in the bench's own scratch database (dropped after
-- the run), made by paymesh-bench before pgbench and the seeding run.
--
-- Ids shaped like the services' UUIDv7s: 48 bits of Unix milliseconds
-- first, so rows written together sit together in the primary-key indexes,
-- as the services' do (random UUIDs would scatter pgbench's inserts and
-- understate the ceiling).
CREATE SCHEMA IF NOT EXISTS bench;

-- A UUIDv7 for the instant `at`.
CREATE OR REPLACE FUNCTION bench.uuid7_at(at timestamptz) RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT (lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0')
            || '7' || substr(md5(random()::text), 1, 3)
            || '8' || substr(md5(random()::text), 1, 15))::uuid
$$;

-- A UUIDv7 for now (the wall clock, not the transaction's start).
CREATE OR REPLACE FUNCTION bench.uuid7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT bench.uuid7_at(clock_timestamp())
$$;

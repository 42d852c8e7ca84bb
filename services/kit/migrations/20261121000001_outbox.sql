-- The transactional outbox of a service: every state change records its
-- domain event here in the same transaction, so no change is ever published
-- without its event or the other way round. A relay forwards unpublished
-- rows to the events service (at least once; the id makes it idempotent).
CREATE TABLE outbox (
    id           uuid        PRIMARY KEY,
    partner_id   uuid        NOT NULL,
    livemode     boolean     NOT NULL,
    event_type   text        NOT NULL CHECK (event_type ~ '^[a-z_]+(\.[a-z_]+)+$'),
    resource     text        NOT NULL,
    resource_id  uuid        NOT NULL,
    data         jsonb       NOT NULL,
    created_at   timestamptz NOT NULL,
    published_at timestamptz
);

CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL;
CREATE INDEX outbox_resource ON outbox (resource_id, created_at);

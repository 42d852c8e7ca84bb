-- The events service: the event log fed by every service's outbox relay,
-- webhooks, their deliveries and the log of every delivery attempt.
--
-- The `outbox` table is not created here: the kit's own migrations
-- (services/kit/migrations) create it in every service schema, this one
-- included, before the service's migrations run. The events service
-- records its own events there (`webhook.created`, `webhook.disabled`, …)
-- and its relay publishes them to itself like any other service's.
--
-- Words are spelled as services/events/src/domain/trigger.rs and
-- retry.rs declare them; the CHECKs below repeat them so that the
-- database refuses a misspelling even if the service erred.

-- === The event log ===

-- One change of one of a partner's objects, as its service recorded it.
-- `id` is the outbox row's id: publishing it again is a no-op (INSERT … ON
-- CONFLICT (id) DO NOTHING), which makes the relay's at-least-once
-- delivery exactly-once here. Kept 30 days by default, then deleted by
-- `created_at`.
CREATE TABLE events (
    id          uuid        PRIMARY KEY,
    -- The order in which events were recorded here. A stream resumes
    -- after an event by its `seq`, not by its id: ids are made by many
    -- processes, on their own clocks. A reader tails `seq` a short settle
    -- time behind, since a lower `seq` may commit after a higher one.
    seq         bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    partner_id  uuid        NOT NULL,
    livemode    boolean     NOT NULL,
    -- `<resource>.<change>`, as the outbox's CHECK has it.
    type        text        NOT NULL CHECK (type ~ '^[a-z_]+(\.[a-z_]+)+$'),
    -- The kind of object, e.g. `transaction`.
    resource    text        NOT NULL CHECK (resource ~ '^[a-z_]+$'),
    resource_id uuid        NOT NULL,
    -- Payload's event model: how the change touched its object.
    change      text        NOT NULL CHECK (change IN ('insert', 'update', 'delete')),
    -- The object as of the change; never card or account numbers, keys or
    -- secrets (the producing service leaves them out).
    data        jsonb       NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    -- When the change happened (the outbox row's created_at).
    created_at  timestamptz NOT NULL,
    -- When it was recorded here: `recorded_at - created_at` is the relay's
    -- lag.
    recorded_at timestamptz NOT NULL
);

-- Lists by partner and mode, newest first, paged by (created_at, id).
CREATE INDEX events_by_partner ON events (partner_id, livemode, created_at, id);
-- Lists filtered by type (`type=transaction.payment`), and redelivery
-- since a time of one trigger's events.
CREATE INDEX events_by_type ON events (partner_id, livemode, type, created_at, id);
-- An object's history (`resource_id=…`).
CREATE INDEX events_by_resource ON events (partner_id, livemode, resource_id, created_at);
-- Streams: a partner's events after a position.
CREATE INDEX events_by_position ON events (partner_id, livemode, seq);
-- Retention.
CREATE INDEX events_by_age ON events (created_at);

-- === Webhooks ===

-- Where a partner wants events delivered, and for which trigger.
--
-- The signing secret is stored sealed (envelope-encrypted with the kit's
-- keyring, paymesh_kit::crypto: AES-256-GCM under a data key wrapped by a
-- KEK), never hashed as API keys are: every delivery must be signed with
-- the secret itself (HMAC-SHA256), so it has to be recoverable. Only the
-- raw secret bytes are sealed, not the `whsec_…` text. Both secret columns
-- are sealed for the one context `events.webhooks.secret:<id>`, so that a
-- rotation moves the current secret to `previous_secret_sealed` as it is,
-- without opening it; a ciphertext copied to another webhook does not open.
-- Live-mode secrets are never sealed under the development keyring
-- (Keyring::seal_for_mode).
CREATE TABLE webhooks (
    id                         uuid        PRIMARY KEY,
    partner_id                 uuid        NOT NULL,
    livemode                   boolean     NOT NULL,
    -- Checked by the service (https in live mode, no credentials, a public
    -- host); the database only keeps the shape.
    url                        text        NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048
                                                           AND url ~* '^https?://'),
    trigger                    text        NOT NULL CHECK (trigger IN
                                   ('payment', 'refund', 'void', 'automatic_payment', 'decline', 'chargeback',
                                    'chargeback_reversal', 'bank_account_reject', 'processing_status', '*')),
    status                     text        NOT NULL CHECK (status IN ('enabled', 'disabled')),
    -- Why it is disabled: by the partner, 410 Gone, or 5 days failing.
    disabled_reason            text        CHECK (disabled_reason IN ('requested', 'gone', 'failing')),
    disabled_at                timestamptz,
    secret_sealed              bytea       NOT NULL,
    -- After a rotation: the previous secret, which also signs deliveries
    -- until it expires (then both columns are cleared).
    previous_secret_sealed     bytea,
    previous_secret_expires_at timestamptz,
    -- Since when every attempt to this webhook has failed; cleared by a
    -- success. At 5 days the webhook is disabled (reason `failing`).
    failing_since              timestamptz,
    attrs                      jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attrs) = 'object'),
    created_at                 timestamptz NOT NULL,
    modified_at                timestamptz NOT NULL,
    -- Deleted webhooks are kept for their logs, and never shown.
    deleted_at                 timestamptz,
    CHECK ((status = 'disabled') = (disabled_reason IS NOT NULL)),
    CHECK ((disabled_reason IS NULL) = (disabled_at IS NULL)),
    CHECK ((previous_secret_sealed IS NULL) = (previous_secret_expires_at IS NULL))
);

CREATE INDEX webhooks_by_partner ON webhooks (partner_id, livemode, created_at, id) WHERE deleted_at IS NULL;
-- Fan-out of a new event: the enabled webhooks of its partner, mode and
-- trigger (or `*`).
CREATE INDEX webhooks_listening ON webhooks (partner_id, livemode, trigger)
    WHERE status = 'enabled' AND deleted_at IS NULL;
-- Rotations whose grace period is over.
CREATE INDEX webhooks_previous_secret_expiry ON webhooks (previous_secret_expires_at)
    WHERE previous_secret_expires_at IS NOT NULL;

-- === Deliveries ===

-- One event to deliver to one webhook: made when the event is recorded (in
-- the same transaction, for every enabled webhook that hears it) or when a
-- partner asks for a redelivery. A webhook has at most one live delivery of
-- an event; a redelivery after it finished is a new row (logs restart at
-- attempt 1, with the same `webhook-id`).
--
-- Workers take due rows with `FOR UPDATE SKIP LOCKED`, set `locked_until`
-- (real time, longer than the 15 s request timeout) and commit before
-- posting, so no row lock is held across the network; a worker that dies
-- leaves a lease that runs out, and the row is taken again.
-- `next_attempt_at` is on the clock of the delivery's partner and mode (a
-- test clock moves it); `locked_until` is on the wall clock.
CREATE TABLE deliveries (
    id              uuid        PRIMARY KEY,
    partner_id      uuid        NOT NULL,
    livemode        boolean     NOT NULL,
    webhook_id      uuid        NOT NULL REFERENCES webhooks (id),
    -- Deliveries go with their event when it passes retention.
    event_id        uuid        NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    -- The trigger the event matched (a `*` webhook records the event's own).
    trigger         text        NOT NULL CHECK (trigger IN
                        ('payment', 'refund', 'void', 'automatic_payment', 'decline', 'chargeback',
                         'chargeback_reversal', 'bank_account_reject', 'processing_status')),
    -- pending: not attempted yet; failed: the last attempt failed and
    -- another is due at next_attempt_at; succeeded: 2xx; gave_up: the
    -- schedule is spent, or the webhook was disabled or deleted.
    status          text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'gave_up')),
    -- Attempts made so far (Standard Webhooks schedule: at most 10).
    attempts        smallint    NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 10),
    next_attempt_at timestamptz,
    locked_until    timestamptz,
    -- A partner's redelivery rather than the event's first delivery.
    redelivery      boolean     NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    modified_at     timestamptz NOT NULL,
    CHECK ((status IN ('pending', 'failed')) = (next_attempt_at IS NOT NULL)),
    CHECK (status <> 'pending' OR attempts = 0),
    -- Succeeded and failed deliveries were attempted; a delivery may be
    -- given up before its first attempt (its webhook was disabled).
    CHECK (status IN ('pending', 'gave_up') OR attempts > 0)
);

-- At most one live delivery of an event per webhook: a repeated fan-out
-- or a second redelivery request while one is under way changes nothing.
CREATE UNIQUE INDEX deliveries_one_live ON deliveries (webhook_id, event_id)
    WHERE status IN ('pending', 'failed');
-- The workers' queue.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status IN ('pending', 'failed');
-- Giving up a disabled or deleted webhook's pending deliveries.
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, status);

-- === Webhook logs ===

-- One delivery attempt, as `/webhook_logs` shows it. Written in the
-- transaction that records the attempt's outcome on its delivery. Logs
-- stay when their webhook is deleted or their event passes retention (no
-- key to events); they pass retention themselves by `created_at`.
CREATE TABLE webhook_logs (
    id                  uuid        PRIMARY KEY,
    partner_id          uuid        NOT NULL,
    livemode            boolean     NOT NULL,
    webhook_id          uuid        NOT NULL REFERENCES webhooks (id),
    delivery_id         uuid        REFERENCES deliveries (id) ON DELETE SET NULL,
    event_id            uuid        NOT NULL,
    trigger             text        NOT NULL CHECK (trigger IN
                            ('payment', 'refund', 'void', 'automatic_payment', 'decline', 'chargeback',
                             'chargeback_reversal', 'bank_account_reject', 'processing_status')),
    -- Payload's `triggered_on`: the object the event is about.
    triggered_on_id     uuid        NOT NULL,
    triggered_on_object text        NOT NULL CHECK (triggered_on_object ~ '^[a-z_]+$'),
    triggered_on_type   text,
    -- The URL posted to, as the webhook had it then.
    url                 text        NOT NULL,
    attempt             smallint    NOT NULL CHECK (attempt BETWEEN 1 AND 10),
    outcome             text        NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'gave_up')),
    -- NULL when no answer came (refused address, connection, timeout).
    http_status         smallint    CHECK (http_status BETWEEN 100 AND 599),
    duration_ms         integer     NOT NULL CHECK (duration_ms >= 0),
    -- The answer's first 1 kB, as text (cut at a character boundary, NULs
    -- removed).
    response            text        NOT NULL DEFAULT '' CHECK (octet_length(response) <= 1024),
    -- What went wrong when no status says it.
    error               text        CHECK (char_length(error) <= 500),
    next_attempt_at     timestamptz,
    created_at          timestamptz NOT NULL,
    CHECK ((outcome = 'failed') = (next_attempt_at IS NOT NULL)),
    CHECK (outcome <> 'succeeded' OR http_status BETWEEN 200 AND 299)
);

CREATE INDEX webhook_logs_by_partner ON webhook_logs (partner_id, livemode, created_at, id);
-- `/webhooks/{id}/logs`.
CREATE INDEX webhook_logs_by_webhook ON webhook_logs (partner_id, livemode, webhook_id, created_at, id);
CREATE INDEX webhook_logs_by_event ON webhook_logs (partner_id, livemode, event_id);
CREATE INDEX webhook_logs_by_age ON webhook_logs (created_at);

-- === Idempotency ===

-- Idempotency keys of the Create… and custom POST RPCs
-- (paymesh_kit::idempotency): the first request's fingerprint and, once it
-- is answered, its answer. The shape of the other services' table after
-- their lease migration (20261207000002_idempotency_lease.sql).
CREATE TABLE idempotency_keys (
    partner_id    uuid NOT NULL,
    livemode      boolean NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    -- NULL while the first request is in flight.
    response      bytea,
    -- The gRPC status of an error answer (its encoded google.rpc.Status in
    -- response), NULL for a success.
    error_code    integer,
    error_message text,
    created_at    timestamptz NOT NULL,
    -- How long the request that claimed the key holds it: a retry after
    -- this takes over what a request that died unanswered had started.
    locked_until  timestamptz NOT NULL,
    PRIMARY KEY (partner_id, livemode, key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

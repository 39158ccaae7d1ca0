-- The messaging core's tables, the same in every service's database (DESIGN.md §4).

-- Transactional outbox: rows are written in the transaction of the effect they
-- announce and published by the relay afterwards, in id order.
CREATE TABLE outbox (
    id           bigserial   PRIMARY KEY,
    topic        text        NOT NULL,
    key          text        NOT NULL,
    event_id     uuid        NOT NULL UNIQUE,
    event_type   text        NOT NULL,
    payload      jsonb       NOT NULL,
    -- Trace context and correlation of the work that wrote the row, so the trace
    -- continues through the relay.
    headers      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    -- Set when the broker refused the row for good (size or record format).
    failed_at    timestamptz,
    failure      text
);

-- The relay's work queue: only rows still to publish.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL AND failed_at IS NULL;
-- Pruning of published rows by age.
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Inbox of the idempotent consumer: one row per handled event, inserted in the
-- transaction of its effect. The same event id with another body is poison.
CREATE TABLE processed_messages (
    consumer_group text        NOT NULL,
    event_id       uuid        NOT NULL,
    body_sha256    bytea       NOT NULL,
    processed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, event_id)
);

CREATE INDEX processed_messages_processed_at ON processed_messages (processed_at);

-- The order aggregate's event store, snapshots, read model and saga deadlines (DESIGN.md §4, §6).

-- Every event of every order, immutable. (order_id, version) is the optimistic lock:
-- a second writer of the same version fails with a unique violation.
CREATE TABLE order_events (
    order_id       uuid        NOT NULL,
    version        bigint      NOT NULL CHECK (version >= 1),
    event_type     text        NOT NULL,
    schema_version integer     NOT NULL,
    payload        jsonb       NOT NULL,
    -- event id, correlation and causation ids, and (first event) the saga's root trace context
    metadata       jsonb       NOT NULL,
    -- Never runs backwards within an order: the greater of the clock and the previous
    -- version's time plus a microsecond.
    recorded_at    timestamptz NOT NULL,
    PRIMARY KEY (order_id, version)
);

-- The latest state every N events; a snapshot that cannot be read is ignored.
CREATE TABLE order_snapshots (
    order_id       uuid        NOT NULL,
    version        bigint      NOT NULL,
    schema_version integer     NOT NULL,
    state          jsonb       NOT NULL,
    taken_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, version)
);

-- The read model, written in the transaction of the events it reflects.
CREATE TABLE order_view (
    order_id       uuid        PRIMARY KEY,
    customer_id    text        NOT NULL,
    status         text        NOT NULL,
    cancel_reason  text,
    compensation   jsonb,
    items          jsonb       NOT NULL,
    total_cents    bigint      NOT NULL,
    currency       text        NOT NULL,
    tracking_number text,
    version        bigint      NOT NULL,
    correlation_id uuid        NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX order_view_status ON order_view (status);

-- Orders still pending and when their saga gives up on them; the row is deleted in the
-- transaction that ends the pending state.
CREATE TABLE saga_deadlines (
    order_id   uuid        PRIMARY KEY,
    due_at     timestamptz NOT NULL
);
CREATE INDEX saga_deadlines_due_at ON saga_deadlines (due_at);

-- POST /orders with an Idempotency-Key: the same key and body give the same order.
CREATE TABLE idempotency_keys (
    key          text        PRIMARY KEY,
    request_hash bytea       NOT NULL,
    order_id     uuid        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- The per-order state row every saga handler locks first (DESIGN.md §1).
CREATE TABLE order_saga_locks (
    order_id uuid PRIMARY KEY,
    status   text NOT NULL
);

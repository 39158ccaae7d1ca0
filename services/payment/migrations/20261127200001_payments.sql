-- payment-service: accounts, one state row per order, and a ledger of every movement
-- (DESIGN.md §4).

CREATE TABLE accounts (
    customer_id   text    PRIMARY KEY,
    balance_cents bigint  NOT NULL CHECK (balance_cents >= 0),
    -- Every charge to this account is declined (a card the bank refuses).
    declines      boolean NOT NULL DEFAULT false
);

-- The per-order state row every handler creates if absent and locks first.
-- status: new | captured | declined | refunded | cancelled_before_charge
CREATE TABLE payments (
    order_id     uuid        PRIMARY KEY,
    status       text        NOT NULL,
    payment_id   uuid,
    customer_id  text,
    amount_cents bigint      NOT NULL DEFAULT 0,
    reason       text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Every movement of money: charges negative for the account, refunds positive.
CREATE TABLE ledger (
    id           bigserial   PRIMARY KEY,
    order_id     uuid        NOT NULL,
    customer_id  text        NOT NULL,
    payment_id   uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('charge', 'refund')),
    amount_cents bigint      NOT NULL CHECK (amount_cents > 0),
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_order ON ledger (order_id);

-- Demo customers, and load-test customers so that load of every outcome does not
-- queue on one hot row.
INSERT INTO accounts (customer_id, balance_cents, declines) VALUES
    ('c-rich', 100000000, false),
    ('c-poor', 1000, false),
    ('c-declined', 100000000, true);
INSERT INTO accounts (customer_id, balance_cents, declines)
    SELECT 'load-c-' || lpad(n::text, 3, '0'), 1000000000, false FROM generate_series(0, 99) AS n;
INSERT INTO accounts (customer_id, balance_cents, declines)
    SELECT 'load-c-declined-' || n, 1000000000, true FROM generate_series(0, 9) AS n;

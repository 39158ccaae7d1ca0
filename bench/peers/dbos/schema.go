package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schema is the peer's own tables (public schema of the app database) and the load
// data of bench/peers/README.md. Idempotent; `peer start` gives it a fresh database.
const schema = `
CREATE TABLE IF NOT EXISTS accounts (
    customer_id   text    PRIMARY KEY,
    balance_cents bigint  NOT NULL CHECK (balance_cents >= 0),
    declines      boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS stock (
    sku       text   PRIMARY KEY,
    available bigint NOT NULL CHECK (available >= 0),
    reserved  bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0)
);
-- status: pending | confirmed | cancelled; reason: payment_declined | out_of_stock | customer
CREATE TABLE IF NOT EXISTS orders (
    order_id    text        PRIMARY KEY,
    customer_id text        NOT NULL,
    currency    text        NOT NULL,
    items       jsonb       NOT NULL,
    total_cents bigint      NOT NULL,
    status      text        NOT NULL,
    reason      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Every movement of money; at most one charge and one refund per order.
CREATE TABLE IF NOT EXISTS ledger (
    order_id     text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('charge', 'refund')),
    customer_id  text        NOT NULL,
    amount_cents bigint      NOT NULL CHECK (amount_cents > 0),
    at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, kind)
);
CREATE TABLE IF NOT EXISTS reservations (
    order_id text    NOT NULL,
    sku      text    NOT NULL,
    quantity bigint  NOT NULL CHECK (quantity > 0),
    released boolean NOT NULL DEFAULT false,
    PRIMARY KEY (order_id, sku)
);

INSERT INTO accounts (customer_id, balance_cents, declines)
    SELECT 'load-c-' || lpad(n::text, 3, '0'), 1000000000, false FROM generate_series(0, 99) AS n
    ON CONFLICT DO NOTHING;
INSERT INTO accounts (customer_id, balance_cents, declines)
    SELECT 'load-c-declined-' || n, 1000000000, true FROM generate_series(0, 9) AS n
    ON CONFLICT DO NOTHING;
INSERT INTO stock (sku, available)
    SELECT 'load-sku-' || lpad(n::text, 3, '0'), 10000000 FROM generate_series(0, 99) AS n
    ON CONFLICT DO NOTHING;
INSERT INTO stock (sku, available)
    SELECT 'load-sku-empty-' || n, 0 FROM generate_series(0, 9) AS n
    ON CONFLICT DO NOTHING;
`

func migrateAndSeed(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, schema)
	return err
}

// newPool opens a pool with the settings DBOS gives the system-database pool it
// creates itself (internal/sysdb: 20 connections unless the URL sets pool_max_conns,
// 1 h lifetime, 5 min idle, 10 s connect timeout, 1 min idle-in-transaction timeout),
// so the app pool of `split` and the one shared pool of `shared` match DBOS's own.
func newPool(ctx context.Context, url string, maxConns int) (*pgxpool.Pool, error) {
	config, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	config.MaxConns = int32(maxConns)
	config.MinConns = 0
	config.MaxConnLifetime = time.Hour
	config.MaxConnIdleTime = 5 * time.Minute
	config.ConnConfig.ConnectTimeout = 10 * time.Second
	config.ConnConfig.RuntimeParams["application_name"] = "saga-peer-dbos"
	config.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "SET idle_in_transaction_session_timeout = 60000")
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to %s: %w", config.ConnConfig.Database, err)
	}
	return pool, nil
}

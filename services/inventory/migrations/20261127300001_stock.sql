-- inventory-service: stock per SKU, one reservation row per order, and every movement
-- (DESIGN.md §4). available + reserved + shipped = starting stock + restocks.

CREATE TABLE stock (
    sku       text   PRIMARY KEY,
    available bigint NOT NULL CHECK (available >= 0),
    reserved  bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    shipped   bigint NOT NULL DEFAULT 0 CHECK (shipped >= 0)
);

-- The per-order state row every handler creates if absent and locks first.
-- status: new | reserved | released | shipped | cancelled_before_reserve | failed
CREATE TABLE order_reservations (
    order_id       uuid        PRIMARY KEY,
    status         text        NOT NULL,
    reservation_id uuid,
    items          jsonb       NOT NULL DEFAULT '[]'::jsonb,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Every change of stock, restocks included.
CREATE TABLE stock_movements (
    id       bigserial   PRIMARY KEY,
    sku      text        NOT NULL,
    order_id uuid,
    kind     text        NOT NULL CHECK (kind IN ('reserve', 'release', 'ship', 'restock')),
    quantity bigint      NOT NULL CHECK (quantity > 0),
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_movements_sku ON stock_movements (sku);

-- Demo SKUs, and load-test SKUs so that load of every outcome does not queue on one row.
INSERT INTO stock (sku, available) VALUES ('sku-widget', 1000000), ('sku-gadget', 1000000), ('sku-soldout', 0);
INSERT INTO stock (sku, available)
    SELECT 'load-sku-' || lpad(n::text, 3, '0'), 10000000 FROM generate_series(0, 99) AS n;
INSERT INTO stock (sku, available) SELECT 'load-sku-empty-' || n, 0 FROM generate_series(0, 9) AS n;

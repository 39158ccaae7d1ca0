-- The stock each SKU opened with, so that `sagactl verify` can check stock is
-- conserved: available + reserved + shipped = opening + restocks, for every SKU.
ALTER TABLE stock ADD COLUMN opening bigint;
UPDATE stock s SET opening = s.available + s.reserved + s.shipped
    - coalesce((SELECT sum(quantity) FROM stock_movements m WHERE m.sku = s.sku AND kind = 'restock'), 0);
ALTER TABLE stock ALTER COLUMN opening SET NOT NULL;
ALTER TABLE stock ALTER COLUMN opening SET DEFAULT 0;

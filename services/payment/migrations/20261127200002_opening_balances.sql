-- The balance each account opened with, so that `sagactl verify` can check money is
-- conserved: opening - charges + refunds = balance, for every account.
ALTER TABLE accounts ADD COLUMN opening_balance_cents bigint;
UPDATE accounts a SET opening_balance_cents = a.balance_cents
    + coalesce((SELECT sum(amount_cents) FROM ledger l WHERE l.customer_id = a.customer_id AND kind = 'charge'), 0)
    - coalesce((SELECT sum(amount_cents) FROM ledger l WHERE l.customer_id = a.customer_id AND kind = 'refund'), 0);
ALTER TABLE accounts ALTER COLUMN opening_balance_cents SET NOT NULL;

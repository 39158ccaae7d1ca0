package main

// The order saga as two DBOS workflows. Every step is a DBOS transaction
// (dbos.RunAsTransaction over the app data source): the step's writes to the
// peer's tables and DBOS's record that the step ran commit in one PostgreSQL
// transaction, so a recovered workflow replays the step's result instead of
// running it again.

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/dbos-inc/dbos-transact-golang/dbos"
)

// appDS is the data source over the app database the steps write to; set in main
// before Launch.
var appDS *dbos.DataSource

type Item struct {
	SKU            string `json:"sku"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

// Order is the input of placeOrder: the request body and the order id from the path.
type Order struct {
	OrderID    string `json:"order_id"`
	CustomerID string `json:"customer_id"`
	Items      []Item `json:"items"`
	Currency   string `json:"currency"`
}

func (o Order) totalCents() int64 {
	var total int64
	for _, it := range o.Items {
		total += it.Quantity * it.UnitPriceCents
	}
	return total
}

// Outcome is what both workflows return and what the HTTP API answers.
type Outcome struct {
	OrderID string  `json:"order_id"`
	Status  string  `json:"status"`
	Reason  *string `json:"reason"`
}

// placeOrder: create the order, charge, reserve, confirm; a declined charge cancels
// the order, a stock-out refunds the charge and cancels it. Its workflow id is the
// order id, so a repeat of the same order returns the recorded outcome.
func placeOrder(ctx dbos.Context, o Order) (Outcome, error) {
	total := o.totalCents()
	if _, err := dbos.RunAsTransaction(ctx, appDS, func(c context.Context, tx dbos.Tx) (bool, error) {
		return createOrder(c, tx, o, total)
	}, dbos.WithStepName("createOrder")); err != nil {
		return Outcome{}, err
	}

	charged, err := dbos.RunAsTransaction(ctx, appDS, func(c context.Context, tx dbos.Tx) (bool, error) {
		return charge(c, tx, o.OrderID, o.CustomerID, total)
	}, dbos.WithStepName("charge"))
	if err != nil {
		return Outcome{}, err
	}
	if !charged {
		return finish(ctx, o.OrderID, "cancelled", "payment_declined")
	}

	reserved, err := dbos.RunAsTransaction(ctx, appDS, func(c context.Context, tx dbos.Tx) (bool, error) {
		return reserve(c, tx, o.OrderID, o.Items)
	}, dbos.WithStepName("reserve"))
	if err != nil {
		return Outcome{}, err
	}
	if !reserved {
		if _, err := dbos.RunAsTransaction(ctx, appDS, func(c context.Context, tx dbos.Tx) (bool, error) {
			return refund(c, tx, o.OrderID)
		}, dbos.WithStepName("refund")); err != nil {
			return Outcome{}, err
		}
		return finish(ctx, o.OrderID, "cancelled", "out_of_stock")
	}
	return finish(ctx, o.OrderID, "confirmed", "")
}

// cancelStart is the first step's result of cancelOrder.
type cancelStart struct {
	Refunded bool    `json:"refunded"`
	Current  Outcome `json:"current"`
}

// cancelOrder: the customer cancels a confirmed order: refund, release, cancelled
// (reason customer). Any other order answers its current state. Its workflow id is
// derived from the order id, so a repeat answers the recorded outcome.
func cancelOrder(ctx dbos.Context, orderID string) (Outcome, error) {
	start, err := dbos.RunAsTransaction(ctx, appDS, func(c context.Context, tx dbos.Tx) (cancelStart, error) {
		return refundConfirmed(c, tx, orderID)
	}, dbos.WithStepName("refundConfirmed"))
	if err != nil {
		return Outcome{}, err
	}
	if !start.Refunded {
		return start.Current, nil
	}
	if _, err := dbos.RunAsTransaction(ctx, appDS, func(c context.Context, tx dbos.Tx) (bool, error) {
		return release(c, tx, orderID)
	}, dbos.WithStepName("release")); err != nil {
		return Outcome{}, err
	}
	return finish(ctx, orderID, "cancelled", "customer")
}

// finish records the order's terminal status as a transaction step.
func finish(ctx dbos.Context, orderID, status, reason string) (Outcome, error) {
	return dbos.RunAsTransaction(ctx, appDS, func(c context.Context, tx dbos.Tx) (Outcome, error) {
		var r *string
		if reason != "" {
			r = &reason
		}
		_, err := tx.Exec(c, `UPDATE orders SET status = $2, reason = $3, updated_at = now() WHERE order_id = $1`,
			orderID, status, r)
		return Outcome{OrderID: orderID, Status: status, Reason: r}, err
	}, dbos.WithStepName("finish"))
}

// ---------------------------------------------------------------- transaction bodies

func createOrder(ctx context.Context, tx dbos.Tx, o Order, total int64) (bool, error) {
	items, err := json.Marshal(o.Items)
	if err != nil {
		return false, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO orders (order_id, customer_id, currency, items, total_cents, status)
		VALUES ($1, $2, $3, $4, $5, 'pending') ON CONFLICT (order_id) DO NOTHING`,
		o.OrderID, o.CustomerID, o.Currency, string(items), total)
	return err == nil, err
}

// charge takes the total from the customer's account; false (declined) for an
// unknown customer, a customer whose name says declined, a zero total or too low a
// balance.
func charge(ctx context.Context, tx dbos.Tx, orderID, customerID string, total int64) (bool, error) {
	if strings.Contains(customerID, "declined") || total <= 0 {
		return false, nil
	}
	res, err := tx.Exec(ctx, `UPDATE accounts SET balance_cents = balance_cents - $2
		WHERE customer_id = $1 AND NOT declines AND balance_cents >= $2`, customerID, total)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO ledger (order_id, kind, customer_id, amount_cents) VALUES ($1, 'charge', $2, $3)`,
		orderID, customerID, total)
	return err == nil, err
}

// reserve takes every item from stock, or nothing (false) if any SKU is short or
// unknown. Rows are locked in SKU order.
func reserve(ctx context.Context, tx dbos.Tx, orderID string, items []Item) (bool, error) {
	want := map[string]int64{}
	for _, it := range items {
		want[it.SKU] += it.Quantity
	}
	skus := make([]string, 0, len(want))
	for sku := range want {
		skus = append(skus, sku)
	}
	slices.Sort(skus)

	rows, err := tx.Query(ctx, `SELECT sku, available FROM stock WHERE sku = ANY($1) ORDER BY sku FOR UPDATE`, skus)
	if err != nil {
		return false, err
	}
	have := map[string]int64{}
	for rows.Next() {
		var sku string
		var available int64
		if err := rows.Scan(&sku, &available); err != nil {
			rows.Close()
			return false, err
		}
		have[sku] = available
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, sku := range skus {
		if have[sku] < want[sku] {
			return false, nil
		}
	}
	for _, sku := range skus {
		if _, err := tx.Exec(ctx, `UPDATE stock SET available = available - $2, reserved = reserved + $2 WHERE sku = $1`,
			sku, want[sku]); err != nil {
			return false, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO reservations (order_id, sku, quantity) VALUES ($1, $2, $3)`,
			orderID, sku, want[sku]); err != nil {
			return false, err
		}
	}
	return true, nil
}

// refund gives back the order's charge, if there is one and it was not refunded.
func refund(ctx context.Context, tx dbos.Tx, orderID string) (bool, error) {
	var customerID string
	var amount int64
	err := tx.QueryRow(ctx, `SELECT customer_id, amount_cents FROM ledger c WHERE order_id = $1 AND kind = 'charge'
		AND NOT EXISTS (SELECT 1 FROM ledger r WHERE r.order_id = c.order_id AND r.kind = 'refund')`,
		orderID).Scan(&customerID, &amount)
	if errors.Is(err, dbos.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `UPDATE accounts SET balance_cents = balance_cents + $2 WHERE customer_id = $1`,
		customerID, amount); err != nil {
		return false, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO ledger (order_id, kind, customer_id, amount_cents) VALUES ($1, 'refund', $2, $3)`,
		orderID, customerID, amount)
	return err == nil, err
}

// refundConfirmed refunds a confirmed order (the order row locked first); any other
// order is left as it is and its current state returned.
func refundConfirmed(ctx context.Context, tx dbos.Tx, orderID string) (cancelStart, error) {
	current := Outcome{OrderID: orderID}
	err := tx.QueryRow(ctx, `SELECT status, reason FROM orders WHERE order_id = $1 FOR UPDATE`, orderID).
		Scan(&current.Status, &current.Reason)
	if errors.Is(err, dbos.ErrNoRows) {
		return cancelStart{Current: current}, nil // Status "" = unknown order
	}
	if err != nil || current.Status != "confirmed" {
		return cancelStart{Current: current}, err
	}
	refunded, err := refund(ctx, tx, orderID)
	return cancelStart{Refunded: refunded, Current: current}, err
}

// release puts the order's reserved stock back.
func release(ctx context.Context, tx dbos.Tx, orderID string) (bool, error) {
	if _, err := tx.Exec(ctx, `UPDATE stock s SET available = s.available + r.quantity, reserved = s.reserved - r.quantity
		FROM reservations r WHERE r.order_id = $1 AND NOT r.released AND s.sku = r.sku`, orderID); err != nil {
		return false, err
	}
	_, err := tx.Exec(ctx, `UPDATE reservations SET released = true WHERE order_id = $1`, orderID)
	return err == nil, err
}

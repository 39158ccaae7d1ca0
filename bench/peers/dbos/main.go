// saga-peer-dbos: the order saga of this project on DBOS Transact for Go, for
// `scripts/bench --parts peers` (contract: bench/peers/README.md).
//
//	POST /order/{id}/place   body {"customer_id", "items": [{"sku", "quantity", "unit_price_cents"}], "currency"}
//	POST /order/{id}/cancel
//
// Both answer {"order_id", "status", "reason"} once the workflow's result is durable.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/dbos-inc/dbos-transact-golang/dbos"
)

func main() {
	layout := flag.String("layout", "split", "split: app database + DBOS system database; shared: DBOS system tables in the app database")
	listen := flag.String("listen", "127.0.0.1:8180", "HTTP address")
	appURL := flag.String("app-db", "postgres://postgres@127.0.0.1:5432/dbos_saga?sslmode=disable", "app database URL")
	sysURL := flag.String("system-db", "postgres://postgres@127.0.0.1:5432/dbos_saga_dbos_sys?sslmode=disable", "DBOS system database URL (split layout)")
	maxConns := flag.Int("pool-max-conns", 20, "connections of the app pool (DBOS's default for its own pool)")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(*layout, *listen, *appURL, *sysURL, *maxConns, logger); err != nil {
		logger.Error("saga-peer-dbos failed", "error", err)
		os.Exit(1)
	}
}

func run(layout, listen, appURL, sysURL string, maxConns int, logger *slog.Logger) error {
	signals, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	pool, err := newPool(signals, appURL, maxConns)
	if err != nil {
		return fmt.Errorf("app database: %w", err)
	}
	defer pool.Close()
	if err := migrateAndSeed(signals, pool); err != nil {
		return fmt.Errorf("app schema: %w", err)
	}

	config := dbos.Config{AppName: "saga-peer-dbos", Logger: logger}
	switch layout {
	case "split":
		// DBOS's default: its own pool on its own system database.
		config.DatabaseURL = sysURL
	case "shared":
		// The system tables (schema dbos) in the app database, through the very
		// pool the data source uses: each transaction step then commits the
		// business writes and the step's checkpoint in one transaction.
		config.SystemDBPool = pool
	default:
		return fmt.Errorf("unknown layout %q (split, shared)", layout)
	}
	dctx, err := dbos.NewContext(context.Background(), config)
	if err != nil {
		return fmt.Errorf("dbos: %w", err)
	}
	// split: a second database, so DBOS keeps a transaction_completion table in
	// the app database (schema dbos) written by each step's transaction.
	appDS, err = dbos.NewDataSource(dctx, pool, dbos.WithDataSourceName("app"))
	if err != nil {
		return fmt.Errorf("dbos data source: %w", err)
	}
	dbos.RegisterWorkflow(dctx, placeOrder)
	dbos.RegisterWorkflow(dctx, cancelOrder)
	if err := dbos.Launch(dctx); err != nil {
		return fmt.Errorf("dbos launch: %w", err)
	}
	defer dbos.Shutdown(dctx, 10*time.Second)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /order/{id}/place", func(w http.ResponseWriter, r *http.Request) { place(dctx, w, r) })
	mux.HandleFunc("POST /order/{id}/cancel", func(w http.ResponseWriter, r *http.Request) { cancel(dctx, w, r) })
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"layout": layout}) })
	server := &http.Server{Addr: listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	serveErr := make(chan error, 1)
	go func() { serveErr <- server.ListenAndServe() }()
	logger.Info("saga-peer-dbos serving", "listen", listen, "layout", layout)

	select {
	case err := <-serveErr:
		return err
	case <-signals.Done():
	}
	logger.Info("saga-peer-dbos stopping")
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShutdown()
	return server.Shutdown(shutdown)
}

var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

// pollEvery: how often a handle on a workflow this call did not start (a repeat,
// or the order a cancel waits for) looks for its result. DBOS's default is 1 s.
const pollEvery = 10 * time.Millisecond

func place(dctx dbos.Context, w http.ResponseWriter, r *http.Request) {
	orderID := r.PathValue("id")
	if !orderIDPattern.MatchString(orderID) {
		writeError(w, http.StatusBadRequest, "bad order id")
		return
	}
	var order Order
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&order); err != nil {
		writeError(w, http.StatusBadRequest, "bad body: "+err.Error())
		return
	}
	if msg := invalid(order); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	order.OrderID = orderID
	handle, err := dbos.RunWorkflow(dctx, placeOrder, order, dbos.WithWorkflowID(orderID))
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	answer(w, handle)
}

func cancel(dctx dbos.Context, w http.ResponseWriter, r *http.Request) {
	orderID := r.PathValue("id")
	if !orderIDPattern.MatchString(orderID) {
		writeError(w, http.StatusBadRequest, "bad order id")
		return
	}
	// The order's own saga first: a cancel waits for it to end.
	placed, err := dbos.RetrieveWorkflow[Outcome](dctx, orderID)
	if errors.Is(err, dbos.ErrNonExistentWorkflow) {
		writeError(w, http.StatusNotFound, "unknown order")
		return
	}
	if err == nil {
		_, err = placed.GetResult(dbos.WithHandlePollingInterval(pollEvery))
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	handle, err := dbos.RunWorkflow(dctx, cancelOrder, orderID, dbos.WithWorkflowID(orderID+":cancel"))
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	answer(w, handle)
}

func answer(w http.ResponseWriter, handle dbos.WorkflowHandle[Outcome]) {
	outcome, err := handle.GetResult(dbos.WithHandlePollingInterval(pollEvery))
	switch {
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	case outcome.Status == "":
		writeError(w, http.StatusNotFound, "unknown order")
	default:
		writeJSON(w, http.StatusOK, outcome)
	}
}

func invalid(o Order) string {
	if o.CustomerID == "" || o.Currency == "" || len(o.Items) == 0 {
		return "customer_id, currency and items are required"
	}
	for _, it := range o.Items {
		if it.SKU == "" || it.Quantity <= 0 || it.UnitPriceCents < 0 {
			return "every item needs a sku, a positive quantity and a unit_price_cents >= 0"
		}
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

# Shared by the scenario scripts. Source it. Every URL comes from the environment with
# the ports both stacks (native and compose) publish.
set -euo pipefail

ORDER_URL=${ORDER_URL:-http://127.0.0.1:8080}
PAYMENT_URL=${PAYMENT_URL:-http://127.0.0.1:8081}
INVENTORY_URL=${INVENTORY_URL:-http://127.0.0.1:8082}
JAEGER_URL=${JAEGER_URL:-http://127.0.0.1:16686}
SCENARIO_TIMEOUT=${SCENARIO_TIMEOUT:-60}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export ORDER_URL

# sagactl: $SAGACTL, else a built one, else through cargo.
if [ -z "${SAGACTL:-}" ]; then
  if [ -x "$REPO_ROOT/target/debug/sagactl" ]; then
    SAGACTL="$REPO_ROOT/target/debug/sagactl"
  else
    SAGACTL="cargo run -q --manifest-path $REPO_ROOT/Cargo.toml -p sagactl --"
  fi
fi

scenario=$(basename "$0" .sh)
step() { printf '[%s] %s\n' "$scenario" "$*"; }
fail() { printf '[%s] FAILED: %s\n' "$scenario" "$*" >&2; exit 1; }

# json FIELD: reads a field (python syntax, e.g. ['compensation']['payment']) from stdin.
json() { python3 -c "import json,sys; v=json.load(sys.stdin)$1; print('null' if v is None else v)"; }

# create_order CUSTOMER ITEM...: prints the new order's id.
create_order() {
  local customer=$1
  shift
  local items=()
  for item in "$@"; do items+=(--item "$item"); done
  $SAGACTL order create --customer "$customer" "${items[@]}" --idempotency-key "scenario-$scenario-$RANDOM-$RANDOM" --json | json "['order_id']"
}

order_field() { curl -fsS "$ORDER_URL/orders/$1" | json "$2"; }

# wait_for ORDER EXPECTED [FIELD]: polls until FIELD (default status) equals EXPECTED.
wait_for() {
  local order=$1 expected=$2 field=${3:-"['status']"} value=""
  local deadline=$((SECONDS + SCENARIO_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    value=$(order_field "$order" "$field" 2>/dev/null || true)
    [ "$value" = "$expected" ] && return 0
    sleep 0.3
  done
  fail "order $order: $field is '$value', expected '$expected' within ${SCENARIO_TIMEOUT}s"
}

# expect WHAT ACTUAL EXPECTED
expect() { [ "$2" = "$3" ] || fail "$1 is '$2', expected '$3'"; step "ok: $1 = $3"; }

balance() { curl -fsS "$PAYMENT_URL/accounts/$1" | json "['balance_cents']"; }
stock() { curl -fsS "$INVENTORY_URL/stock/$1" | json "['$2']"; }
payment_status() { curl -fsS "$PAYMENT_URL/payments/$1" | json "['status']"; }

# show ORDER: the final state, the history and where to see the trace.
show() {
  local order=$1
  step "final state:"
  $SAGACTL order show "$order" | sed 's/^/    /'
  step "history:"
  $SAGACTL order history "$order" | sed 's/^/    /'
  local trace_id
  trace_id=$(order_field "$order" "['trace_id']")
  step "trace $trace_id ($JAEGER_URL/trace/$trace_id):"
  sleep 1 # spans leave the services in batches
  $SAGACTL trace "$order" --jaeger-url "$JAEGER_URL" 2>&1 | sed 's/^/    /' || step "(the trace is not in Jaeger yet)"
}

# Shared by the scenario scripts (POSIX sh). Source it.
#
# SAGA_STACK says which stack they drive:
#   native   (default) the processes of scripts/dev; sagactl is $SAGACTL, else the
#            workspace's built one, else `cargo run`; URLs from ORDER_URL, PAYMENT_URL,
#            INVENTORY_URL, JAEGER_URL, defaulting to the published ports
#   compose  the stack of compose/compose.yaml ($COMPOSE_FILE, which Compose reads: one
#            file, or several joined by `:`, e.g. with compose/compose.secure.yaml for
#            the secure mode); sagactl runs in the stack's `sagactl` container, with the
#            compose network's names, so the host needs Docker and a POSIX shell, nothing else
# Every read of the stack goes through sagactl, so no curl or JSON tool is needed.
set -eu

SAGA_STACK=${SAGA_STACK:-native}
SCENARIO_TIMEOUT=${SCENARIO_TIMEOUT:-60}
REPO_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
COMPOSE_FILE=${COMPOSE_FILE:-$REPO_ROOT/compose/compose.yaml}
export COMPOSE_FILE
# Where a person opens the trace: the compose stack's Jaeger UI, published on the host.
JAEGER_UI=${JAEGER_UI:-http://127.0.0.1:16686}

scenario=$(basename "$0" .sh)
step() { printf '[%s] %s\n' "$scenario" "$*"; }
fail() { printf '[%s] FAILED: %s\n' "$scenario" "$*" >&2; exit 1; }

case "$SAGA_STACK" in
  native)
    if [ -z "${SAGACTL:-}" ]; then
      if [ -x "$REPO_ROOT/target/debug/sagactl" ]; then
        SAGACTL="$REPO_ROOT/target/debug/sagactl"
      else
        SAGACTL="cargo run -q --manifest-path $REPO_ROOT/Cargo.toml -p sagactl --"
      fi
    fi
    # shellcheck disable=SC2086 # SAGACTL may be a command with arguments
    sagactl() { $SAGACTL "$@"; }
    stop_service() { "$REPO_ROOT/scripts/dev" stop "$1"; }
    start_service() { "$REPO_ROOT/scripts/dev" start "$1"; }
    ;;
  compose)
    command -v docker >/dev/null 2>&1 || fail "SAGA_STACK=compose needs docker"
    sagactl() { docker compose exec -T sagactl sagactl "$@"; }
    stop_service() { docker compose stop "$1"; }
    start_service() { docker compose start "$1"; }
    ;;
  *) fail "SAGA_STACK is '$SAGA_STACK': native or compose" ;;
esac

# uuid: a random UUID (version 4) from /dev/urandom.
uuid() {
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' \
    | sed 's/^\(.\{8\}\)\(.\{4\}\).\(.\{3\}\).\(.\{3\}\)\(.\{12\}\)$/\1-\2-4\3-a\4-\5/'
}

# create_order CUSTOMER ITEM...: places an order (ITEM is sku:quantity:unit_price_cents)
# and prints its id.
create_order() {
  customer=$1
  shift
  items=""
  for item in "$@"; do items="$items --item $item"; done
  # shellcheck disable=SC2086 # items are words without spaces
  sagactl order create --customer "$customer" $items --idempotency-key "scenario-$scenario-$(uuid)" \
    | awk '$1 == "order_id" { print $2 }'
}

# order_field ORDER FIELD: one field of the order (dotted: compensation.payment).
order_field() { sagactl get order "/orders/$1" --field "$2"; }

# wait_for ORDER EXPECTED [FIELD]: until FIELD (default status) equals EXPECTED.
wait_for() {
  sagactl get order "/orders/$1" --field "${3:-status}" --until "$2" --timeout "$SCENARIO_TIMEOUT" >/dev/null \
    || fail "order $1: ${3:-status} did not become '$2' within ${SCENARIO_TIMEOUT}s"
}

# expect WHAT ACTUAL EXPECTED
expect() {
  [ "$2" = "$3" ] || fail "$1 is '$2', expected '$3'"
  step "ok: $1 = $3"
}

balance() { sagactl get payment "/accounts/$1" --field balance_cents; }
stock() { sagactl get inventory "/stock/$1" --field "$2"; }
payment_status() { sagactl get payment "/payments/$1" --field status; }

# show ORDER: the final state, the history and where to see the trace.
show() {
  step "final state:"
  sagactl order show "$1" | sed 's/^/    /'
  step "history:"
  sagactl order history "$1" | sed 's/^/    /'
  trace_id=$(order_field "$1" trace_id)
  if [ "$SAGA_STACK" = compose ]; then
    step "trace $trace_id: open $JAEGER_UI/trace/$trace_id (Jaeger UI), or read it here:"
  else
    step "trace $trace_id (the native Jaeger has a UI only where scripts/infra found its assets; the compose stack's is at $JAEGER_UI):"
  fi
  sleep 1 # spans leave the services in batches
  sagactl trace "$1" 2>&1 | sed 's/^/    /' || step "(the trace is not in Jaeger yet)"
}

#!/bin/sh
# inventory is stopped (its process natively, its container under compose), so the
# order stays pending until its deadline cancels it; when inventory comes back, it
# reserves nothing for it and the charge is refunded. The deadline is the stack's
# SAGA_DEADLINE; DEADLINE_WAIT (default 45 s) is how long this waits for it.
. "$(dirname "$0")/lib.sh"
DEADLINE_WAIT=${DEADLINE_WAIT:-45}
balance_before=$(balance c-rich)
reserved_before=$(stock sku-widget reserved)
stop_service inventory
trap 'start_service inventory >/dev/null 2>&1 || true' EXIT
order=$(create_order c-rich sku-widget:1:333)
step "order $order placed with inventory stopped"
SCENARIO_TIMEOUT=$DEADLINE_WAIT wait_for "$order" cancelled
expect "cancel reason" "$(order_field "$order" cancel_reason)" deadline
wait_for "$order" refunded compensation.payment
start_service inventory
trap - EXIT
# Inventory reads the payment and the cancellation from two topics, in either order:
# it reserves nothing, or reserves and releases. Either way nothing stays held.
stock_outcome=pending
deadline=$(($(date +%s) + SCENARIO_TIMEOUT))
while [ "$stock_outcome" = pending ] && [ "$(date +%s)" -lt "$deadline" ]; do
  sleep 0.3
  stock_outcome=$(order_field "$order" compensation.stock)
done
case "$stock_outcome" in
  nothing_held | released) step "ok: stock compensation = $stock_outcome" ;;
  *) fail "stock compensation is '$stock_outcome'" ;;
esac
expect "balance of c-rich" "$(balance c-rich)" "$balance_before"
expect "sku-widget reserved" "$(stock sku-widget reserved)" "$reserved_before"
show "$order"

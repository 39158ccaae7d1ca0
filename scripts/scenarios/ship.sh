#!/bin/sh
# A confirmed order ships: its reservation moves to shipped.
. "$(dirname "$0")/lib.sh"
shipped_before=$(stock sku-widget shipped)
order=$(create_order c-rich sku-widget:1:999)
step "order $order placed"
wait_for "$order" confirmed
sagactl order ship "$order" --tracking "TRK-$(uuid | cut -c1-8)" >/dev/null
wait_for "$order" shipped
sagactl get inventory /stock/sku-widget --field shipped --until $((shipped_before + 1)) --timeout "$SCENARIO_TIMEOUT" >/dev/null \
  || fail "sku-widget shipped did not become $((shipped_before + 1))"
step "ok: sku-widget shipped = $((shipped_before + 1))"
show "$order"

#!/usr/bin/env bash
# A confirmed order ships: its reservation moves to shipped.
source "$(dirname "$0")/lib.sh"
shipped_before=$(stock sku-widget shipped)
order=$(create_order c-rich sku-widget:1:999)
step "order $order placed"
wait_for "$order" confirmed
$SAGACTL order ship "$order" --tracking "TRK-$RANDOM" >/dev/null
wait_for "$order" shipped
deadline=$((SECONDS + SCENARIO_TIMEOUT))
until [ "$(stock sku-widget shipped)" = $((shipped_before + 1)) ] || [ $SECONDS -ge $deadline ]; do sleep 0.3; done
expect "sku-widget shipped" "$(stock sku-widget shipped)" $((shipped_before + 1))
show "$order"

#!/bin/sh
# A rich customer orders what is in stock: charged, reserved, confirmed.
. "$(dirname "$0")/lib.sh"
balance_before=$(balance c-rich)
reserved_before=$(stock sku-widget reserved)
order=$(create_order c-rich sku-widget:2:1299)
step "order $order placed"
wait_for "$order" confirmed
expect "payment" "$(payment_status "$order")" captured
expect "balance of c-rich" "$(balance c-rich)" $((balance_before - 2598))
expect "sku-widget reserved" "$(stock sku-widget reserved)" $((reserved_before + 2))
show "$order"

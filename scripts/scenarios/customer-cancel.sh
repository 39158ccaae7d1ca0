#!/bin/sh
# The customer cancels a confirmed order: the charge is refunded, the stock released.
. "$(dirname "$0")/lib.sh"
balance_before=$(balance c-rich)
available_before=$(stock sku-gadget available)
order=$(create_order c-rich sku-gadget:3:450)
step "order $order placed"
wait_for "$order" confirmed
sagactl order cancel "$order" >/dev/null
step "cancelled by the customer"
wait_for "$order" refunded compensation.payment
wait_for "$order" released compensation.stock
expect "cancel reason" "$(order_field "$order" cancel_reason)" customer
expect "balance of c-rich" "$(balance c-rich)" "$balance_before"
expect "sku-gadget available" "$(stock sku-gadget available)" "$available_before"
show "$order"

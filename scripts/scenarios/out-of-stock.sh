#!/bin/sh
# Paid for, but sku-soldout has no stock: cancelled, and the charge refunded.
. "$(dirname "$0")/lib.sh"
balance_before=$(balance c-rich)
order=$(create_order c-rich sku-soldout:1:700)
step "order $order placed"
wait_for "$order" cancelled
expect "cancel reason" "$(order_field "$order" cancel_reason)" out_of_stock
wait_for "$order" refunded compensation.payment
wait_for "$order" nothing_held compensation.stock
expect "payment" "$(payment_status "$order")" refunded
expect "balance of c-rich" "$(balance c-rich)" "$balance_before"
show "$order"

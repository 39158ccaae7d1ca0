#!/bin/sh
# The bank declines every charge of c-declined: the order is cancelled, nothing moved.
. "$(dirname "$0")/lib.sh"
balance_before=$(balance c-declined)
order=$(create_order c-declined sku-widget:1:500)
step "order $order placed"
wait_for "$order" cancelled
expect "cancel reason" "$(order_field "$order" cancel_reason)" payment_declined
wait_for "$order" nothing_to_refund compensation.payment
wait_for "$order" nothing_held compensation.stock
expect "balance of c-declined" "$(balance c-declined)" "$balance_before"
show "$order"

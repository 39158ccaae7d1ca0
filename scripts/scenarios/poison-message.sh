#!/bin/sh
# A malformed message on order-events lands in payment-service's DLQ, the consumer goes
# on with the next order, and the script discards that message, which is then settled.
. "$(dirname "$0")/lib.sh"
key=$(uuid)
event_id=$(uuid)
now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
sagactl inject --topic order-events --key "$key" --value '{"order_id": "not json' \
  --header ce_specversion=1.0 --header "ce_id=$event_id" --header ce_type=order.created.v1 \
  --header ce_source=/scenario --header "ce_time=$now" --header content-type=application/json \
  --header "correlation-id=$event_id" --header "causation-id=$event_id" >/dev/null
step "injected a malformed order.created with key $key"

deadline=$(($(date +%s) + SCENARIO_TIMEOUT))
until listing=$(sagactl dlq list --group payment-service) && case "$listing" in *poison*) true ;; *) false ;; esac; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the malformed message did not reach payment-service.dlq"
  sleep 0.5
done
step "it is in payment-service.dlq:"
printf '%s\n' "$listing" | sed 's/^/    /'

# The consumer goes on: the next order completes.
order=$(create_order c-rich sku-widget:1:250)
wait_for "$order" confirmed
step "ok: the next order ($order) was confirmed behind it"

sagactl dlq discard --group payment-service --filter "key=$key" --filter class=poison --reason "scenario poison-message" >/dev/null
# Only this scenario's message is judged: other letters may be dead-lettered, and stay.
left=$(sagactl dlq discard --group payment-service --filter "key=$key" --reason check --dry-run)
expect "unsettled letters with key $key" "$left" "no unsettled dead letter matches"
show "$order"

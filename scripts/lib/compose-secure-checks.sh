# The refusals of the secure compose stack (compose/compose.secure.yaml), checked by
# `scripts/compose-test --secure` once every scenario passed as the operator: as
# scripts/secure-e2e does natively, each link refuses who must be refused. Sourced by
# compose-test (compose, in_stack, say, die, $OUT); do not run it.

# secure_checks: HTTPS and tokens from the host, payment's Kafka principal and
# PostgreSQL role where they have no right, and secure-init run again keeping everything.
secure_checks() {
  local ca="$OUT/ca.pem" body="$OUT/body.json" rich poor order out
  in_stack cat /secure/ca.pem >"$ca"
  rich=$(in_stack sagactl token --customer c-rich)
  poor=$(in_stack sagactl token --customer c-poor)

  # call TOKEN METHOD URL [BODY]: the status code; the body is in $body.
  call() {
    local args=(-sS -o "$body" -w '%{http_code}' --cacert "$ca" -X "$2" "$3")
    [ -z "$1" ] || args+=(-H "Authorization: Bearer $1")
    [ -z "${4:-}" ] || args+=(-H 'content-type: application/json' --data "$4")
    curl "${args[@]}"
  }
  expect_status() {
    local want=$1 what=$2 got
    shift 2
    got=$(call "$@")
    [ "$got" = "$want" ] || die "$what: HTTP $got, expected $want: $(head -c 300 "$body")"
    say "ok: $what: $want"
  }
  order_body() { echo "{\"customer_id\":\"$1\",\"items\":[{\"sku\":\"sku-widget\",\"quantity\":1,\"unit_price_cents\":100}],\"currency\":\"EUR\"}"; }

  # ---- HTTP, from the host: the published ports answer HTTPS with the stack's CA
  expect_status 202 "c-rich orders for itself" "$rich" POST https://127.0.0.1:8080/orders "$(order_body c-rich)"
  order=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["order_id"])' "$body")
  in_stack sagactl get order "/orders/$order" --field status --until confirmed --timeout 60 >/dev/null \
    || die "c-rich's order $order was not confirmed"
  expect_status 401 "no token" "" GET "https://127.0.0.1:8080/orders/$order"
  expect_status 403 "c-poor reads c-rich's order" "$poor" GET "https://127.0.0.1:8080/orders/$order"
  expect_status 403 "c-poor orders for c-rich" "$poor" POST https://127.0.0.1:8080/orders "$(order_body c-rich)"
  expect_status 403 "c-rich ships" "$rich" POST "https://127.0.0.1:8080/orders/$order/ship" '{"tracking_number":"T-1"}'
  expect_status 403 "c-poor reads c-rich's account" "$poor" GET https://127.0.0.1:8081/accounts/c-rich
  expect_status 200 "the probes stay open" "" GET https://127.0.0.1:8082/readyz
  if curl -fsS -o /dev/null http://127.0.0.1:8080/readyz 2>/dev/null; then die "plain HTTP was served"; fi
  say "ok: plain HTTP gets no answer"

  # ---- Kafka: payment-service's credentials, in its own container, cannot forge inventory's events
  if out=$(compose exec -T payment sagactl inject --topic inventory-events --key "$order" \
    --header ce_type=stock.reserved --value "{\"order_id\":\"$order\"}" 2>&1); then
    die "payment-service wrote inventory-events: $out"
  fi
  grep -q TopicAuthorizationFailed <<<"$out" || die "the forged stock.reserved failed, but not on authorization: $out"
  say "ok: a stock.reserved forged with payment-service's credentials: TopicAuthorizationFailed"

  # ---- PostgreSQL: payment's role cannot reach inventory's database; no TLS, no entry
  psql_as_payment() {
    compose exec -T postgres sh -c 'PGPASSWORD=$(cat /secure/pg-secure-secrets/payment_service.password) \
      psql "postgres://payment_service@postgres:5432/$1" -tAc "SELECT 1"' sh "$1" 2>&1
  }
  out=$(psql_as_payment "payments?sslmode=verify-full&sslrootcert=/secure/ca.pem") || die "payment_service could not reach payments: $out"
  if out=$(psql_as_payment "inventory?sslmode=verify-full&sslrootcert=/secure/ca.pem"); then
    die "payment_service connected to the inventory database"
  fi
  grep -q "permission denied for database" <<<"$out" || die "payment_service was refused inventory, but not by CONNECT: $out"
  say "ok: payment_service reaches payments, and is refused inventory: permission denied"
  if out=$(psql_as_payment "payments?sslmode=disable"); then die "PostgreSQL took a connection without TLS"; fi
  grep -q "no pg_hba.conf entry" <<<"$out" || die "a connection without TLS was refused, but not by pg_hba: $out"
  say "ok: PostgreSQL without TLS: no pg_hba.conf entry"

  # ---- secure-init again: idempotent, the CA and every credential kept
  compose run --rm --no-deps secure-init >"$OUT/secure-init-again.log" 2>&1 || die "secure-init failed on its second run"
  ! grep -q Making "$OUT/secure-init-again.log" || die "secure-init made something again: $(grep Making "$OUT/secure-init-again.log")"
  in_stack cat /secure/ca.pem | cmp -s - "$ca" || die "secure-init's second run changed the CA"
  say "ok: secure-init run again keeps the CA, the certificates and the passwords"
}

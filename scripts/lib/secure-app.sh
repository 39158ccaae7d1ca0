# The services' and sagactl's side of the secure mode (issue 17, docs/security.md):
# what scripts/dev gives each service, and what a person or script needs to call the
# secure stack. Sourced by scripts/dev after kafka.sh and postgres.sh; the broker,
# PostgreSQL and Jaeger parts are theirs (kafka-secure.sh, postgres-secure.sh, infra).
#
#   $SAGA_STATE/app-secure/ (0700)   http.pem, http.key: the services' HTTPS certificate
#                                    (the local CA's); token.key, token.pub: the Ed25519
#                                    pair that signs and verifies bearer tokens
#   $SAGA_SECURE_DIR/auth/token.key  the signing key, for `sagactl token` (0600)
#   $SAGA_SECURE_DIR/env             sourceable: sagactl as the operator principal of
#                                    every link (Kafka's sagactl, PostgreSQL's read-only
#                                    sagactl_verify, https URLs, the CA, the signing key)

secure_app_dir() { echo "$SAGA_STATE/app-secure"; }

# stack_secure: the native stack runs in the secure mode (scripts/infra up --secure).
stack_secure() { kafka_secure && postgres_secure; }

# http_scheme: https in the secure mode, else http.
http_scheme() { if stack_secure; then echo https; else echo http; fi; }

# secure_app_files: the HTTPS certificate, the token keys, and the client files.
secure_app_files() {
  local dir
  dir=$(secure_app_dir)
  mkdir -p "$dir" "$SAGA_SECURE_DIR/auth"
  chmod 700 "$dir" "$SAGA_SECURE_DIR/auth"
  tls_server_cert "$dir/http" saga-services DNS:order DNS:payment DNS:inventory
  if [ ! -s "$dir/token.key" ]; then
    say "Making the Ed25519 key that signs bearer tokens ..."
    (umask 077 && openssl genpkey -algorithm ed25519 -out "$dir/token.key") || die "openssl could not make the token key"
  fi
  openssl pkey -in "$dir/token.key" -pubout -out "$dir/token.pub" 2>/dev/null || die "the token key is unreadable"
  secure_write "$SAGA_SECURE_DIR/auth/token.key" <"$dir/token.key"
  tls_clients_ca
  secure_sagactl_env | secure_write "$SAGA_SECURE_DIR/env"
}

# secure_service_env SVC: the settings of service SVC in the secure mode, one
# NAME=VALUE a line (files only: no secret is in the environment).
secure_service_env() {
  local svc=$1 dir
  dir=$(secure_app_dir)
  cat <<ENV
KAFKA_CLIENT_PROPERTIES_FILE=$SAGA_SECURE_DIR/kafka/$svc-service.properties
DATABASE_URL=$(cat "$SAGA_SECURE_DIR/postgres/${svc}_service.url")
DATABASE_PASSWORD_FILE=$SAGA_SECURE_DIR/postgres/${svc}_service.password
AUTH_PUBLIC_KEY_FILES=$dir/token.pub
HTTP_TLS_CERT_FILE=$dir/http.pem
HTTP_TLS_KEY_FILE=$dir/http.key
OTEL_EXPORTER_OTLP_ENDPOINT=https://127.0.0.1:$JAEGER_OTLP_GRPC_PORT
OTEL_EXPORTER_OTLP_CERTIFICATE=$SAGA_SECURE_DIR/ca.pem
ENV
}

# secure_sagactl_env: `source .dev/secure/env`, then sagactl works against the secure
# stack (a token still comes from `sagactl token`, into SAGA_TOKEN).
secure_sagactl_env() {
  local verify="$SAGA_SECURE_DIR/postgres/sagactl_verify" name value
  echo "# Written by scripts/dev up --secure: sagactl against the secure native stack."
  echo "# Then: export SAGA_TOKEN=\$(sagactl token --operator)   (or --customer <id>)"
  while read -r name value; do
    printf 'export %s=%q\n' "$name" "$value"
  done <<ENV
KAFKA_BOOTSTRAP_SERVERS $(kafka_bootstrap)
KAFKA_CLIENT_PROPERTIES_FILE $SAGA_SECURE_DIR/kafka/sagactl.properties
SAGA_CA_FILE $SAGA_SECURE_DIR/ca.pem
AUTH_PRIVATE_KEY_FILE $SAGA_SECURE_DIR/auth/token.key
ORDER_URL https://127.0.0.1:8080
PAYMENT_URL https://127.0.0.1:8081
INVENTORY_URL https://127.0.0.1:8082
ORDERS_DATABASE_URL $(cat "$verify.orders.url")
PAYMENTS_DATABASE_URL $(cat "$verify.payments.url")
INVENTORY_DATABASE_URL $(cat "$verify.inventory.url")
DATABASE_PASSWORD_FILE $verify.password
ENV
}

# secure_app_forget: removes the client files secure_app_files wrote.
secure_app_forget() {
  rm -f "$SAGA_SECURE_DIR/auth/token.key" "$SAGA_SECURE_DIR/env"
  rmdir "$SAGA_SECURE_DIR/auth" 2>/dev/null || true
}

#!/usr/bin/env bash
# secure-init, the one-shot container of compose/compose.secure.yaml: makes what the
# secure mode's containers need, and gives each container a volume of its own that
# holds only what that container needs. Runs as root in the services image (it has
# openssl), before anything else starts; idempotent: what it made once is kept.
#
#   /secure (volume secure: this container's alone)
#     tls/ca.pem, ca.key      the stack's own CA (scripts/lib/tls.sh, as natively: EC P-256,
#                             ten years), and tls/<name>.pem, .key: the certificates it
#                             signs, made again within 30 days of their end
#     passwords/<name>        Kafka's SCRAM principals and PostgreSQL's roles:
#                             48 random hex characters each, made once
#     token.key, token.pub    the Ed25519 pair that signs and verifies bearer tokens
#   /out/<container> (volume secure-<container>, mounted at /secure by it), owned by the
#   user its image runs as (apache/kafka: 1000, postgres: 999, jaeger and the services
#   image: 10001), files 0400 but ca.pem:
#     kafka      ca.pem, broker-keystore.pem, <principal>.password (every SCRAM user,
#                made at format time), admin.properties (the Java tools, as admin)
#     postgres   ca.pem, server.pem, server.key, pg-secure-secrets/<role>.password (the
#                layout of postgres-secure.sh, which makes the roles)
#     jaeger     otlp.pem, otlp.key (scripts/jaeger/config-tls.yaml)
#     order, payment, inventory
#                ca.pem, http.pem, http.key, token.pub, kafka.password (its principal),
#                postgres.password (its role)
#     sagactl    ca.pem, kafka.password (principal sagactl), postgres.password
#                (sagactl_verify, read-only), token.key (sagactl token)
# The names of principals and roles come from scripts/lib/kafka-secure.sh and
# postgres-secure.sh, mounted at /saga/lib with tls.sh and common.sh.
set -euo pipefail
export SAGA_STATE=/secure
source /saga/lib/common.sh
source /saga/lib/kafka-secure.sh   # tls.sh too: tls_ca, tls_server_cert, secure_write
source /saga/lib/postgres-secure.sh
umask 077

# password NAME: the path of NAME's password, made once.
password() {
  local file=/secure/passwords/$1
  [ -s "$file" ] || openssl rand -hex 24 | tr -d '\n' | secure_write "$file"
  echo "$file"
}

# give CONTAINER UID SOURCE NAME [MODE]: SOURCE as NAME in CONTAINER's volume, owned by UID.
give() {
  local dir=/out/$1
  mkdir -p "$(dirname "$dir/$4")"
  chown "$2:$2" "$dir" "$(dirname "$dir/$4")"
  chmod 700 "$dir" "$(dirname "$dir/$4")"
  install -o "$2" -g "$2" -m "${5:-0400}" "$3" "$dir/$4"
}

mkdir -p /secure/passwords
chmod 700 /secure /secure/passwords
tls_ca
ca=$(tls_ca_pem)

# ---- Kafka: the broker's certificate (also its client certificate on the controller
# listener, a super user there as CN=kafka-broker), and every principal's password.
KAFKA_UID=1000
tls_server_cert --client "$SAGA_TLS_DIR/kafka" "$KAFKA_BROKER_CN" DNS:kafka
cat "$SAGA_TLS_DIR/kafka.key" "$SAGA_TLS_DIR/kafka.pem" "$ca" >/secure/kafka-keystore.pem
give kafka $KAFKA_UID /secure/kafka-keystore.pem broker-keystore.pem
give kafka $KAFKA_UID "$ca" ca.pem 0444
for principal in "${KAFKA_PRINCIPALS[@]}"; do
  give kafka $KAFKA_UID "$(password "kafka-$principal")" "$principal.password"
done
cat >/secure/admin.properties <<PROPS
# Written by compose/secure/init.sh: Kafka's Java tools as admin (topics, ACLs, health).
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(cat "$(password kafka-admin)")";
ssl.truststore.type=PEM
ssl.truststore.location=/secure/ca.pem
PROPS
give kafka $KAFKA_UID /secure/admin.properties admin.properties

# ---- PostgreSQL: its certificate and the roles' passwords.
POSTGRES_UID=999
tls_server_cert "$SAGA_TLS_DIR/postgres" postgres DNS:postgres
give postgres $POSTGRES_UID "$ca" ca.pem 0444
give postgres $POSTGRES_UID "$SAGA_TLS_DIR/postgres.pem" server.pem
give postgres $POSTGRES_UID "$SAGA_TLS_DIR/postgres.key" server.key
for role in "${POSTGRES_SERVICE_ROLES[@]}" "$POSTGRES_VERIFY_ROLE"; do
  give postgres $POSTGRES_UID "$(password "$role")" "pg-secure-secrets/$role.password"
done

# ---- Jaeger: the OTLP receivers' certificate.
JAEGER_UID=10001
tls_server_cert "$SAGA_TLS_DIR/jaeger" jaeger DNS:jaeger
give jaeger $JAEGER_UID "$SAGA_TLS_DIR/jaeger.pem" otlp.pem
give jaeger $JAEGER_UID "$SAGA_TLS_DIR/jaeger.key" otlp.key

# ---- The token keys.
if [ ! -s /secure/token.key ]; then
  say "Making the Ed25519 key that signs bearer tokens ..."
  openssl genpkey -algorithm ed25519 -out /secure/token.key
fi
openssl pkey -in /secure/token.key -pubout -out /secure/token.pub

# ---- The services (order-2 and the like use their first instance's volume) and sagactl.
SAGA_UID=10001
services=(order payment inventory)
for i in "${!services[@]}"; do
  svc=${services[$i]}
  tls_server_cert "$SAGA_TLS_DIR/$svc" "$svc-service" "DNS:$svc" "DNS:$svc-2"
  give "$svc" $SAGA_UID "$ca" ca.pem 0444
  give "$svc" $SAGA_UID "$SAGA_TLS_DIR/$svc.pem" http.pem
  give "$svc" $SAGA_UID "$SAGA_TLS_DIR/$svc.key" http.key
  give "$svc" $SAGA_UID /secure/token.pub token.pub
  give "$svc" $SAGA_UID "$(password "kafka-$svc-service")" kafka.password
  give "$svc" $SAGA_UID "$(password "${POSTGRES_SERVICE_ROLES[$i]}")" postgres.password
done
give sagactl $SAGA_UID "$ca" ca.pem 0444
give sagactl $SAGA_UID "$(password kafka-sagactl)" kafka.password
give sagactl $SAGA_UID "$(password "$POSTGRES_VERIFY_ROLE")" postgres.password
give sagactl $SAGA_UID /secure/token.key token.key

certificates=("$SAGA_TLS_DIR"/*.pem)
passwords=(/secure/passwords/*)
say "secure-init: the CA, $((${#certificates[@]} - 1)) certificates, ${#passwords[@]} passwords and the token keys are ready (kept in the volume secure)."

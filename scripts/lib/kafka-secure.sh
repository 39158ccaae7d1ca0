# Kafka's secure mode for scripts/infra (issue 17): `scripts/infra up --secure` runs the
# single broker with SASL/SCRAM-SHA-512 over TLS for clients, one SCRAM principal per
# service, and least-privilege ACLs (scripts/kafka/acls.txt); `--plain` returns to the
# default mode. Sourced by kafka.sh.
#
# The mode chosen last is kept in $SAGA_STATE/kafka-security (`secure`; absent or `plain`
# is the default mode; tls.sh), beside the --brokers mode file, so that a bare
# `scripts/infra up` keeps what runs. The secure mode has one broker, node `kafka` on the same ports as the
# plain one (9092, controller 9093), its state apart in $SAGA_STATE/kafka-secure (0700):
#   server.properties, data/, cluster-id   the broker (server.properties holds admin's
#                                         password for the inter-broker login: 0600)
#   tls/broker.pem, broker.key             the broker's certificate, signed by the local
#                                         CA that every secure link shares (tls.sh)
#   tls/broker-keystore.pem                the broker's key and certificate chain (PEM keystore)
#   secrets/<principal>.password           the SCRAM passwords, random, 0600
#   admin.properties                       the Java client settings of the scripts' tools
# What a client needs is written to $SAGA_SECURE_DIR (.dev/secure): ca.pem and
# kafka/<principal>.properties (librdkafka names); they are removed on the way back to
# plain, so .dev/secure exists exactly when the secure mode is chosen.
#
# Listeners: SASL_SSL on 127.0.0.1:$KAFKA_PORT for every client and for the broker's own
# inter-broker login (as admin); the controller listener is SSL with client certificates
# required (only the broker's own certificate, signed by the local CA, gets in). It cannot
# stay PLAINTEXT: the broker registers with its controller over it, which needs
# CLUSTER_ACTION, so its PLAINTEXT principal User:ANONYMOUS would have to be a super
# user, and since KIP-919 an admin client may talk to a controller directly: every
# local process reaching :9093 would hold every right. SCRAM is no option there either
# (the controller keeps the SCRAM credentials in the metadata it serves).

source "$(dirname "${BASH_SOURCE[0]}")/tls.sh"

# Every SCRAM principal: admin (super user, the scripts' own tools), the three services,
# and sagactl, the operator's.
KAFKA_PRINCIPALS=(admin order-service payment-service inventory-service sagactl)
# The subject of the broker's certificate: its principal on the controller listener.
KAFKA_BROKER_CN=kafka-broker

kafka_security() { part_security kafka; }
kafka_secure() { [ "$(kafka_security)" = secure ]; }
kafka_secure_dir() { echo "$SAGA_STATE/kafka-secure"; }
kafka_admin_properties() { echo "$(kafka_secure_dir)/admin.properties"; }
kafka_password() { cat "$(kafka_secure_dir)/secrets/$1.password"; }

# kafka_security_switch plain|secure: makes it the chosen mode, stopping the Kafka nodes
# of the other. The secure mode runs one broker: a cluster is switched to one.
kafka_security_switch() {
  local mode=$1
  case "$mode" in plain | secure) ;; *) die "unknown Kafka mode '$mode' (plain | secure)" ;; esac
  if [ "$mode" = secure ] && [ "$(kafka_brokers)" != 1 ]; then
    say "The secure mode runs one broker."
    kafka_switch 1
  fi
  [ "$mode" = "$(kafka_security)" ] && return 0
  say "Switching Kafka from the $(kafka_security) to the $mode mode ..."
  kafka_stop
  part_security_set kafka "$mode"
  [ "$mode" = secure ] || kafka_secure_forget_clients
}

# kafka_secure_credentials: the CA, the broker's certificate and the passwords, made
# once and kept; the client settings files, written again from them every time.
kafka_secure_credentials() {
  local dir name
  dir=$(kafka_secure_dir)
  mkdir -p "$dir/tls" "$dir/secrets"
  chmod 700 "$dir" "$dir/secrets"
  kafka_secure_tls "$dir/tls"
  for name in "${KAFKA_PRINCIPALS[@]}"; do
    if [ ! -s "$dir/secrets/$name.password" ]; then
      # Users are made when the storage is formatted: a password made later matches none.
      [ ! -f "$dir/data/meta.properties" ] \
        || die "$dir/secrets/$name.password is gone but the secure broker's users are made; to start afresh: scripts/infra down, rm -r $dir"
      (umask 077 && openssl rand -hex 24 >"$dir/secrets/$name.password")
    fi
  done
  secure_write "$(kafka_admin_properties)" <<PROPS
# Written by scripts/infra: the Java client settings of the scripts' Kafka tools (admin).
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(kafka_password admin)";
ssl.truststore.type=PEM
ssl.truststore.location=$(tls_ca_pem)
PROPS
  kafka_secure_clients
}

# kafka_secure_tls DIR: the broker's certificate (for 127.0.0.1, localhost and compose's
# `kafka`, also a client certificate for the controller listener), signed by the shared
# local CA, and the PEM keystore the broker reads: its key and certificate chain.
kafka_secure_tls() {
  local tls=$1
  tls_server_cert --client "$tls/broker" "$KAFKA_BROKER_CN" DNS:kafka
  cat "$tls/broker.key" "$tls/broker.pem" "$(tls_ca_pem)" | secure_write "$tls/broker-keystore.pem"
}

# kafka_secure_listeners PORT CONTROLLER_PORT: the server.properties lines of the secure
# mode's listeners, TLS and authorizer.
kafka_secure_listeners() {
  local dir
  dir=$(kafka_secure_dir)
  cat <<PROPS
# Secure mode (scripts/lib/kafka-secure.sh): SASL/SCRAM over TLS for clients, mutual TLS
# on the controller listener, ACLs from scripts/kafka/acls.txt.
listeners=SASL_SSL://127.0.0.1:$1,CONTROLLER://127.0.0.1:$2
advertised.listeners=SASL_SSL://127.0.0.1:$1
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(kafka_password admin)";
ssl.keystore.type=PEM
ssl.keystore.location=$dir/tls/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$(tls_ca_pem)
listener.name.controller.ssl.client.auth=required
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:CN=$KAFKA_BROKER_CN
PROPS
}

# kafka_secure_format NODE DIR CLUSTER_ID: formats the node's storage with every
# principal's SCRAM credential. The arguments go through a java @argfile (0600, removed
# after), so that no password shows on a command line.
kafka_secure_format() {
  local node=$1 dir=$2 args name code=0
  args="$dir/secrets/format.args"
  (
    umask 077
    {
      printf '%s\n' kafka.tools.StorageTool format -t "$3" -c "$dir/server.properties"
      for name in "${KAFKA_PRINCIPALS[@]}"; do
        printf '%s\n' --add-scram "SCRAM-SHA-512=[name=$name,password=$(kafka_password "$name")]"
      done
    } >"$args"
  )
  "$(java_bin)" -cp "$(kafka_libs)/*" -Dlog4j2.configurationFile="$REPO_ROOT/scripts/kafka/log4j2-tools.properties" \
    "@$args" >>"$(kafka_log_of "$node")" 2>&1 || code=$?
  rm -f "$args"
  [ $code = 0 ] || die "formatting $node's storage failed; see $(kafka_log_of "$node")"
}

# kafka_secure_clients: what a client needs, in $SAGA_SECURE_DIR: the CA, and one
# librdkafka properties file per principal (its own password only).
kafka_secure_clients() {
  local name
  mkdir -p "$SAGA_SECURE_DIR/kafka"
  chmod 700 "$SAGA_SECURE_DIR" "$SAGA_SECURE_DIR/kafka"
  tls_clients_ca
  for name in "${KAFKA_PRINCIPALS[@]}"; do
    secure_write "$SAGA_SECURE_DIR/kafka/$name.properties" <<PROPS
# Written by scripts/infra: Kafka client settings of principal $name (librdkafka names),
# for the secure broker at $(kafka_bootstrap).
security.protocol=SASL_SSL
sasl.mechanisms=SCRAM-SHA-512
sasl.username=$name
sasl.password=$(kafka_password "$name")
ssl.ca.location=$SAGA_SECURE_DIR/ca.pem
PROPS
  done
}

# Removes only the files kafka_secure_clients writes (SAGA_SECURE_DIR may be anything).
kafka_secure_forget_clients() {
  local name
  for name in "${KAFKA_PRINCIPALS[@]}"; do rm -f "$SAGA_SECURE_DIR/kafka/$name.properties"; done
  rmdir "$SAGA_SECURE_DIR/kafka" 2>/dev/null || true
  tls_forget_clients_ca
}

# The ACL table, made true on the broker: missing ACLs created, others removed.
kafka_acls() {
  kafka_tool EnsureAcls.java "$(kafka_bootstrap)" "$REPO_ROOT/scripts/kafka/acls.txt" >&2 \
    || die "setting the ACLs failed"
}

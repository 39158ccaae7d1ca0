# Kafka's secure mode for scripts/infra (issue 17): `scripts/infra up --secure` runs the
# single broker with SASL/SCRAM-SHA-512 over TLS for clients, one SCRAM principal per
# service, and least-privilege ACLs (scripts/kafka/acls.txt); `--plain` returns to the
# default mode. Sourced by kafka.sh.
#
# The mode chosen last is kept in $SAGA_STATE/kafka-security (`secure`; absent or `plain`
# is the default mode), beside the --brokers mode file, so that a bare `scripts/infra up`
# keeps what runs. The secure mode has one broker, node `kafka` on the same ports as the
# plain one (9092, controller 9093), its state apart in $SAGA_STATE/kafka-secure (0700):
#   server.properties, data/, cluster-id   the broker (server.properties holds admin's
#                                         password for the inter-broker login: 0600)
#   tls/ca.pem, ca.key                     the local CA that signs the broker's certificate
#   tls/broker-keystore.pem                the broker's key and certificate (PEM keystore)
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

KAFKA_SECURITY_FILE="$SAGA_STATE/kafka-security"
SAGA_SECURE_DIR=${SAGA_SECURE_DIR:-$REPO_ROOT/.dev/secure}
# Every SCRAM principal: admin (super user, the scripts' own tools), the three services,
# and sagactl, the operator's.
KAFKA_PRINCIPALS=(admin order-service payment-service inventory-service sagactl)
# The subject of the broker's certificate: its principal on the controller listener.
KAFKA_BROKER_CN=kafka-broker

kafka_security() {
  local mode
  mode=$(cat "$KAFKA_SECURITY_FILE" 2>/dev/null || echo plain)
  echo "${mode:-plain}"
}
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
  mkdir -p "$SAGA_STATE"
  echo "$mode" >"$KAFKA_SECURITY_FILE"
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
  kafka_secure_write "$(kafka_admin_properties)" <<PROPS
# Written by scripts/infra: the Java client settings of the scripts' Kafka tools (admin).
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(kafka_password admin)";
ssl.truststore.type=PEM
ssl.truststore.location=$dir/tls/ca.pem
PROPS
  kafka_secure_clients
}

# kafka_secure_write FILE: stdin to FILE, readable by its owner alone.
kafka_secure_write() { (umask 077 && cat >"$1.tmp") && chmod 600 "$1.tmp" && mv -f "$1.tmp" "$1"; }

# kafka_secure_tls DIR: a local CA (ten years) and the broker's certificate (two years,
# for 127.0.0.1, localhost and compose's `kafka`), both EC P-256, in PEM. The broker's
# certificate is made again when it expires within 30 days; the CA is kept.
kafka_secure_tls() {
  local tls=$1
  if [ ! -s "$tls/ca.pem" ] || [ ! -s "$tls/ca.key" ]; then
    say "Making a local CA for Kafka's TLS in $tls ..."
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -keyout "$tls/ca.key" -out "$tls/ca.pem" -subj "/CN=saga local Kafka CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null) \
      || die "openssl could not make the CA"
    rm -f "$tls/broker-keystore.pem"
  fi
  if [ -s "$tls/broker-keystore.pem" ] && openssl x509 -in "$tls/broker-keystore.pem" -noout -checkend 2592000 >/dev/null 2>&1; then
    return 0
  fi
  say "Making the broker's TLS certificate (CN=$KAFKA_BROKER_CN, signed by the local CA) ..."
  (
    umask 077
    cd "$tls"
    printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature,keyEncipherment \
      extendedKeyUsage=serverAuth,clientAuth subjectKeyIdentifier=hash authorityKeyIdentifier=keyid \
      subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kafka >broker.ext
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout broker.key -out broker.csr \
      -subj "/CN=$KAFKA_BROKER_CN" 2>/dev/null
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 730 \
      -extfile broker.ext -out broker.pem 2>/dev/null
    # The broker reads a PEM keystore: the private key (PKCS#8) and its certificate chain.
    cat broker.key broker.pem ca.pem >broker-keystore.pem
    rm -f broker.key broker.csr broker.ext
  ) || die "openssl could not make the broker's certificate"
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
ssl.truststore.location=$dir/tls/ca.pem
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
  cp "$(kafka_secure_dir)/tls/ca.pem" "$SAGA_SECURE_DIR/ca.pem"
  for name in "${KAFKA_PRINCIPALS[@]}"; do
    kafka_secure_write "$SAGA_SECURE_DIR/kafka/$name.properties" <<PROPS
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
  rm -f "$SAGA_SECURE_DIR/ca.pem"
  rmdir "$SAGA_SECURE_DIR/kafka" "$SAGA_SECURE_DIR" 2>/dev/null || true
}

# The ACL table, made true on the broker: missing ACLs created, others removed.
kafka_acls() {
  kafka_tool EnsureAcls.java "$(kafka_bootstrap)" "$REPO_ROOT/scripts/kafka/acls.txt" >&2 \
    || die "setting the ACLs failed"
}

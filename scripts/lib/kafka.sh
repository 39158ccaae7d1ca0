# Apache Kafka for scripts/infra (KRaft, every node a combined broker and controller):
# one broker by default, or a cluster of N (`scripts/infra up --brokers 3`). Sourced
# after common.sh; scripts/dev and scripts/chaos use kafka_bootstrap and kafka_nodes.
#
# The mode chosen last is kept in $SAGA_STATE/kafka-brokers, so that `scripts/infra up`
# and `scripts/dev reset` keep what runs. The single broker is node `kafka` (client port
# 9092, controller 9093, data in $SAGA_STATE/kafka); a cluster's nodes are `kafka-1` ..
# `kafka-N`, node k on 9092 + 2 (k - 1) and the port after it (9092/9093, 9094/9095,
# 9096/9097), data in $SAGA_STATE/kafka-cluster-N/k. The two modes keep their data apart.
# Independently, the single broker runs plain (the default) or secure (SASL/SCRAM over
# TLS and ACLs, `scripts/infra up --secure`, data in $SAGA_STATE/kafka-secure): see
# kafka-secure.sh.

KAFKA_MODE_FILE="$SAGA_STATE/kafka-brokers"
source "$(dirname "${BASH_SOURCE[0]}")/kafka-secure.sh"

# kafka_brokers: how many brokers the chosen mode runs.
kafka_brokers() { cat "$KAFKA_MODE_FILE" 2>/dev/null || echo 1; }

# kafka_nodes: the names of the chosen mode's nodes.
kafka_nodes() {
  local n
  n=$(kafka_brokers)
  if [ "$n" = 1 ]; then echo kafka; else seq -f 'kafka-%g' 1 "$n"; fi
}

# kafka_node_index NODE: its node.id (1 for the single broker).
kafka_node_index() { if [ "$1" = kafka ]; then echo 1; else echo "${1#kafka-}"; fi; }

kafka_port_of() { echo $((KAFKA_PORT + 2 * ($(kafka_node_index "$1") - 1))); }
kafka_controller_port_of() { echo $((KAFKA_CONTROLLER_PORT + 2 * ($(kafka_node_index "$1") - 1))); }

kafka_dir_of() {
  if [ "$1" = kafka ] && kafka_secure; then
    kafka_secure_dir
  elif [ "$1" = kafka ]; then echo "$SAGA_STATE/kafka"; else echo "$SAGA_STATE/kafka-cluster-$(kafka_brokers)/$(kafka_node_index "$1")"; fi
}

kafka_log_of() { echo "$SAGA_LOGS/$1.log"; }

# kafka_bootstrap: the clients' bootstrap list, every broker of the chosen mode.
kafka_bootstrap() {
  local node list=()
  for node in $(kafka_nodes); do list+=("127.0.0.1:$(kafka_port_of "$node")"); done
  (
    IFS=,
    echo "${list[*]}"
  )
}

# kafka_replication: "RF MIN_ISR" for the chosen mode: three replicas where there are
# three brokers, and two of them in sync for a write, so that one broker may be lost.
kafka_replication() {
  local n rf
  n=$(kafka_brokers)
  rf=$((n < 3 ? n : 3))
  echo "$rf $((rf > 2 ? 2 : 1))"
}

kafka_libs() { echo "$SAGA_CACHE/kafka/$KAFKA_VERSION/libs"; }

java_bin() {
  # Kafka 4 needs Java 17+: the default java if it is new enough, else the newest JDK.
  local candidate version
  for candidate in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    version=$("$candidate" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
    if [ "${version%%.*}" -ge 17 ] 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  die "Kafka $KAFKA_VERSION needs Java 17 or newer; none found (apt-get install openjdk-17-jre-headless)."
}

# kafka_tool FILE.java ARGS...: one of scripts/kafka's admin programs, on the broker's
# jars; in the secure mode it logs in as admin (-Dsaga.kafka.config: client settings).
kafka_tool() {
  local program=$1 config=()
  shift
  if kafka_secure; then config=(-Dsaga.kafka.config="$(kafka_admin_properties)"); fi
  "$(java_bin)" -cp "$(kafka_libs)/*" -Dlog4j2.configurationFile="$REPO_ROOT/scripts/kafka/log4j2-tools.properties" \
    "${config[@]}" "$REPO_ROOT/scripts/kafka/$program" "$@"
}

kafka_install() {
  local libs stamp pom_sum
  libs=$(kafka_libs)
  pom_sum=$(sha256sum "$REPO_ROOT/scripts/kafka/pom.xml" | cut -c1-16)
  stamp="$libs/.resolved-$pom_sum"
  [ -f "$stamp" ] && return 0
  command -v mvn >/dev/null || die "mvn is needed to resolve Kafka's jars (apt-get install maven)."
  say "Resolving Apache Kafka $KAFKA_VERSION from Maven Central into $libs ..."
  rm -rf "$libs"
  mkdir -p "$SAGA_LOGS"
  if ! mvn -B -Dstyle.color=never -f "$REPO_ROOT/scripts/kafka/pom.xml" \
    -Dmaven.repo.local="$SAGA_CACHE/m2" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs" >"$SAGA_LOGS/kafka-install.log" 2>&1; then
    tail -n 40 "$SAGA_LOGS/kafka-install.log" >&2
    die "resolving Kafka's jars failed; the whole log is $SAGA_LOGS/kafka-install.log"
  fi
  touch "$stamp"
}

# kafka_voters: controller.quorum.voters of the chosen mode (a static quorum: every node).
kafka_voters() {
  local node list=()
  for node in $(kafka_nodes); do list+=("$(kafka_node_index "$node")@127.0.0.1:$(kafka_controller_port_of "$node")"); done
  (
    IFS=,
    echo "${list[*]}"
  )
}

kafka_configure() {
  local node=$1 dir port cport rf isr
  dir=$(kafka_dir_of "$node")
  port=$(kafka_port_of "$node")
  cport=$(kafka_controller_port_of "$node")
  read -r rf isr < <(kafka_replication)
  mkdir -p "$dir/data"
  if kafka_secure; then kafka_secure_credentials; fi
  # Secure, it holds admin's password: its owner's alone.
  touch "$dir/server.properties"
  chmod 600 "$dir/server.properties"
  cat >"$dir/server.properties" <<PROPS
# Written by scripts/infra on every start.
process.roles=broker,controller
node.id=$(kafka_node_index "$node")
controller.quorum.voters=$(kafka_voters)
$(kafka_listeners "$port" "$cport")
log.dirs=$dir/data
num.partitions=6
auto.create.topics.enable=false
# Committed offsets (the DLQ settle cursors among them) are kept 30 days.
offsets.retention.minutes=43200
offsets.topic.num.partitions=6
# Replication from the cluster's size: $rf replicas, $isr in sync for a write. The broker-wide
# min.insync.replicas stays 1, so that tests' own topics keep working; the saga's topics
# and __consumer_offsets get theirs per topic (scripts/kafka/EnsureTopics.java).
default.replication.factor=$rf
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
message.max.bytes=4194304
log.retention.hours=168
PROPS
  if [ "$(kafka_brokers)" != 1 ]; then
    cat >>"$dir/server.properties" <<PROPS
# A broker that dies is fenced by the controllers after 6 s without a heartbeat (9 s by
# default), and its partitions' leadership, group coordinators among it, moves: within
# the consumers' 10 s session, so that the groups it coordinated keep their members.
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1500
# A broker that returns gets its partitions' leadership back when told to
# (scripts/infra elect), not at the controllers' next five-minute balance check.
auto.leader.rebalance.enable=false
PROPS
  fi
  # Properties a benchmark tries (scripts/bench-lever's KAFKA.NAME=VALUE), one per line.
  if [ -n "${KAFKA_EXTRA_PROPERTIES:-}" ]; then
    printf '# From KAFKA_EXTRA_PROPERTIES:\n%s\n' "$KAFKA_EXTRA_PROPERTIES" >>"$dir/server.properties"
  fi
  if [ ! -f "$dir/data/meta.properties" ] && kafka_secure; then
    say "Formatting $node's KRaft storage in $dir/data, with the SCRAM users ${KAFKA_PRINCIPALS[*]} ..."
    kafka_secure_format "$node" "$dir" "$(kafka_cluster_id "$dir")"
  elif [ ! -f "$dir/data/meta.properties" ]; then
    say "Formatting $node's KRaft storage in $dir/data ..."
    "$(java_bin)" -cp "$(kafka_libs)/*" -Dlog4j2.configurationFile="$REPO_ROOT/scripts/kafka/log4j2-tools.properties" \
      kafka.tools.StorageTool format -t "$(kafka_cluster_id "$dir")" -c "$dir/server.properties" >>"$(kafka_log_of "$node")" 2>&1 \
      || die "formatting $node's storage failed; see $(kafka_log_of "$node")"
  fi
}

# kafka_listeners PORT CONTROLLER_PORT: the listener lines of server.properties.
kafka_listeners() {
  if kafka_secure; then
    kafka_secure_listeners "$1" "$2"
    return
  fi
  cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$1,CONTROLLER://127.0.0.1:$2
advertised.listeners=PLAINTEXT://127.0.0.1:$1
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
PROPS
}

# kafka_cluster_id NODE_DIR: a stable cluster id (22 base64url characters of a random
# UUID), kept beside the mode's data, the same for every node of a cluster.
kafka_cluster_id() {
  local file
  if [ "$(kafka_brokers)" = 1 ]; then file="$1/cluster-id"; else file="$(dirname "$1")/cluster-id"; fi
  mkdir -p "$(dirname "$file")"
  if [ ! -s "$file" ]; then
    head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22 >"$file"
  fi
  cat "$file"
}

kafka_node_running() { pid_alive "$1"; }
kafka_node_answers() { port_open "$(kafka_port_of "$1")"; }

# Every node of the mode runs / answers.
kafka_running() {
  local node
  for node in $(kafka_nodes); do kafka_node_running "$node" || return 1; done
}
kafka_answers() {
  local node
  for node in $(kafka_nodes); do kafka_node_answers "$node" || return 1; done
}

kafka_node_start() {
  local node=$1 heap=1g
  [ "$(kafka_brokers)" = 1 ] || heap=512m
  kafka_configure "$node"
  say "Starting $node (Kafka $KAFKA_VERSION) on 127.0.0.1:$(kafka_port_of "$node") ..."
  start_detached "$node" "$(kafka_log_of "$node")" "$(kafka_dir_of "$node")/server.properties" \
    "$(java_bin)" -Xms256m -Xmx$heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$REPO_ROOT/scripts/kafka/log4j2.properties" \
    -cp "$(kafka_libs)/*" kafka.Kafka "$(kafka_dir_of "$node")/server.properties"
}

# A broker recovers every partition before it listens: minutes with many topics. It is
# waited for while it lives, and given up on at once if it dies.
kafka_node_wait() {
  local node=$1
  wait_until 600 "$node" kafka_node_answers_or_dead "$node" \
    || die "$node did not answer within 600s; see $(kafka_log_of "$node")"
  kafka_node_answers "$node" || die "$node exited while starting; see $(kafka_log_of "$node")"
}
kafka_node_answers_or_dead() { kafka_node_answers "$1" || ! kafka_node_running "$1"; }

# Starts the nodes that do not run (a cluster's nodes all at once: none listens before
# the controllers have a quorum), waits for all, then makes sure the topics exist.
kafka_start() {
  local node
  kafka_install
  mkdir -p "$SAGA_LOGS"
  for node in $(kafka_nodes); do
    kafka_node_running "$node" || kafka_node_start "$node"
  done
  for node in $(kafka_nodes); do kafka_node_wait "$node"; done
  kafka_topics
}

# The topics; in the secure mode also the ACLs and the clients' settings files.
kafka_topics() {
  kafka_tool EnsureTopics.java "$(kafka_bootstrap)" "$REPO_ROOT/scripts/kafka/topics.txt" $(kafka_replication) >&2 \
    || die "creating the topics failed"
  if kafka_secure; then
    kafka_acls
    kafka_secure_clients
  fi
}

# Stops every Kafka node this script started, of either mode, at once: a cluster's last
# nodes would wait on a quorum that the first ones took away.
kafka_stop() {
  local file pids=()
  for file in "$SAGA_RUN"/kafka*.pid; do
    [ -e "$file" ] || continue
    stop_pid "$(basename "$file" .pid)" 60 &
    pids+=($!)
  done
  [ ${#pids[@]} = 0 ] || wait "${pids[@]}"
}

# kafka_switch N: makes N brokers the chosen mode, stopping the other mode's nodes.
kafka_switch() {
  local n=$1
  [[ "$n" =~ ^[1-9]$ ]] || die "--brokers takes a number from 1 to 9"
  [ "$n" = 2 ] && die "--brokers 2 has no fault tolerance (a KRaft quorum of two loses both on one failure); use 1 or 3"
  [ "$n" = "$(kafka_brokers)" ] && return 0
  if kafka_secure && [ "$n" != 1 ]; then
    die "the secure mode runs one broker; for a cluster return to the plain mode: scripts/infra up --plain --brokers $n"
  fi
  say "Switching Kafka from $(kafka_brokers) to $n broker(s) ..."
  kafka_stop
  mkdir -p "$SAGA_STATE"
  echo "$n" >"$KAFKA_MODE_FILE"
}

# Test topics: tests name theirs with test_support::unique_name, `<prefix>-<uuid simple>`.
TEST_TOPICS='.*-[0-9a-f]{32}.*'

# kafka_elect: preferred leader election for the saga's topics, once every replica is in
# sync again (up to 120 s); prints `leader_moves=N partitions=P failed=F`.
kafka_elect() {
  kafka_tool ElectLeaders.java "$(kafka_bootstrap)" "$REPO_ROOT/scripts/kafka/topics.txt" 120
}

kafka_sweep() {
  kafka_tool DropTopics.java "$(kafka_bootstrap)" "$TEST_TOPICS" >&2 || die "deleting test topics failed"
}

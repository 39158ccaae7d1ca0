#!/usr/bin/env bash
# The broker of the secure compose stack (compose/compose.secure.yaml), run in the
# apache/kafka image in place of its own start script, for one thing that script cannot
# do: SCRAM users exist only if the storage is formatted with them (`--add-scram`, as
# scripts/lib/kafka-secure.sh does natively), and the image formats without.
#
# It keeps the image's contract otherwise: every KAFKA_* variable is a server property
# (KAFKA_FOO_BAR -> foo.bar, `__` -> `_`, `___` -> `-`), so compose.yaml's settings hold
# and compose.secure.yaml adds the listeners' security, TLS and the authorizer. What is
# secret comes from /secure (the volume secure-kafka, compose/secure/init.sh): admin's
# inter-broker login on each SASL listener, and a SCRAM user for every <name>.password
# there. The arguments of the format go through a java @argfile (0600, removed after),
# so no password shows on a command line.
set -euo pipefail
umask 077
config=/opt/kafka/config/server.properties
not_properties=" KAFKA_HEAP_OPTS KAFKA_JVM_PERFORMANCE_OPTS KAFKA_GC_LOG_OPTS KAFKA_OPTS KAFKA_JMX_OPTS KAFKA_JMX_PORT KAFKA_JMX_HOSTNAME KAFKA_LOG4J_OPTS KAFKA_LOG4J_ROOT_LOGLEVEL KAFKA_LOG4J_LOGGERS KAFKA_TOOLS_LOG4J_LOGLEVEL "
jaas="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$(cat /secure/admin.password)\";"

{
  echo "# Written by compose/secure/kafka.sh from the KAFKA_* settings, and admin's login."
  echo "log.dirs=${KAFKA_LOG_DIRS:-/tmp/kraft-combined-logs}"
  for name in $(compgen -e | grep '^KAFKA_' | sort); do
    [[ $not_properties == *" $name "* || $name == KAFKA_LOG_DIRS ]] && continue
    key=${name#KAFKA_}
    key=${key,,}
    key=${key//___/-}
    key=${key//__/$'\x01'}
    key=${key//_/.}
    key=${key//$'\x01'/_}
    printf '%s=%s\n' "$key" "${!name}"
  done
  # Each SASL_SSL listener logs in to the others as admin (the inter-broker login).
  for entry in ${KAFKA_LISTENER_SECURITY_PROTOCOL_MAP//,/ }; do
    if [ "${entry#*:}" = SASL_SSL ]; then
      listener=${entry%%:*}
      echo "listener.name.${listener,,}.scram-sha-512.sasl.jaas.config=$jaas"
    fi
  done
} >"$config"

args=$(mktemp)
{
  printf '%s\n' kafka.tools.StorageTool format --ignore-formatted -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$config"
  for file in /secure/*.password; do
    printf '%s\n' --add-scram "SCRAM-SHA-512=[name=$(basename "$file" .password),password=$(cat "$file")]"
  done
} >"$args"
code=0
/opt/kafka/bin/kafka-run-class.sh "@$args" || code=$?
rm -f "$args"
[ $code = 0 ] || { echo "formatting the storage failed" >&2; exit $code; }
exec /opt/kafka/bin/kafka-server-start.sh "$config"

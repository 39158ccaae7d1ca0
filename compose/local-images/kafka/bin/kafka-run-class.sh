#!/usr/bin/env bash
# Runs a Java main class on Kafka's jars: kafka-run-class.sh CLASS [ARGS...].
# Reads the environment the distribution's launcher reads: KAFKA_HEAP_OPTS,
# KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_GC_LOG_OPTS, KAFKA_JMX_OPTS with JMX_PORT,
# KAFKA_LOG4J_OPTS, KAFKA_OPTS, JAVA_HOME and CLASSPATH (appended).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: kafka-run-class.sh CLASS [ARGS...]" >&2; exit 1; }
base=$(cd "$(dirname "$0")/.." && pwd)
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

classpath="$base/libs/*${CLASSPATH:+:$CLASSPATH}"
log4j=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base/config/tools-log4j2.yaml}
heap=${KAFKA_HEAP_OPTS:--Xmx256M}
performance=${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}
jmx=${KAFKA_JMX_OPTS:-}
if [ -n "${JMX_PORT:-}" ]; then
  jmx="$jmx -Dcom.sun.management.jmxremote.port=$JMX_PORT"
fi

# shellcheck disable=SC2086 # each *_OPTS is a list of JVM options, split on spaces
exec "$java" $heap $performance ${KAFKA_GC_LOG_OPTS:-} $jmx $log4j -cp "$classpath" ${KAFKA_OPTS:-} "$@"

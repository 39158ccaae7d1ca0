#!/usr/bin/env bash
# Produces lines of standard input to a topic.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.ConsoleProducer "$@"

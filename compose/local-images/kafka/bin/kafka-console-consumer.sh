#!/usr/bin/env bash
# Prints a topic's messages.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.consumer.ConsoleConsumer "$@"

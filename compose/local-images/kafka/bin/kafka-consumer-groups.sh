#!/usr/bin/env bash
# Lists, describes and resets consumer groups.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@"

#!/usr/bin/env bash
# Adds, lists and removes ACLs.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.AclCommand "$@"

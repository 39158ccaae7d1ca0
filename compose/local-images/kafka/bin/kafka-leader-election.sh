#!/usr/bin/env bash
# Elects preferred or unclean partition leaders.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.LeaderElectionCommand "$@"

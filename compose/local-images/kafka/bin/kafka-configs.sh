#!/usr/bin/env bash
# Describes and alters dynamic configs, SCRAM credentials among them.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.admin.ConfigCommand "$@"

#!/usr/bin/env bash
# Formats and inspects KRaft storage directories.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.StorageTool "$@"

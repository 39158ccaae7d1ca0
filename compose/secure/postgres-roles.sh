#!/usr/bin/env bash
# An init script of the secure compose stack's PostgreSQL (compose/compose.secure.yaml),
# run once by the image on an empty data directory, as the superuser over the socket:
# the roles, their passwords, the databases' owners and rights, made by
# scripts/lib/postgres-secure.sh's own postgres_secure_roles (one role per service that
# owns its database, sagactl_verify reading all three, CONNECT revoked from PUBLIC).
# The passwords are in /secure/pg-secure-secrets (the volume secure-postgres,
# compose/secure/init.sh). scripts/lib is mounted at /saga/lib.
set -euo pipefail
export SAGA_STATE=/secure
source /saga/lib/common.sh
source /saga/lib/tls.sh
source /saga/lib/postgres-secure.sh
psql_admin() { psql -v ON_ERROR_STOP=1 --username postgres --no-password --no-psqlrc --dbname postgres "$@"; }
# The clients' files are secure-init's, in each client's own volume.
postgres_secure_clients() { :; }
postgres_secure_roles
say "The roles of ${POSTGRES_SERVICE_ROLES[*]} $POSTGRES_VERIFY_ROLE are made, each service's database its own."

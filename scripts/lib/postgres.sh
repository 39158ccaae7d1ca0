# PostgreSQL 15 for scripts/infra: a cluster the script owns, run as the `postgres` OS user
# (initdb refuses root), data in $SAGA_STATE/pg, trust on 127.0.0.1 only, the services'
# databases (SERVICE_DATABASES) made at every start. Sourced after common.sh.
# Independently, it runs plain (the default) or secure (TLS, one role per service,
# `scripts/infra up --secure`, data in $SAGA_STATE/pg-secure): see postgres-secure.sh.
# Either way the scripts administer it as the superuser over the unix socket.

source "$(dirname "${BASH_SOURCE[0]}")/tls.sh"
source "$(dirname "${BASH_SOURCE[0]}")/postgres-secure.sh"

pg_bin() { echo "/usr/lib/postgresql/$POSTGRES_MAJOR/bin"; }
# pg_data: the data directory of the mode chosen.
pg_data() { if postgres_secure; then postgres_secure_dir; else echo "$SAGA_STATE/pg"; fi; }
pg_socket_dir() { echo "$SAGA_STATE/pg-socket"; }

# Runs a command as the cluster's owner: `postgres` when we are root (initdb refuses
# root), ourselves otherwise.
as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

postgres_install() {
  [ -x "$(pg_bin)/postgres" ] && return 0
  [ "$(id -u)" = 0 ] || die "PostgreSQL $POSTGRES_MAJOR is missing; install postgresql-$POSTGRES_MAJOR as root."
  say "Installing PostgreSQL $POSTGRES_MAJOR from Debian's packages ..."
  # The cluster is ours to create: keep the package from creating and starting its own.
  mkdir -p /etc/postgresql-common
  grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf \
    || echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "postgresql-$POSTGRES_MAJOR" >&2
}

postgres_init() {
  local data
  data=$(pg_data)
  [ -f "$data/PG_VERSION" ] && return 0
  say "Creating the PostgreSQL cluster in $data ..."
  mkdir -p "$data" "$(pg_socket_dir)"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$data" "$(pg_socket_dir)"; fi
  chmod 700 "$data"
  as_pg_owner "$(pg_bin)/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=reject -E UTF8 --locale=C.UTF-8 >&2
  if postgres_secure; then
    postgres_secure_hba >"$data/pg_hba.conf"
  else
    # Trust on loopback only; every other host is rejected.
    cat >"$data/pg_hba.conf" <<HBA
# Written by scripts/infra: trust on loopback only.
local all all             peer map=local
host  all all 127.0.0.1/32 trust
host  all all ::1/128      trust
HBA
  fi
  cat >"$data/pg_ident.conf" <<IDENT
# The OS users that may connect through the socket as the postgres role.
local postgres postgres
local root     postgres
local $(id -un) postgres
IDENT
  cat >>"$data/postgresql.conf" <<CONF

# ---- scripts/infra
listen_addresses = '127.0.0.1'
port = $POSTGRES_PORT
unix_socket_directories = '$(pg_socket_dir)'
max_connections = 300
shared_buffers = 256MB
wal_buffers = 16MB
max_wal_size = 2GB
checkpoint_timeout = 15min
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
CONF
  if postgres_secure; then postgres_secure_conf >>"$data/postgresql.conf"; fi
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$data"/*.conf; fi
}

# postgres_running [DATA]: the cluster of DATA (default: the mode chosen) runs.
postgres_running() {
  local data=${1:-$(pg_data)}
  [ -f "$data/postmaster.pid" ] && as_pg_owner "$(pg_bin)/pg_ctl" -D "$data" status >/dev/null 2>&1
}
postgres_answers() { "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres; }

postgres_start() {
  postgres_install
  postgres_init
  mkdir -p "$SAGA_LOGS" "$(pg_socket_dir)"
  touch "$SAGA_LOGS/postgres.log"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$SAGA_LOGS/postgres.log" "$(pg_socket_dir)"; fi
  if port_open "$POSTGRES_PORT"; then
    die "port $POSTGRES_PORT is taken by a server this script did not start (pg_lsclusters; stop it first)."
  fi
  if postgres_secure; then postgres_secure_tls; fi
  say "Starting PostgreSQL $POSTGRES_MAJOR on 127.0.0.1:$POSTGRES_PORT$(postgres_secure && echo ' (secure: TLS, one role per service)') ..."
  as_pg_owner "$(pg_bin)/pg_ctl" -D "$(pg_data)" -l "$SAGA_LOGS/postgres.log" -w -t 60 start >/dev/null \
    || die "PostgreSQL did not start; see $SAGA_LOGS/postgres.log"
  wait_until 60 "PostgreSQL" postgres_answers || die "PostgreSQL did not answer within 60s"
  postgres_databases
}

# The services' databases; in the secure mode, with their roles and the clients' files.
postgres_databases() {
  local db
  if postgres_secure; then
    postgres_secure_roles
    return
  fi
  for db in "${SERVICE_DATABASES[@]}"; do
    if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
      psql_admin -qc "CREATE DATABASE $db" && say "Created database $db."
    fi
  done
}

postgres_sweep() {
  local db
  for db in $(psql_admin -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'test\\_%'"); do
    psql_admin -qc "DROP DATABASE \"$db\" WITH (FORCE)"
  done
}

# psql_admin ARGS...: psql as the superuser, over the unix socket (peer authentication).
psql_admin() { psql -h "$(pg_socket_dir)" -p "$POSTGRES_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

# Stops the cluster of either mode that runs.
postgres_stop() {
  local data
  for data in "$SAGA_STATE/pg" "$(postgres_secure_dir)"; do
    postgres_running "$data" || continue
    as_pg_owner "$(pg_bin)/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
  done
}

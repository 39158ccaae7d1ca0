#!/usr/bin/env bash
# The entrypoint of the local postgres:15 image, after the upstream image's documented
# contract: on an empty $PGDATA it runs initdb for $POSTGRES_USER (default postgres)
# with $POSTGRES_PASSWORD, opens host connections with $POSTGRES_HOST_AUTH_METHOD,
# creates $POSTGRES_DB, and runs /docker-entrypoint-initdb.d/* (*.sh, *.sql, *.sql.gz,
# *.sql.xz, *.sql.zst) against a server that listens on its Unix socket only; then it
# starts the server in the foreground with the command's arguments (`postgres -c ...`).
# The *_FILE variants read a secret from a file. Any other POSTGRES_* variable is
# refused, so nothing a compose file sets is silently ignored.
set -Eeuo pipefail

SUPPORTED=(POSTGRES_PASSWORD POSTGRES_USER POSTGRES_DB POSTGRES_INITDB_ARGS POSTGRES_INITDB_WALDIR
  POSTGRES_HOST_AUTH_METHOD POSTGRES_PASSWORD_FILE POSTGRES_USER_FILE POSTGRES_DB_FILE
  POSTGRES_INITDB_ARGS_FILE)

refuse_unsupported() {
  local name
  for name in $(compgen -e | grep '^POSTGRES_' || true); do
    if [[ " ${SUPPORTED[*]} " != *" $name "* ]]; then
      echo "error: $name is not implemented by this local postgres:15 image (compose/local-images/postgres); it implements ${SUPPORTED[*]} and PGDATA." >&2
      exit 1
    fi
  done
}

# file_env VAR [DEFAULT]: VAR from the environment, or from the file VAR_FILE names.
file_env() {
  local var=$1 file_var="${1}_FILE" default=${2:-} value
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    echo "error: both $var and $file_var are set (they are exclusive)" >&2
    exit 1
  fi
  value=$default
  if [ -n "${!var:-}" ]; then
    value=${!var}
  elif [ -n "${!file_var:-}" ]; then
    value=$(<"${!file_var}")
  fi
  export "$var=$value"
  unset "$file_var"
}

psql_init() { psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"; }

initialise() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  local auth=${POSTGRES_HOST_AUTH_METHOD:-}
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
    cat >&2 <<'MSG'
error: the database is uninitialised and no superuser password is set.
       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), or POSTGRES_HOST_AUTH_METHOD=trust
       to allow every host connection without a password (not recommended).
MSG
    exit 1
  fi
  [ -n "$auth" ] || auth=scram-sha-256

  local args=(--username="$POSTGRES_USER")
  [ -z "${POSTGRES_INITDB_WALDIR:-}" ] || args+=(--waldir="$POSTGRES_INITDB_WALDIR")
  if [ -n "$POSTGRES_PASSWORD" ]; then
    args+=(--pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD"))
  fi
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as upstream reads it
  initdb "${args[@]}" $POSTGRES_INITDB_ARGS
  printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

  # A server for the init scripts that listens on its socket only: a client that asks
  # over TCP (a health check) is not told "ready" before the real server runs.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
  if [ "$POSTGRES_DB" != postgres ]; then
    psql_init --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then echo "running $f"; "$f"; else echo "sourcing $f"; . "$f"; fi ;;
      *.sql) echo "running $f"; psql_init --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) echo "running $f"; gunzip -c "$f" | psql_init --dbname "$POSTGRES_DB" ;;
      *.sql.xz) echo "running $f"; xzcat "$f" | psql_init --dbname "$POSTGRES_DB" ;;
      *.sql.zst) echo "running $f"; zstd -dc "$f" | psql_init --dbname "$POSTGRES_DB" ;;
      */\*) ;;
      *) echo "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo 'PostgreSQL init process complete; ready for start up.'
}

# Options alone (`-c fsync=off`) are the server's.
if [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi

if [ "$1" = postgres ]; then
  refuse_unsupported
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    [ -z "${POSTGRES_INITDB_WALDIR:-}" ] || { mkdir -p "$POSTGRES_INITDB_WALDIR"; chown postgres:postgres "$POSTGRES_INITDB_WALDIR"; }
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
  fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    initialise
  fi
  unset POSTGRES_PASSWORD
fi
exec "$@"

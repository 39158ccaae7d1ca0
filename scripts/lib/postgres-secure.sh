# PostgreSQL's secure mode for scripts/infra (issue 17): `scripts/infra up --secure` runs
# a cluster of its own on the same port, with TLS only on TCP, SCRAM passwords and one
# login role per service that owns its database; `--plain` returns to the default
# cluster. Sourced by postgres.sh.
#
# The mode chosen last is kept in $SAGA_STATE/postgres-security (tls.sh). The secure
# cluster keeps its state apart:
#   $SAGA_STATE/pg-secure/             the cluster (0700, the postgres OS user's), with
#                                      server.pem, server.key: its certificate, signed by
#                                      the shared local CA (tls.sh)
#   $SAGA_STATE/pg-secure-secrets/     <role>.password, random, 0600, made once and kept
# pg_hba: the superuser over the unix socket only (peer, the scripts' admin path, as in
# the default cluster), and every role over TCP only with TLS and scram-sha-256.
# What a client needs is written to $SAGA_SECURE_DIR (.dev/secure): ca.pem,
# postgres/<role>.password and postgres/<role>.url (no password in it; DATABASE_PASSWORD_FILE);
# they are removed on the way back to plain.
#
# Roles: order_service owns orders, payment_service payments, inventory_service inventory
# (in the order of SERVICE_DATABASES); none is superuser, createdb or createrole. CONNECT
# on each database is revoked from PUBLIC and granted to its owner and to sagactl_verify,
# which reads everything (pg_read_all_data) and writes nothing: its URLs are
# postgres/sagactl_verify.<database>.url.

POSTGRES_SERVICE_ROLES=(order_service payment_service inventory_service)
POSTGRES_VERIFY_ROLE=sagactl_verify

postgres_security() { part_security postgres; }
postgres_secure() { [ "$(postgres_security)" = secure ]; }
postgres_secure_dir() { echo "$SAGA_STATE/pg-secure"; }
postgres_secrets_dir() { echo "$SAGA_STATE/pg-secure-secrets"; }
postgres_password() { cat "$(postgres_secrets_dir)/$1.password"; }

# postgres_security_switch plain|secure: makes it the chosen mode, stopping the cluster of
# the other.
postgres_security_switch() {
  local mode=$1
  case "$mode" in plain | secure) ;; *) die "unknown PostgreSQL mode '$mode' (plain | secure)" ;; esac
  [ "$mode" = "$(postgres_security)" ] && return 0
  say "Switching PostgreSQL from the $(postgres_security) to the $mode mode ..."
  postgres_stop
  part_security_set postgres "$mode"
  [ "$mode" = secure ] || postgres_secure_forget_clients
}

# postgres_secure_hba: pg_hba.conf of the secure cluster. No plain `host` line: TCP
# without TLS finds no entry and is refused.
postgres_secure_hba() {
  cat <<HBA
# Written by scripts/infra (secure mode): the superuser over the socket only; every role
# over TCP with TLS and a SCRAM password.
local   all postgres              peer map=local
hostssl all all      127.0.0.1/32 scram-sha-256
HBA
}

# postgres_secure_conf: the lines the secure cluster adds to postgresql.conf.
postgres_secure_conf() {
  cat <<CONF
# ---- scripts/infra, secure mode
ssl = on
ssl_cert_file = 'server.pem'
ssl_key_file = 'server.key'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
CONF
}

# postgres_secure_tls: the server's certificate in its data directory, the postgres OS
# user's (the server refuses a key others may read).
postgres_secure_tls() {
  local data
  data=$(postgres_secure_dir)
  tls_server_cert "$data/server" postgres DNS:postgres
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$data/server.pem" "$data/server.key"; fi
}

# postgres_secure_passwords: every role's password (48 hex characters, no newline), made
# once and kept.
postgres_secure_passwords() {
  local dir role
  dir=$(postgres_secrets_dir)
  mkdir -p "$dir"
  chmod 700 "$dir"
  for role in "${POSTGRES_SERVICE_ROLES[@]}" "$POSTGRES_VERIFY_ROLE"; do
    [ -s "$dir/$role.password" ] || openssl rand -hex 24 | tr -d '\n' | secure_write "$dir/$role.password"
  done
}

# postgres_secure_roles: the roles, their passwords, the databases and their rights,
# made true at every start. The SQL goes to psql's stdin and the statements that carry a
# password are kept out of the server's log, so no password shows on a command line or
# in a log.
postgres_secure_roles() {
  local i db role
  postgres_secure_passwords
  {
    echo "SET log_statement = 'none';"
    echo "SET log_min_error_statement = 'panic';"
    echo "SET client_min_messages = 'warning';"
    for role in "${POSTGRES_SERVICE_ROLES[@]}" "$POSTGRES_VERIFY_ROLE"; do
      echo "SELECT 'CREATE ROLE $role' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') \\gexec"
      echo "ALTER ROLE $role LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '$(postgres_password "$role")';"
    done
    echo "GRANT pg_read_all_data TO $POSTGRES_VERIFY_ROLE;"
    # Nobody but the superuser reaches the maintenance databases.
    echo "REVOKE ALL ON DATABASE postgres, template1 FROM PUBLIC;"
    for i in "${!SERVICE_DATABASES[@]}"; do
      db=${SERVICE_DATABASES[$i]} role=${POSTGRES_SERVICE_ROLES[$i]}
      echo "SELECT 'CREATE DATABASE $db OWNER $role' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \\gexec"
      echo "ALTER DATABASE $db OWNER TO $role;"
      echo "REVOKE ALL ON DATABASE $db FROM PUBLIC;"
      echo "GRANT CONNECT, TEMPORARY ON DATABASE $db TO $role;"
      echo "GRANT CONNECT ON DATABASE $db TO $POSTGRES_VERIFY_ROLE;"
    done
  } | psql_admin -q -f - >/dev/null || die "making PostgreSQL's roles and databases failed; see $SAGA_LOGS/postgres.log"
  postgres_secure_clients
}

# postgres_secure_url ROLE DATABASE: the role's URL, without its password (in
# <role>.password beside it), trusting the local CA and checking the server's name.
postgres_secure_url() {
  echo "postgres://$1@127.0.0.1:$POSTGRES_PORT/$2?sslmode=verify-full&sslrootcert=$SAGA_SECURE_DIR/ca.pem"
}

# postgres_secure_clients: what a client needs, in $SAGA_SECURE_DIR: the CA, and each
# role's password and URL.
postgres_secure_clients() {
  local i db role dir="$SAGA_SECURE_DIR/postgres"
  tls_clients_ca
  mkdir -p "$dir"
  chmod 700 "$dir"
  for i in "${!SERVICE_DATABASES[@]}"; do
    db=${SERVICE_DATABASES[$i]} role=${POSTGRES_SERVICE_ROLES[$i]}
    postgres_secure_url "$role" "$db" | secure_write "$dir/$role.url"
    secure_write "$dir/$role.password" <"$(postgres_secrets_dir)/$role.password"
    postgres_secure_url "$POSTGRES_VERIFY_ROLE" "$db" | secure_write "$dir/$POSTGRES_VERIFY_ROLE.$db.url"
  done
  secure_write "$dir/$POSTGRES_VERIFY_ROLE.password" <"$(postgres_secrets_dir)/$POSTGRES_VERIFY_ROLE.password"
}

# Removes only the files postgres_secure_clients writes (SAGA_SECURE_DIR may be anything).
postgres_secure_forget_clients() {
  local db role dir="$SAGA_SECURE_DIR/postgres"
  for role in "${POSTGRES_SERVICE_ROLES[@]}" "$POSTGRES_VERIFY_ROLE"; do rm -f "$dir/$role.url" "$dir/$role.password"; done
  for db in "${SERVICE_DATABASES[@]}"; do rm -f "$dir/$POSTGRES_VERIFY_ROLE.$db.url"; done
  rmdir "$dir" 2>/dev/null || true
  tls_forget_clients_ca
}

# Shared by scripts/infra, scripts/dev and scripts/test. Source it; do not run it.
#
# Downloads and builds live in $SAGA_CACHE (outside the clone, reused by CI on the same
# machine); data, logs and pid files of the running servers in $SAGA_STATE.

set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SAGA_CACHE=${SAGA_CACHE:-$HOME/.cache/saga}
if [ "$(id -u)" = 0 ]; then
  SAGA_STATE=${SAGA_STATE:-/var/lib/saga}
else
  SAGA_STATE=${SAGA_STATE:-$HOME/.local/state/saga}
fi
SAGA_LOGS="$SAGA_STATE/log"
SAGA_RUN="$SAGA_STATE/run"

# Versions, in step with compose/compose.yaml.
KAFKA_VERSION=4.1.1
POSTGRES_MAJOR=15
JAEGER_VERSION=v1.76.0

# A second broker or cluster on spare ports (scripts/kafka/test-secure,
# scripts/postgres/test-secure) overrides these three.
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
POSTGRES_PORT=${POSTGRES_PORT:-5432}
JAEGER_OTLP_GRPC_PORT=4317
JAEGER_OTLP_HTTP_PORT=4318
JAEGER_QUERY_PORT=16686
JAEGER_HEALTH_PORT=13133

SERVICE_DATABASES=(orders payments inventory)

say() { printf '%s %s\n' "[$(date +%H:%M:%S)]" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every half second.
wait_until() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      return 1
    fi
    sleep 0.5
  done
  say "$what answers."
}

# pid_alive NAME [RUN_DIR]: the process recorded in RUN_DIR/NAME.pid is running and is
# still what we started (its command line mentions NAME's marker), not a reused pid.
pid_alive() {
  local name=$1 run=${2:-$SAGA_RUN} pid marker
  [ -f "$run/$name.pid" ] || return 1
  pid=$(cat "$run/$name.pid")
  marker=$(cat "$run/$name.marker" 2>/dev/null || true)
  kill -0 "$pid" 2>/dev/null || return 1
  [ -z "$marker" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

# stop_pid NAME [GRACE_SECONDS] [RUN_DIR]: SIGTERM the recorded process group, SIGKILL
# after grace.
stop_pid() {
  local name=$1 grace=${2:-30} run=${3:-$SAGA_RUN} pid
  local file="$run/$name.pid"
  if ! pid_alive "$name" "$run"; then
    rm -f "$file" "$run/$name.marker"
    return 0
  fi
  pid=$(cat "$file")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      say "$name did not stop within ${grace}s; killing it."
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$file" "$run/$name.marker"
}

# kill_pid NAME [RUN_DIR]: SIGKILL at once, as a crash would.
kill_pid() {
  local name=$1 run=${2:-$SAGA_RUN}
  pid_alive "$name" "$run" || return 0
  kill -KILL "$(cat "$run/$name.pid")" 2>/dev/null || true
  rm -f "$run/$name.pid" "$run/$name.marker"
}

# start_detached NAME LOGFILE MARKER COMMAND...: runs COMMAND in its own session, in the
# background, output appended to LOGFILE (rotated past 64 MiB), pid (and the MARKER its command line shows)
# recorded in $RUN_DIR (default $SAGA_RUN).
start_detached() {
  local name=$1 log=$2 marker=$3 run=${RUN_DIR:-$SAGA_RUN}
  shift 3
  mkdir -p "$run" "$(dirname "$log")"
  # One earlier generation is kept: a log a long-lived dev machine appends to forever fills the disk.
  if [ "$(stat -c %s "$log" 2>/dev/null || echo 0)" -gt $((64 << 20)) ]; then
    mv -f "$log" "$log.1"
  fi
  printf '\n===== %s starting %s =====\n' "$(date -Is)" "$name" >>"$log"
  setsid nohup "$@" >>"$log" 2>&1 </dev/null &
  echo $! >"$run/$name.pid"
  echo "$marker" >"$run/$name.marker"
}

# apt_install PACKAGE...: installs from Debian's packages (as root; a user is told what to install).
apt_install() {
  [ "$(id -u)" = 0 ] || die "$* missing; install them as root (apt-get install $*)."
  say "Installing $* from Debian's packages ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "$@" >&2
}

# build_deps: what cargo needs beyond Rust. rdkafka's `ssl` feature (TLS and SASL/SCRAM for
# Kafka's secure mode) builds librdkafka against the system's OpenSSL, found by pkg-config.
build_deps() {
  pkg-config --exists openssl 2>/dev/null || apt_install libssl-dev pkg-config
}

# test_deps: what the tests need beyond the servers. The tests that black-hole a
# connection (test_support::blackhole) drop its packets with iptables, which a fresh
# machine lacks until Docker's package brings it.
test_deps() {
  command -v iptables >/dev/null || apt_install iptables
}

# python_tools: a virtualenv in the cache with the Python checkers the scripts use
# (check-jsonschema, PyYAML, openapi-spec-validator); prints its bin directory.
python_tools() {
  local venv="$SAGA_CACHE/venv"
  if [ ! -x "$venv/bin/openapi-spec-validator" ] || [ ! -x "$venv/bin/check-jsonschema" ] \
    || ! "$venv/bin/python" -c "import yaml" 2>/dev/null; then
    say "Installing check-jsonschema, PyYAML and openapi-spec-validator from PyPI into $venv ..."
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check check-jsonschema pyyaml openapi-spec-validator >&2
  fi
  echo "$venv/bin"
}

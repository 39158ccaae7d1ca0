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

KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
POSTGRES_PORT=5432
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

# pid_alive NAME: the process recorded in $SAGA_RUN/NAME.pid is running.
pid_alive() {
  local file="$SAGA_RUN/$1.pid"
  [ -f "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null
}

# stop_pid NAME [GRACE_SECONDS]: SIGTERM the recorded process group, SIGKILL after grace.
stop_pid() {
  local name=$1 grace=${2:-30} file="$SAGA_RUN/$1.pid" pid
  if ! pid_alive "$name"; then
    rm -f "$file"
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
  rm -f "$file"
}

# start_detached NAME LOGFILE COMMAND...: runs COMMAND in its own session, in the
# background, output appended to LOGFILE, pid recorded.
start_detached() {
  local name=$1 log=$2
  shift 2
  mkdir -p "$SAGA_RUN" "$(dirname "$log")"
  printf '\n===== %s starting %s =====\n' "$(date -Is)" "$name" >>"$log"
  setsid nohup "$@" >>"$log" 2>&1 </dev/null &
  echo $! >"$SAGA_RUN/$name.pid"
}

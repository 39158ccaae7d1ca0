# The Docker engine and the Compose plugin, for scripts/compose-test and
# compose/local-images/build. Source it after common.sh; do not run it.
#
# A machine of this project has no Docker engine and no registry: Debian's docker.io is
# installed with apt, dockerd is started as root when none answers (and only one we
# started is stopped again), and the Compose v2 plugin is built from the Go module proxy
# into $SAGA_CACHE. A machine that already has Docker and Compose keeps its own.

COMPOSE_VERSION=v2.40.3
DOCKER_LOG="$SAGA_LOGS/dockerd.log"

# docker_install: the engine, its CLI and debootstrap (for the local images), from Debian.
docker_install() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return 0
  apt_install "${missing[@]}"
}

docker_answers() { docker info >/dev/null 2>&1; }

# dockerd_up [DATA_ROOT]: a running engine; starts one (recorded as ours) when none answers.
# With DATA_ROOT the engine keeps its images and containers there (compose-test --cold).
dockerd_up() {
  local data_root=${1:-}
  if docker_answers; then
    [ -z "$data_root" ] || die "a Docker engine is already running; --cold needs to start its own"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "no Docker engine answers, and only root can start one here"
  mkdir -p "$SAGA_LOGS" "$SAGA_RUN"
  say "Starting dockerd${data_root:+ with its data in $data_root} ..."
  start_detached dockerd "$DOCKER_LOG" dockerd dockerd ${data_root:+--data-root "$data_root"}
  wait_until 60 "dockerd" docker_answers || die "dockerd did not answer within 60s; see $DOCKER_LOG"
}

# dockerd_down: stops the engine only if this script started it.
dockerd_down() {
  pid_alive dockerd || return 0
  say "Stopping the dockerd this script started ..."
  stop_pid dockerd 60
}

compose_plugin() { echo "$SAGA_CACHE/compose/$COMPOSE_VERSION/docker-compose"; }

# compose_install: `docker compose` works, with the machine's own plugin or ours.
compose_install() {
  docker compose version >/dev/null 2>&1 && return 0
  if [ ! -x "$(compose_plugin)" ]; then
    command -v go >/dev/null || die "Go is needed to build the Compose plugin (apt-get install golang)."
    # As for Jaeger: `go install` refuses a module with exclude/replace directives, a tool
    # dependency of a throwaway module does not.
    local build="$SAGA_CACHE/compose/build-$COMPOSE_VERSION"
    say "Building Docker Compose $COMPOSE_VERSION from the Go module proxy (a few minutes, once) ..."
    rm -rf "$build"
    mkdir -p "$build"
    (
      cd "$build"
      export GOMODCACHE="$SAGA_CACHE/go/mod" GOCACHE="$SAGA_CACHE/go/build" GOFLAGS=-mod=mod
      go mod init saga.local/compose-build >/dev/null 2>&1
      go get -tool "github.com/docker/compose/v2/cmd@$COMPOSE_VERSION" >&2
      go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
        -o "$(compose_plugin).tmp" github.com/docker/compose/v2/cmd >&2
    )
    mv "$(compose_plugin).tmp" "$(compose_plugin)"
  fi
  # The CLI finds plugins in ~/.docker/cli-plugins.
  mkdir -p "${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  ln -sf "$(compose_plugin)" "${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-compose"
  docker compose version >/dev/null || die "the Compose plugin does not run; see $(compose_plugin)"
}

# Shared by the benchmark scripts (scripts/bench, bench-scale, bench-secure, bench-lever).
# Sourced after common.sh; `measured` and `idle_measured` write under $results.

# calibration RESULTS_DIR: pgbench's transactions per second, two inserts each, for 10 s,
# with 1 and 16 clients, on a scratch database; one JSON line per client count,
# appended to RESULTS_DIR/calibration.jsonl and shown. Runs of different days compare
# through it: this machine's speed changes from day to day by a factor of two or more.
calibration() {
  local results=$1 clients script="$1/calibration.sql"
  say "Calibration: pgbench, two-insert transactions, 1 and 16 clients"
  echo 'INSERT INTO calibration (n) VALUES (1); INSERT INTO calibration (n) VALUES (2);' >"$script"
  psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d postgres -qc 'DROP DATABASE IF EXISTS bench_calibration' \
    -c 'CREATE DATABASE bench_calibration'
  psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d bench_calibration -qc 'CREATE TABLE calibration (id bigserial PRIMARY KEY, n int)'
  for clients in 1 16; do
    pgbench -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -n -c "$clients" -j "$((clients < 2 ? 1 : 2))" -T 10 \
      -f "$script" bench_calibration 2>/dev/null |
      sed -n 's/^tps = \([0-9.]*\).*/{"clients": '"$clients"', "tps": \1}/p' >>"$results/calibration.jsonl"
  done
  psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d postgres -qc 'DROP DATABASE bench_calibration'
  cat "$results/calibration.jsonl" >&2
}

# report ARGS...: scripts/bench_report.py on this machine's PostgreSQL.
report() { POSTGRES_PORT=$POSTGRES_PORT python3 "$REPO_ROOT/scripts/bench_report.py" "$@"; }

# measured LOADFILE CPUFILE COMMAND...: runs a load command, appends its JSON line to
# LOADFILE and the stack's CPU, PostgreSQL commits and Kafka requests per completed
# saga, by process, to CPUFILE. A load that gives no line at all stops the benchmark
# (one that leaves sagas unfinished says so in its line).
measured() {
  local load=$1 cpu=$2 count
  shift 2
  count=$( (cat "$load" 2>/dev/null || true) | wc -l)
  report requests >"$results/requests-before.json"
  report cpu >"$results/cpu-before.json"
  report commits >"$results/commits-before.json"
  { "$@" --json 2>/dev/null || true; } | tail -n 1 >>"$load"
  report cpu >"$results/cpu-after.json"
  report commits >"$results/commits-after.json"
  sleep 1 # the broker counts a request when its response is sent
  report requests >"$results/requests-after.json"
  [ "$(wc -l <"$load")" -gt "$count" ] || die "the load for $load gave no result"
  report cpu-per-saga "$results/cpu-before.json" "$results/cpu-after.json" "$load" \
    --commits "$results/commits-before.json" "$results/commits-after.json" \
    --requests "$results/requests-before.json" "$results/requests-after.json" >>"$cpu"
  tail -n 1 "$load" >&2
}

# idle_measured FILE: after 10 s of rest, the cores each process keeps busy and the
# commits per second over 30 s, appended to FILE as one JSON line.
idle_measured() {
  local seconds=30
  sleep 10 # start-up work (migrations, group joins) is not idleness
  report cpu >"$results/idle-cpu-before.json"
  report commits >"$results/idle-commits-before.json"
  sleep "$seconds"
  report cpu >"$results/idle-cpu-after.json"
  report commits >"$results/idle-commits-after.json"
  report idle "$results"/idle-{cpu-before,cpu-after,commits-before,commits-after}.json "$seconds" \
    | tee -a "$1" >&2
}

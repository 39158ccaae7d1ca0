# Shared by the benchmark scripts (scripts/bench, scripts/bench-scale). Sourced after
# common.sh.

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

#!/usr/bin/env python3
"""Reads what scripts/chaos needs from the services' JSON logs and the order database.

  chaos_report.py first-after SINCE_MS MESSAGE LOG...
      the time (epoch ms) of the first line logged after SINCE_MS whose message is
      MESSAGE, in any of the logs; exits 1 when there is none yet
  chaos_report.py owns-all SINCE_MS KILLED_LOG LOG...
      the time (epoch ms) after SINCE_MS from which the instances of LOG... own every
      partition their group owned at SINCE_MS (KILLED_LOG's among them), counted from
      their "Partitions assigned/revoked/lost" lines since each one's last start;
      exits 1 when they do not yet
  chaos_report.py latency FAULTS
      for each fault of the faults file (lines "epoch_ms kind target"), POST-to-terminal
      latency of the sagas created in the 30 s after it, from the order service's event
      store (the first event's and the terminal event's recorded_at)
"""

import datetime
import json
import subprocess
import sys

WINDOW_S = 30


def log_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            for line in log:
                if line.startswith("{"):
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue
    except FileNotFoundError:
        return


def epoch_ms(timestamp):
    return int(datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)


def first_after(since_ms, message, paths):
    times = []
    for path in paths:
        for entry in log_lines(path):
            fields = entry.get("fields", {})
            if fields.get("message") != message:
                continue
            at = epoch_ms(entry["timestamp"])
            if at > since_ms:
                times.append(at)
                break
    if not times:
        return 1
    print(min(times))
    return 0


# How each rebalance line changes what an instance owns (cooperative-sticky: only the
# partitions that move are listed).
OWNERSHIP = {"Partitions assigned.": 1, "Partitions revoked.": -1,
             "Partitions lost; nothing committed for them.": -1}


def ownership_changes(path):
    """(epoch ms, change) for each rebalance line of the instance's last run."""
    changes = []
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            for line in log:
                if line.startswith("====="):
                    changes = []  # a new start: it owns nothing yet
                    continue
                if not line.startswith("{"):
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                fields = entry.get("fields", {})
                sign = OWNERSHIP.get(fields.get("message"))
                if sign:
                    changes.append((epoch_ms(entry["timestamp"]), sign * int(fields.get("partitions", 0))))
    except FileNotFoundError:
        pass
    return changes


def owns_all(since_ms, killed, others):
    """A takeover is over when the survivors own what the group owned at the kill: a
    survivor's first "Partitions assigned." after it may be its own partitions coming
    back after a session lost to a broker's death."""
    owned_at = lambda changes, t: sum(n for at, n in changes if at <= t)
    survivors = [ownership_changes(path) for path in others]
    wanted = owned_at(ownership_changes(killed), since_ms) + sum(owned_at(c, since_ms) for c in survivors)
    for t in sorted({at for changes in survivors for at, _ in changes if at > since_ms}):
        if sum(owned_at(c, t) for c in survivors) >= wanted:
            print(t)
            return 0
    return 1


def psql(sql):
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", "orders", "-tAF", " ", "-c", sql],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


def latency(faults_path):
    with open(faults_path, encoding="utf-8") as faults:
        for line in faults:
            at_ms, kind, target = line.split()[:3]
            row = psql(f"""
                WITH sagas AS (
                  SELECT min(recorded_at) FILTER (WHERE version = 1) AS created,
                         min(recorded_at) FILTER (WHERE event_type IN ('order.confirmed', 'order.cancelled')) AS ended
                  FROM order_events GROUP BY order_id),
                window_ AS (
                  SELECT extract(epoch FROM ended - created) * 1000 AS ms FROM sagas
                  WHERE created >= to_timestamp({at_ms} / 1000.0)
                    AND created < to_timestamp({at_ms} / 1000.0) + interval '{WINDOW_S} seconds'
                    AND ended IS NOT NULL)
                SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)),
                       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)), round(max(ms))
                FROM window_""")
            count, p50, p99, worst = (row.split() + ["-"] * 4)[:4]
            print(f"  {kind} {target}: {count} sagas created in the {WINDOW_S} s after it, "
                  f"p50 {p50} ms, p99 {p99} ms, max {worst} ms")
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "first-after":
        return first_after(int(argv[2]), argv[3], argv[4:])
    if len(argv) >= 5 and argv[1] == "owns-all":
        return owns_all(int(argv[2]), argv[3], argv[4:])
    if len(argv) == 3 and argv[1] == "latency":
        return latency(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Helpers of scripts/bench: per-hop timings from Jaeger, and the Markdown report.

  bench_report.py hops --jaeger URL --start-us S --end-us E [--limit N]   -> JSON
  bench_report.py cpu                                                    -> JSON
  bench_report.py cpu-per-saga BEFORE AFTER LOAD                         -> JSON
  bench_report.py commits                                                -> JSON
  bench_report.py requests                                               -> JSON
  bench_report.py idle CPU_BEFORE CPU_AFTER COMMITS_BEFORE COMMITS_AFTER SECONDS -> JSON
  bench_report.py render DIR                                             -> Markdown
"""

import argparse
import json
import os
import statistics
import sys
import urllib.parse
import urllib.request


def median_spread(values):
    """Median, min and max of a list, or None when it is empty."""
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def is_database(span):
    """A database span (`db.system.name`): a statement group inside a hop."""
    return any(t["key"] == "db.system.name" for t in span.get("tags", []))


def hops(args):
    """Where the time of a saga goes: every (service, operation) of the sagas that
    began in the window, as its start offset from the POST and its own duration."""
    query = urllib.parse.urlencode(
        {"service": "order-service", "operation": "POST /orders", "start": args.start_us,
         "end": args.end_us, "limit": args.limit})
    with urllib.request.urlopen(f"{args.jaeger}/api/traces?{query}", timeout=120) as response:
        traces = json.load(response)["data"]
    offsets, durations = {}, {}
    for trace in traces:
        processes = {k: v["serviceName"] for k, v in trace["processes"].items()}
        spans = trace["spans"]
        roots = [s for s in spans if s["operationName"] == "POST /orders"]
        if not roots:
            continue
        origin = roots[0]["startTime"]
        seen = set()
        for span in sorted(spans, key=lambda s: s["startTime"]):
            if is_database(span):  # inside a hop, its time counted in the hop's
                continue
            key = f'{processes[span["processID"]]} · {span["operationName"]}'
            if key in seen:  # the first occurrence is the saga's hop; later ones repeat it
                continue
            seen.add(key)
            offsets.setdefault(key, []).append((span["startTime"] - origin) / 1000)
            durations.setdefault(key, []).append(span["duration"] / 1000)
    rows = []
    for key, values in offsets.items():
        rows.append({"hop": key, "sagas": len(values),
                     "start_ms_p50": statistics.median(values),
                     "start_ms_p95": percentile(values, 95),
                     "duration_ms_p50": statistics.median(durations[key])})
    rows.sort(key=lambda r: r["start_ms_p50"])
    json.dump({"traces": len(traces), "hops": rows}, sys.stdout)


# The processes of the stack, by a word of their command line; first match wins (the
# peers first: their command lines may name a postgres:// URL).
PEER_GROUPS = [
    ("dbos", "saga-peer-dbos"), ("restate-server", "restate-server"),
    ("restate-handler", "saga-peer-restate"),
]
OUR_GROUPS = [
    ("postgres", "postgres"), ("kafka", "kafka"), ("order-service", "order-service"),
    ("payment-service", "payment-service"), ("inventory-service", "inventory-service"),
    ("jaeger", "jaeger"),
]
PROCESS_GROUPS = PEER_GROUPS + OUR_GROUPS


def cpu(_args):
    """CPU seconds (user + system) used so far by each process group of the stack."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = {name: 0.0 for name, _ in PROCESS_GROUPS}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        for name, word in PROCESS_GROUPS:
            if word in cmdline:
                totals[name] += (int(fields[11]) + int(fields[12])) / tick
                break
    json.dump(totals, sys.stdout)


def cpu_per_saga(args):
    """Milliseconds of CPU per completed saga, by process group, between two `cpu`
    snapshots around a load run. Processes that exit during the run (database backends
    of closed connections) are not counted; nor is the load generator."""
    before, after = json.load(open(args.before)), json.load(open(args.after))
    completed = read_lines(args.load)[-1]["completed"]
    per_saga = {k: max(0.0, after.get(k, 0) - before.get(k, 0)) * 1000 / completed for k in after}
    per_saga["total"] = sum(per_saga.values())
    if args.commits:
        # Committed transactions in the services' databases per completed saga (the
        # idle stack's ~4/s are not subtracted: a few hundredths of a commit per saga).
        commits_before, commits_after = (json.load(open(path)) for path in args.commits)
        per_saga["commits"] = sum(commits_after.get(db, 0) - commits_before.get(db, 0)
                                  for db in commits_after) / completed
    if args.requests:
        before, after = (json.load(open(path)) for path in args.requests)
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        # FetchConsumer and FetchFollower are parts of Fetch, not requests of their own.
        total = sum(v for k, v in delta.items() if k not in ("FetchConsumer", "FetchFollower"))
        per_saga["requests"] = {"all": total / completed,
                                "produce": delta.get("Produce", 0) / completed,
                                "fetch": delta.get("Fetch", 0) / completed}
    print(json.dumps(per_saga))


def requests(_args):
    """Requests the Kafka broker served so far, by type (its JMX RequestMetrics, read by
    scripts/kafka/BrokerRequests.java attached to the broker's JVM)."""
    import subprocess
    def running_broker(pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if b"kafka.Kafka" not in handle.read():
                    return False
            with open(f"/proc/{pid}/stat") as handle:
                return handle.read().rsplit(")", 1)[1].split()[0] != "T"  # not frozen
        except OSError:
            return False
    pids = [pid for pid in filter(str.isdigit, os.listdir("/proc")) if running_broker(pid)]
    if not pids:
        json.dump({}, sys.stdout)
        return
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kafka", "BrokerRequests.java")
    out = subprocess.run(["java", tool, pids[0]], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    sys.stdout.write(out.strip())


# The databases our stack commits to (Kafka and Jaeger have none); a peer's are all
# others but PostgreSQL's own.
DATABASES = ["orders", "payments", "inventory"]


def commits(_args):
    """Committed transactions so far (pg_stat_database.xact_commit), per database."""
    import subprocess
    port = os.environ.get("POSTGRES_PORT", "5432")
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "postgres", "-tAF,", "-c",
         "SELECT datname, xact_commit FROM pg_stat_database WHERE datname IS NOT NULL "
         "AND datname NOT IN ('postgres', 'template0', 'template1', 'bench_calibration')"],
        capture_output=True, text=True, check=True).stdout
    json.dump({name: int(value) for name, value in
               (line.split(",") for line in out.splitlines() if line.strip())}, sys.stdout)


def idle(args):
    """The idle stack: cores each process used, and commits per second, over SECONDS."""
    cpu_before, cpu_after = json.load(open(args.cpu_before)), json.load(open(args.cpu_after))
    commits_before, commits_after = json.load(open(args.commits_before)), json.load(open(args.commits_after))
    seconds = float(args.seconds)
    cores = {k: max(0.0, cpu_after.get(k, 0) - cpu_before.get(k, 0)) / seconds for k in cpu_after}
    cores["total"] = sum(cores.values())
    per_db = {k: (commits_after.get(k, 0) - commits_before.get(k, 0)) / seconds for k in commits_after}
    print(json.dumps({"cores": cores, "commits_per_s": per_db,
                      "commits_per_s_total": sum(per_db.values()), "seconds": seconds}))


def read_lines(path):
    try:
        with open(path) as handle:
            return [json.loads(line) for line in handle if line.strip().startswith("{")]
    except FileNotFoundError:
        return []


def fmt(stat, unit="", digits=0):
    if stat is None:
        return "–"
    f = f"{{:,.{digits}f}}"
    return f'{f.format(stat["median"])}{unit} ({f.format(stat["min"])}–{f.format(stat["max"])})'


def render(args):
    d = args.dir
    meta = json.load(open(f"{d}/meta.json"))
    out = []
    w = out.append
    w("# Benchmarks\n")
    w(f'Written by `scripts/bench` on {meta["date"]} at commit `{meta["commit"]}`. '
      "Every figure is the median of the runs with the smallest and largest in brackets; "
      "the machine is shared and noisy, so compare the columns of one table, not tables "
      "of different days.\n")
    w("## Machine and versions\n")
    for key in ["cpu", "cores", "memory", "kernel", "rustc", "kafka", "postgres", "jaeger", "profile"]:
        w(f"- {key}: {meta.get(key, '?')}")
    w("\nEverything runs on this one machine: Kafka (one KRaft node), PostgreSQL, Jaeger, the "
      "three services (release build) and the load generator.\n")
    w("Commands:\n")
    w("```")
    w(meta["commands"].strip())
    w("```\n")

    calibration = read_lines(f"{d}/calibration.jsonl")
    if calibration:
        w("## Calibration\n")
        w("`pgbench` on the same PostgreSQL, before everything else: transactions of two "
          "inserts each, per second. Compare runs of different days by this line, not by "
          "their absolute figures.\n")
        w("| clients | transactions/s |")
        w("|---|---|")
        for row in calibration:
            w(f'| {row["clients"]} | {row["tps"]:,.0f} |')
        w("")

    w("## (a) Outbox relay\n")
    runs = read_lines(f"{d}/outbox.jsonl")
    w(f"`sagactl bench outbox`, {len(runs)} runs, events per second:\n")
    w("| relay | events/s |")
    w("|---|---|")
    for key, label in [("batched_eps", "batched relay (this project's)"),
                       ("one_at_a_time_eps", "one-at-a-time (produce, flush, mark)"),
                       ("raw_producer_eps", "raw producer, no database")]:
        w(f"| {label} | {fmt(median_spread([r[key] for r in runs if key in r]))} |")
    batched = median_spread([r["batched_eps"] for r in runs if "batched_eps" in r])
    single = median_spread([r["one_at_a_time_eps"] for r in runs if "one_at_a_time_eps" in r])
    raw = median_spread([r["raw_producer_eps"] for r in runs if "raw_producer_eps" in r])
    if batched and single and raw:
        w(f'\nBatched is {batched["median"] / single["median"]:.0f}× the one-at-a-time relay and '
          f'{batched["median"] / raw["median"]:.0%} of the raw producer.\n')

    w("## (b) Saga throughput at saturation\n")
    w(f'`sagactl load --rate {meta["saturation_rate"]} --count {meta["saturation_orders"]}` '
      "(default outcome mix), the modes alternated run by run. Completed sagas per second "
      "and end-to-end latency (POST to the terminal event):\n")
    w("| tracing | sagas/s | p50 ms | p99 ms | unfinished |")
    w("|---|---|---|---|---|")
    modes = meta["modes"]
    medians = {}
    for mode in modes:
        runs = read_lines(f'{d}/saturation-{mode["name"]}.jsonl')
        rate = median_spread([r["sagas_per_s"] for r in runs])
        medians[mode["name"]] = rate and rate["median"]
        w(f'| {mode["label"]} | {fmt(rate, digits=1)} | '
          f'{fmt(median_spread([r["p50_ms"] for r in runs]))} | '
          f'{fmt(median_spread([r["p99_ms"] for r in runs]))} | '
          f'{sum(r.get("unfinished", 0) for r in runs)} |')
    off = medians.get("off")
    if off:
        w("")
        for mode in modes:
            if mode["name"] != "off" and medians.get(mode["name"]):
                w(f'- {mode["label"]}: {medians[mode["name"]] / off:.0%} of the throughput '
                  f'without tracing (cost {1 - medians[mode["name"]] / off:.0%}).')
    w("")

    w("## (c) Latency at 100 orders/s, every saga traced\n")
    runs = read_lines(f"{d}/latency.jsonl")
    w(f'`sagactl load --rate 100 --duration {meta["latency_seconds"]}`, {len(runs)} runs:\n')
    w("| p50 ms | p95 ms | p99 ms | max ms | sagas/s |")
    w("|---|---|---|---|---|")
    w("| " + " | ".join(fmt(median_spread([r[k] for r in runs]), digits=1)
                        for k in ["p50_ms", "p95_ms", "p99_ms", "max_ms", "sagas_per_s"]) + " |")
    hop = json.load(open(f"{d}/hops.json")) if runs else {"hops": [], "traces": 0}
    w(f'\nWhere the time goes, from {hop["traces"]} traces of the last run in Jaeger: each '
      "hop's start after the `POST /orders` began, and its own duration (first occurrence "
      "per saga; a hop's database spans are in its duration, not rows of their own):\n")
    w("| hop (service · span) | sagas | start p50 ms | start p95 ms | duration p50 ms |")
    w("|---|---|---|---|---|")
    for row in hop["hops"]:
        w(f'| {row["hop"]} | {row["sagas"]} | {row["start_ms_p50"]:.1f} | '
          f'{row["start_ms_p95"]:.1f} | {row["duration_ms_p50"]:.2f} |')
    w("")
    cpu_table(d, modes, w)
    idle_runs = read_lines(f"{d}/idle.jsonl")
    if idle_runs:
        w("## The idle stack\n")
        w(f'No load, {idle_runs[0]["seconds"]:.0f} s after 10 s of rest, {len(idle_runs)} runs: '
          "the cores each process keeps busy, and the transactions committed per second "
          "in the services' databases (`pg_stat_database.xact_commit`).\n")
        w("| process | cores |")
        w("|---|---|")
        for name in [n for n, _ in OUR_GROUPS] + ["total"]:
            w(f"| {name} | {fmt(median_spread([r['cores'].get(name, 0) for r in idle_runs]), digits=3)} |")
        w(f'\nCommits per second: {fmt(median_spread([r["commits_per_s_total"] for r in idle_runs]), digits=1)} '
          "(" + ", ".join(f'{db} {statistics.median(r["commits_per_s"].get(db, 0) for r in idle_runs):.1f}'
                          for db in DATABASES) + ").\n")
    import bench_peers
    bench_peers.render(d, meta, w, helpers=(read_lines, median_spread, fmt, PROCESS_GROUPS))
    notes = f"{d}/notes.md"
    try:
        w(open(notes).read())
    except FileNotFoundError:
        pass
    print("\n".join(out))


def cpu_table(d, modes, w):
    """CPU per saga by process, per saturation mode and at 100 orders/s."""
    columns = [(f"saturation, {m['label']}", f"{d}/cpu-{m['name']}.jsonl") for m in modes]
    columns.append(("100 orders/s, every saga traced", f"{d}/cpu-latency.jsonl"))
    columns = [(label, read_lines(path)) for label, path in columns if read_lines(path)]
    if not columns:
        return
    w("## CPU per completed saga, by process\n")
    w("CPU time (user + system) each part of the stack used during the load, divided by "
      "the sagas completed; median of the runs, in ms. The machine has 2 cores, so "
      "1,000 sagas/s leaves 2 ms per saga for everything.\n")
    w("| process | " + " | ".join(label for label, _ in columns) + " |")
    w("|---|" + "---|" * len(columns))
    for name in [n for n, _ in OUR_GROUPS] + ["total"]:
        cells = [fmt(median_spread([r.get(name, 0) for r in runs]), digits=2) for _, runs in columns]
        w(f"| {name} | " + " | ".join(cells) + " |")
    if any("commits" in r for _, runs in columns for r in runs):
        cells = [fmt(median_spread([r["commits"] for r in runs if "commits" in r]), digits=1)
                 for _, runs in columns]
        w("| PostgreSQL commits per saga | " + " | ".join(cells) + " |")
    for key, label in [("all", "Kafka requests per saga, all"), ("produce", "of which Produce"),
                       ("fetch", "of which Fetch")]:
        if any("requests" in r for _, runs in columns for r in runs):
            cells = [fmt(median_spread([r["requests"][key] for r in runs if "requests" in r]), digits=1)
                     for _, runs in columns]
            w(f"| {label} | " + " | ".join(cells) + " |")
    w("")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hops")
    h.add_argument("--jaeger", required=True)
    h.add_argument("--start-us", type=int, required=True)
    h.add_argument("--end-us", type=int, required=True)
    h.add_argument("--limit", type=int, default=500)
    sub.add_parser("cpu")
    c = sub.add_parser("cpu-per-saga")
    c.add_argument("before")
    c.add_argument("after")
    c.add_argument("load")
    c.add_argument("--commits", nargs=2, metavar=("BEFORE", "AFTER"))
    c.add_argument("--requests", nargs=2, metavar=("BEFORE", "AFTER"))
    sub.add_parser("commits")
    sub.add_parser("requests")
    i = sub.add_parser("idle")
    for name in ["cpu_before", "cpu_after", "commits_before", "commits_after", "seconds"]:
        i.add_argument(name)
    r = sub.add_parser("render")
    r.add_argument("dir")
    args = parser.parse_args()
    {"hops": hops, "cpu": cpu, "cpu-per-saga": cpu_per_saga, "commits": commits,
     "requests": requests, "idle": idle, "render": render}[args.cmd](args)


if __name__ == "__main__":
    main()

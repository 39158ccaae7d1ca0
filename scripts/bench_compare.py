"""Two or more configurations of the stack, side by side, from the files a comparing
benchmark writes (scripts/bench-scale, bench-secure, bench-lever): RESULTS/calibration.jsonl,
and for each configuration KEY, load-KEY.jsonl (sagactl load --json lines) and
cpu-KEY.jsonl (bench_report.py cpu-per-saga lines). With --parts (bench-lever), each
part's files are load-PART-KEY.jsonl and cpu-PART-KEY.jsonl, and the idle part's
idle-KEY.jsonl (bench_report.py idle lines).

    python3 scripts/bench_compare.py RESULTS RUNS ORDERS [--parts LIST] KEY=LABEL...
"""

import json
import statistics
import sys

# The processes of our stack, as bench_report.py groups them.
PROCESSES = ["postgres", "kafka", "order-service", "payment-service", "inventory-service", "jaeger"]


def lines(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def stat(values, digits=1):
    f = f"{{:,.{digits}f}}"
    return f"{f.format(statistics.median(values))} ({f.format(min(values))}–{f.format(max(values))})"


def calibration(results):
    cal = {c["clients"]: c["tps"] for c in lines(f"{results}/calibration.jsonl")}
    print(f"calibration: pgbench {cal.get(1, 0):,.0f} tps (1 client), {cal.get(16, 0):,.0f} tps (16 clients)")


def loaded(results, configurations, title, files=""):
    """The load table of one part (FILES is the part's prefix in the file names) and CPU per
    saga by process; commits and Kafka requests per saga where the runs counted them."""
    print(f"| configuration | sagas/s {title} | CPU per saga, ms | p50 / p99, ms |")
    print("|---|---|---|---|")
    cpu = {}
    for key, label in configurations:
        load, cpu[key] = lines(f"{results}/load-{files}{key}.jsonl"), lines(f"{results}/cpu-{files}{key}.jsonl")
        print(f"| {label} | {stat([l['sagas_per_s'] for l in load])} | {stat([c['total'] for c in cpu[key]])} "
              f"| {statistics.median([l['p50_ms'] for l in load]):,.0f} / "
              f"{statistics.median([l['p99_ms'] for l in load]):,.0f} |")
    print(f"\nCPU per completed saga {title} by process, ms (median)\n")
    print("| process | " + " | ".join(label for _, label in configurations) + " |")
    print("|---|" + "---|" * len(configurations))
    rows = [(process, lambda c, p=process: c.get(p, 0.0), 2) for process in PROCESSES + ["total"]]
    if all("commits" in c for key in cpu for c in cpu[key]):
        rows.append(("PostgreSQL commits per saga", lambda c: c["commits"], 1))
    if all("requests" in c for key in cpu for c in cpu[key]):
        rows += [(f"Kafka requests per saga, {kind}", lambda c, k=kind: c["requests"][k], 1)
                 for kind in ("all", "produce", "fetch")]
    for name, value, digits in rows:
        cells = [statistics.median([value(c) for c in cpu[key]]) for key, _ in configurations]
        print(f"| {name} | " + " | ".join(f"{v:,.{digits}f}" for v in cells) + " |")


def idle(results, configurations):
    """Cores by process and commits per second of the idle stack, per configuration."""
    runs = {key: lines(f"{results}/idle-{key}.jsonl") for key, _ in configurations}
    print("| process | " + " | ".join(label for _, label in configurations) + " |")
    print("|---|" + "---|" * len(configurations))
    for process in PROCESSES + ["total"]:
        print(f"| {process} | " + " | ".join(
            stat([r["cores"].get(process, 0.0) for r in runs[key]], 3) for key, _ in configurations) + " |")
    print("| commits per second | " + " | ".join(
        stat([r["commits_per_s_total"] for r in runs[key]]) for key, _ in configurations) + " |")


PARTS = {
    "saturation": "at saturation",
    "latency": "at 100 orders/s",
}


def main(results, runs, orders, configurations, parts=None):
    calibration(results)
    if parts is None:  # scripts/bench-scale and bench-secure: saturation alone
        print(f"\n{runs} runs of {orders} orders each, alternated; median (min–max)\n")
        loaded(results, configurations, "at saturation")
        return
    print(f"\n{runs} runs, the configurations alternated; median (min–max)")
    for part in parts:
        if part == "idle":
            print("\n## Idle: cores by process over 30 s with no load, and commits per second\n")
            idle(results, configurations)
        else:
            print(f"\n## {PARTS[part].capitalize()}\n")
            loaded(results, configurations, PARTS[part], f"{part}-")


if __name__ == "__main__":
    args = sys.argv[1:]
    parts = None
    if len(args) > 4 and args[3] == "--parts":
        parts = args[4].split(",")
        del args[3:5]
    results, runs, orders, *pairs = args
    main(results, runs, orders, [tuple(pair.split("=", 1)) for pair in pairs], parts)

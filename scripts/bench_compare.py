"""Two or more configurations of the stack, side by side, from the files a comparing
benchmark writes (scripts/bench-scale, scripts/bench-secure): RESULTS/calibration.jsonl,
and for each configuration KEY, load-KEY.jsonl (sagactl load --json lines) and
cpu-KEY.jsonl (bench_report.py cpu-per-saga lines).

    python3 scripts/bench_compare.py RESULTS RUNS ORDERS KEY=LABEL...
"""

import json
import statistics
import sys

# The processes of our stack, as bench_report.py groups them.
PROCESSES = ["postgres", "kafka", "order-service", "payment-service", "inventory-service", "jaeger"]


def lines(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def stat(values):
    return f"{statistics.median(values):,.1f} ({min(values):,.1f}–{max(values):,.1f})"


def main(results, runs, orders, configurations):
    cal = {c["clients"]: c["tps"] for c in lines(f"{results}/calibration.jsonl")}
    print(f"calibration: pgbench {cal.get(1, 0):,.0f} tps (1 client), {cal.get(16, 0):,.0f} tps (16 clients)")
    print(f"\n{runs} runs of {orders} orders each, alternated; median (min–max)\n")
    print("| configuration | sagas/s at saturation | CPU per saga, ms | p50 / p99, ms |")
    print("|---|---|---|---|")
    cpu = {}
    for key, label in configurations:
        load, cpu[key] = lines(f"{results}/load-{key}.jsonl"), lines(f"{results}/cpu-{key}.jsonl")
        print(f"| {label} | {stat([l['sagas_per_s'] for l in load])} | {stat([c['total'] for c in cpu[key]])} "
              f"| {statistics.median([l['p50_ms'] for l in load]):,.0f} / "
              f"{statistics.median([l['p99_ms'] for l in load]):,.0f} |")
    print("\nCPU per completed saga by process, ms (median)\n")
    print("| process | " + " | ".join(label for _, label in configurations) + " |")
    print("|---|" + "---|" * len(configurations))
    for process in PROCESSES + ["total"]:
        cells = [statistics.median([c.get(process, 0.0) for c in cpu[key]]) for key, _ in configurations]
        print(f"| {process} | " + " | ".join(f"{v:,.2f}" for v in cells) + " |")


if __name__ == "__main__":
    results, runs, orders, *pairs = sys.argv[1:]
    main(results, runs, orders, [tuple(pair.split("=", 1)) for pair in pairs])

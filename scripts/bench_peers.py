"""The side-by-side part of docs/benchmarks.md: our stack and the peers of bench/peers/,
and the goals of issue 14 read off the whole run. Rendered by bench_report.py."""

import statistics


def render(d, meta, w, helpers):
    read_lines, median_spread, fmt, process_groups = helpers
    stacks = [s for s in meta.get("stacks", [])
              if read_lines(f'{d}/peer-saturation-{s["name"]}.jsonl')]
    if stacks:
        side_by_side(d, stacks, w, read_lines, median_spread, fmt, process_groups)
    goals(d, meta, stacks, w, read_lines, median_spread)


def median_or_none(values):
    return statistics.median(values) if values else None


# The figures compared stack against stack: the file of (e) each is read from, and its key.
FIGURES = {
    "sagas/s at saturation": ("peer-saturation-{}", "sagas_per_s"),
    "CPU/saga at saturation": ("peer-cpu-saturation-{}", "total"),
    "CPU/saga at 100/s": ("peer-cpu-latency-{}", "total"),
}


def figure_of(d, name, figure, read_lines):
    """One figure of a stack of (e), the median of its runs (None when not measured)."""
    path, key = FIGURES[figure]
    return median_or_none([r[key] for r in read_lines(f"{d}/{path.format(name)}.jsonl")])


def runs_of(d, kind, name, read_lines):
    return read_lines(f"{d}/peer-{kind}-{name}.jsonl"), read_lines(f"{d}/peer-cpu-{kind}-{name}.jsonl")


def busy(cpu_runs, load_runs):
    """Share of the machine's two cores the stack kept busy, per run."""
    return [c["total"] * l["sagas_per_s"] / 2000 for c, l in zip(cpu_runs, load_runs)]


def side_by_side(d, stacks, w, read_lines, median_spread, fmt, process_groups):
    w("## (e) Side by side: our stack and the peers\n")
    w("The same saga (charge, reserve, confirm; refund on a stock-out; a customer's cancel "
      "refunds and releases) with the same load customers, SKUs and outcome mix, driven by "
      "the same `sagactl load`, on each stack in turn and never two at once: ours with its "
      "Kafka and Jaeger, or a peer of `bench/peers/` with our services and Jaeger stopped "
      "and Kafka frozen (see `bench/peers/README.md` for what each peer does and does not do). "
      "Latency is from the request that starts a saga to the moment its outcome is durable "
      "and visible: for us the terminal event on `order-events`, for a peer its answer. Each "
      "stack gets an unmeasured warm-up load first; the stacks alternate run by run.\n")
    w("| stack | sagas/s at saturation | CPU ms/saga at saturation | p50 ms at 100/s | "
      "p99 ms at 100/s | CPU ms/saga at 100/s | machine busy at 100/s | "
      "commits/saga at saturation | commits/saga at 100/s |")
    w("|---|---|---|---|---|---|---|---|---|")
    for s in stacks:
        sat, sat_cpu = runs_of(d, "saturation", s["name"], read_lines)
        lat, lat_cpu = runs_of(d, "latency", s["name"], read_lines)
        cells = [
            fmt(median_spread([r["sagas_per_s"] for r in sat]), digits=1),
            fmt(median_spread([r["total"] for r in sat_cpu]), digits=2),
            fmt(median_spread([r["p50_ms"] for r in lat]), digits=1),
            fmt(median_spread([r["p99_ms"] for r in lat]), digits=1),
            fmt(median_spread([r["total"] for r in lat_cpu]), digits=2),
            fmt(median_spread([100 * b for b in busy(lat_cpu, lat)]), unit="%"),
            fmt(median_spread([r["commits"] for r in sat_cpu if r.get("commits")]), digits=1),
            fmt(median_spread([r["commits"] for r in lat_cpu if r.get("commits")]), digits=1),
        ]
        w(f'| {s["label"]} | ' + " | ".join(cells) + " |")
    unfinished = sum(r.get("unfinished", 0) + r.get("failed_posts", 0)
                     for s in stacks for kind in ("saturation", "latency")
                     for r in runs_of(d, kind, s["name"], read_lines)[0])
    w(f"\nUnfinished sagas and failed requests over all these runs: {unfinished}.\n")

    w("CPU per completed saga by process, ms (median of the runs), at saturation / at 100 orders/s:\n")
    w("| process | " + " | ".join(s["label"] for s in stacks) + " |")
    w("|---|" + "---|" * len(stacks))
    for name, _ in process_groups + [("total", None)]:
        cells = []
        for s in stacks:
            values = []
            for kind in ("saturation", "latency"):
                cpu = runs_of(d, kind, s["name"], read_lines)[1]
                values.append(statistics.median([r.get(name, 0) for r in cpu]) if cpu else 0)
            cells.append("–" if max(values) < 0.005 else f"{values[0]:.2f} / {values[1]:.2f}")
        if any(c != "–" for c in cells):
            w(f"| {name} | " + " | ".join(cells) + " |")
    w("")

    ours = [s for s in stacks if s["name"].startswith("ours")]
    peers = [s for s in stacks if not s["name"].startswith("ours")]
    if ours and peers:
        w("Ratios, ours ÷ peer (medians of the runs; throughput: ≥ 1 is ours faster; CPU per "
          "saga: ≤ 1 is ours cheaper):\n")
        w("| ours | peer | " + " | ".join(FIGURES) + " |")
        w("|---|---|" + "---|" * len(FIGURES))
        for o in ours:
            for p in peers:
                cells = []
                for figure in FIGURES:
                    a = figure_of(d, o["name"], figure, read_lines)
                    b = figure_of(d, p["name"], figure, read_lines)
                    cells.append(f"{a / b:.2f}" if a and b else "–")
                w(f'| {o["label"]} | {p["label"]} | ' + " | ".join(cells) + " |")
        w("")


def p99_runs(d, stacks, read_lines):
    """Per run: our traced p99 at 100/s, and the best peer's p99 in the same run."""
    ours = [r["p99_ms"] for r in read_lines(f"{d}/peer-latency-ours-full.jsonl")]
    peers = [[r["p99_ms"] for r in read_lines(f'{d}/peer-latency-{s["name"]}.jsonl')]
             for s in stacks if not s["name"].startswith("ours")]
    return [(o, min(p[i] for p in peers if i < len(p))) for i, o in enumerate(ours)
            if any(i < len(p) for p in peers)]


def goals(d, meta, stacks, w, read_lines, median_spread):
    rows = []
    med = median_or_none

    def goal(name, value, target, met, unit=""):
        shown = "not measured in this run" if value is None else value
        verdict = "–" if value is None else ("yes" if met else "**no**")
        rows.append(f"| {name} | {shown}{unit if value is not None else ''} | {target} | {verdict} |")

    sampled = med([r["total"] for r in read_lines(f"{d}/cpu-sampled.jsonl")])
    goal("CPU per saga at saturation, 10% head sampling", sampled and f"{sampled:.2f}", "≤ 2.0 ms",
         sampled is not None and sampled <= 2.0, " ms")
    full = med([r["total"] for r in read_lines(f"{d}/cpu-full.jsonl")])
    goal("the same, every saga traced", full and f"{full:.2f}", "≤ 2.6 ms",
         full is not None and full <= 2.6, " ms")
    latency_cpu = read_lines(f"{d}/cpu-latency.jsonl")
    at100 = med([r["total"] for r in latency_cpu])
    goal("CPU per saga at 100 orders/s, every saga traced", at100 and f"{at100:.2f}", "≤ 4 ms",
         at100 is not None and at100 <= 4, " ms")
    c100 = med([r["commits"] for r in latency_cpu if "commits" in r])
    csat = med([r["commits"] for r in read_lines(f"{d}/cpu-full.jsonl") if "commits" in r])
    if c100 is not None or csat is not None:
        shown = " / ".join("–" if c is None else f"{c:.1f}" for c in (c100, csat))
        goal("PostgreSQL commits per saga at 100/s / at saturation", shown, "≤ 6 / ≤ 1.5",
             c100 is not None and csat is not None and c100 <= 6 and csat <= 1.5)
    rsat = med([r["requests"]["all"] for r in read_lines(f"{d}/cpu-full.jsonl") if "requests" in r])
    r100 = med([r["requests"]["all"] for r in latency_cpu if "requests" in r])
    shown = None if rsat is None else f"{rsat:.1f}" + ("" if r100 is None else f" ({r100:.1f})")
    goal("Kafka requests per saga at saturation (at 100/s)", shown, "≤ 6 at saturation",
         rsat is not None and rsat <= 6)
    pairs = p99_runs(d, stacks, read_lines)
    goal("p99 at 100/s ≤ 2× the best peer's, in every run",
         pairs and ", ".join(f"{o:,.0f} vs {p:,.0f} ms" for o, p in pairs) or None,
         "every run ≤ 2×", bool(pairs) and all(o <= 2 * p for o, p in pairs))
    idle = read_lines(f"{d}/idle.jsonl")
    cores = med([r["cores"]["total"] for r in idle])
    per_s = med([r["commits_per_s_total"] for r in idle])
    goal("idle stack: cores / commits per second", cores is not None and f"{cores:.3f} / {per_s:.1f}",
         "≤ 0.03 / ≤ 5", cores is not None and cores <= 0.03 and per_s <= 5)
    peers = [s for s in stacks if not s["name"].startswith("ours")]
    for ours, label in (("ours-full", "traced"), ("ours-off", "untraced")):
        sat = figure_of(d, ours, "sagas/s at saturation", read_lines)
        cpu = figure_of(d, ours, "CPU/saga at saturation", read_lines)
        for p in peers:
            psat = figure_of(d, p["name"], "sagas/s at saturation", read_lines)
            pcpu = figure_of(d, p["name"], "CPU/saga at saturation", read_lines)
            if sat and psat:
                goal(f"sagas/s at saturation, ours ({label}) ÷ {p['label']}", f"{sat / psat:.2f}",
                     "≥ 1.0", sat / psat >= 1.0)
            if cpu and pcpu:
                goal(f"CPU per saga at saturation, ours ({label}) ÷ {p['label']}", f"{cpu / pcpu:.2f}",
                     "≤ 1.0", cpu / pcpu <= 1.0)
    w("## Against the goals of issue 14\n")
    w("| goal | this run | target | met |")
    w("|---|---|---|---|")
    for row in rows:
        w(row)
    w("")

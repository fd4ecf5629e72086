#!/usr/bin/env python3
"""Writes bench/results.json, bench/RESULTS.md and bench/plots/*.svg.

    python3 bench/report.py --work DIR [--out bench]
        assembles one run's outputs, as bench/run_all.sh leaves them in DIR:
        cold.json (//bench:cold_bench), NAME.json for each Google Benchmark
        named in RUN_ALL_GOOGLE_BENCHMARKS, residency.md
        (bench/residency_bench.sh), and failed.STEP / skipped.STEP files for
        the steps that did not run; the machine comes from the RUN_ALL_*
        variables run_all.sh exports.
    python3 bench/report.py --results bench/results.json [--out bench]
        writes RESULTS.md and the plots again from an earlier results.json.

Only the standard library: the plots are SVG written by hand.
"""

import argparse
import json
import math
import os
import statistics

# ---------------------------------------------------------------- assembling


def load_json(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read()
    # A benchmark that failed may have left half a document.
    start = text.find("{")
    try:
        return json.loads(text[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        return None


def status_of(work, step):
    for kind in ("failed", "skipped"):
        path = os.path.join(work, f"{kind}.{step}")
        if os.path.exists(path):
            with open(path) as f:
                return f"{kind}: {f.read().strip()}"
    return None


def assemble(work):
    """The results document of one run_all.sh run."""
    env = os.environ

    def get(name, default="unknown"):
        return env.get(f"RUN_ALL_{name}", default)

    environment = {
        "kernel": get("KERNEL"),
        "bench_dir": get("BENCH_DIR"),
        "filesystem": get("FS"),
        "device": get("DEVICE"),
        "read_ahead_kb": get("READ_AHEAD_KB"),
        "transparent_hugepage": get("THP"),
        "cpus": int(get("CPUS", "0")),
        "cpu_model": get("CPU_MODEL"),
        "memory_kib": int(get("MEMORY_KIB", "0")),
        "memory_reclaim": get("MEMORY_RECLAIM", ""),
        "commit": get("COMMIT"),
        "date": get("DATE"),
        "run_seconds": int(get("SECONDS", "0")),
        "quick": get("QUICK", "") == "1",
    }
    google_names = get("GOOGLE_BENCHMARKS", "").split()
    google = {name: load_json(os.path.join(work, f"{name}.json"))
              for name in google_names}
    # Google Benchmark records where its binary ran from: a path of this
    # machine's build cache, which says nothing about the results.
    for report in google.values():
        if report is not None:
            report.get("context", {}).pop("executable", None)
    residency = None
    path = os.path.join(work, "residency.md")
    if os.path.exists(path):
        with open(path) as f:
            markdown = f.read()
        rows, header = [], None
        for line in markdown.splitlines():
            if not line.startswith("|") or line.startswith("| ---"):
                continue
            cells = [c.strip() for c in line.strip("|").split("|")]
            if header is None:
                header = cells
            else:
                rows.append(dict(zip(header, cells)))
        residency = {"report_markdown": markdown, "rows": rows}
    steps = google_names + ["residency_bench", "cold_bench"]
    return {
        "environment": environment,
        "google_benchmarks": google_names,
        "status": {s: status_of(work, s) or "ok" for s in steps},
        "cold_bench": load_json(os.path.join(work, "cold.json")),
        "google_benchmark": google,
        "residency_bench": residency,
    }


# ---------------------------------------------------------------- numbers


def median(values):
    values = [v for v in values or [] if v is not None]
    return statistics.median(values) if values else None


def fmt(value):
    """3 significant digits, with K and M for large numbers."""
    if value is None:
        return "—"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.3g} M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.3g} K"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def pct(value):
    return "—" if value is None else f"{100 * value:.1f}%"


def times(value):
    return "—" if value is None else f"{value:.2f}×"


def ratio(a, b):
    return a / b if a is not None and b else None


def share_of_pages(value):
    return "—" if value is None else f"{value:.2f}"


def us(value):
    return "—" if value is None else f"{fmt(value)} µs"


class Variant:
    def __init__(self, doc):
        self.doc = doc
        self.name = doc["name"]
        self.kind = doc["kind"]
        self.description = doc["description"]
        self.params = doc.get("params", {})
        self.skipped = doc.get("skipped")
        self.values = doc.get("values", [])
        self.metrics = doc.get("metrics", {})

    def label(self):
        return f"`{self.name}`"

    @property
    def median(self):
        return median(self.values)

    def min_max(self):
        values = [v for v in self.values if v is not None]
        if not values:
            return "—"
        return f"{fmt(min(values))}–{fmt(max(values))}"

    def metric(self, name):
        """Median over rounds, or None."""
        return median(self.metrics.get(name))

    def metric_max(self, name):
        values = [v for v in self.metrics.get(name, []) if v is not None]
        return max(values) if values else None


class Workload:
    def __init__(self, doc):
        self.doc = doc
        self.name = doc["name"]
        self.unit = doc["unit"]
        self.rounds = doc["rounds"]
        self.config = doc.get("config", {})
        self.variants = [Variant(v) for v in doc["variants"]]
        keys = {k for v in self.variants for k in v.params}
        # Every workload sweeps at most one parameter.
        self.sweep = keys.pop() if len(keys) == 1 else None
        self.points = []
        for v in self.variants:
            point = v.params.get(self.sweep)
            if point is not None and point not in self.points:
                self.points.append(point)

    def names(self):
        """Variant names in order of appearance."""
        seen = []
        for v in self.variants:
            if v.name not in seen:
                seen.append(v.name)
        return seen

    def at(self, name, point=None):
        """The variant `name` at sweep point `point`; a variant outside the
        sweep (mmap_naive of random_depth) stands at every point."""
        flat = None
        for v in self.variants:
            if v.name != name:
                continue
            if self.sweep is None or v.params.get(self.sweep) == point:
                return v
            if self.sweep not in v.params:
                flat = v
        return flat

    def ran(self, name, point=None):
        v = self.at(name, point)
        return v if v is not None and not v.skipped else None

    def row_variants(self, point=None):
        """The variants of one table: those at `point` and those outside
        the sweep, in order."""
        rows = []
        for name in self.names():
            v = self.at(name, point)
            if v is not None:
                rows.append(v)
        return rows


def rounds_text(w):
    return f"{w.rounds} round{'s' if w.rounds != 1 else ''}"


def per_round_ratios(a, b):
    return [x / y for x, y in zip(a.values, b.values)
            if x is not None and y]


# ---------------------------------------------------------------- plots

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
           "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]


def svg_escape(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def nice_ticks(low, high, count=5):
    """Round tick values covering [low, high] on a linear axis."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    t = first
    while t <= high + step * 1e-9:
        ticks.append(t)
        t += step
    if ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    return ticks


def log_ticks(low, high):
    ticks = []
    t = 10 ** math.floor(math.log10(low))
    while t <= high * 10:
        for m in (1, 2, 5):
            if low / 1.0001 <= t * m <= high * 1.0001:
                ticks.append(t * m)
        t *= 10
    return ticks


def line_plot(path, title, x_label, y_label, series, log_x=True,
              log_y=False, x_ticks=None, colors=None):
    """Writes an SVG line plot. `series`: [(name, [(x, y), ...], dashed)];
    points whose y is None are left out. `colors` maps names to colors, so
    that a variant keeps its color from plot to plot."""
    series = [(n, [(x, y) for x, y in pts if y is not None and y > 0], d)
              for n, pts, d in series]
    series = [s for s in series if s[1]]
    if not series:
        return False
    width, height = 860, 480
    left, right, top, bottom = 80, 230, 40, 60
    pw, ph = width - left - right, height - top - bottom
    xs = [x for _, pts, _ in series for x, _ in pts]
    ys = [y for _, pts, _ in series for _, y in pts]
    x_lo, x_hi = min(xs), max(xs)
    if x_lo == x_hi:
        x_lo, x_hi = x_lo / 2, x_hi * 2
    if log_y:
        y_ticks = log_ticks(min(ys), max(ys))
        y_lo = min([min(ys)] + y_ticks)
        y_hi = max([max(ys)] + y_ticks)
    else:
        y_ticks = nice_ticks(0, max(ys))
        y_lo, y_hi = 0, y_ticks[-1]

    def fx(x):
        if log_x:
            return left + pw * (math.log(x) - math.log(x_lo)) / (
                math.log(x_hi) - math.log(x_lo))
        return left + pw * (x - x_lo) / (x_hi - x_lo)

    def fy(y):
        if log_y:
            return top + ph - ph * (math.log(y) - math.log(y_lo)) / (
                math.log(y_hi) - math.log(y_lo))
        return top + ph - ph * (y - y_lo) / (y_hi - y_lo)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left + pw / 2}" y="22" text-anchor="middle" '
           f'font-size="15">{svg_escape(title)}</text>']
    for t in y_ticks:
        y = fy(t)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" '
                   f'y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{svg_escape(fmt(t))}</text>')
    for t in x_ticks or sorted(set(xs)):
        x = fx(t)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" '
                   f'y2="{top + ph}" stroke="#eee"/>')
        out.append(f'<text x="{x:.1f}" y="{top + ph + 18}" '
                   f'text-anchor="middle">{svg_escape(fmt(t))}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" '
               'fill="none" stroke="black"/>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 15}" '
               f'text-anchor="middle">{svg_escape(x_label)}</text>')
    out.append(f'<text x="18" y="{top + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 18 {top + ph / 2})">'
               f'{svg_escape(y_label)}</text>')
    for i, (name, pts, dashed) in enumerate(series):
        color = (colors or {}).get(name, PALETTE[i % len(PALETTE)])
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        if len(pts) == 1 and dashed:
            # A value that does not depend on x: a flat line across.
            pts = [(x_lo, pts[0][1]), (x_hi, pts[0][1])]
        coords = " ".join(f"{fx(x):.1f},{fy(y):.1f}" for x, y in pts)
        out.append(f'<polyline points="{coords}" fill="none" '
                   f'stroke="{color}" stroke-width="2"{dash}/>')
        if not dashed:
            for x, y in pts:
                out.append(f'<circle cx="{fx(x):.1f}" cy="{fy(y):.1f}" '
                           f'r="3" fill="{color}"/>')
        ly = top + 10 + 20 * i
        lx = left + pw + 15
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" '
                   f'stroke="{color}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 30}" y="{ly + 4}">{svg_escape(name)}'
                   '</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return True


# ---------------------------------------------------------------- markdown


class Goals:
    """The goals of one workload: each a row marked met or missed."""

    def __init__(self):
        self.rows = []

    def add(self, variant, goal, value_text, met):
        self.rows.append((variant, goal, value_text, met))

    def render(self, md):
        md.append("")
        if not self.rows:
            md.append("Goals: not computed (a variant they need did not run).")
            return
        met = sum(1 for r in self.rows if r[3])
        md.append(f"**Goals: {met} of {len(self.rows)} met.**")
        md.append("")
        md.append("| variant | goal | this run | |")
        md.append("| --- | --- | --- | --- |")
        for variant, goal, value_text, ok in self.rows:
            md.append(f"| `{variant}` | {goal} | {value_text} | "
                      f"{'met' if ok else '**missed**'} |")


def variant_list(md, w):
    md.append("")
    md.append("Variants:")
    md.append("")
    seen = set()
    for v in w.variants:
        if v.name in seen:
            continue
        seen.add(v.name)
        md.append(f"- `{v.name}` ({v.kind}): {v.description}")


def metric_list(md, w):
    notes = w.doc.get("metric_notes", {})
    if notes:
        md.append("")
        md.append("Metrics of bench/results.json: " + "; ".join(
            f"*{name}*: {note}" for name, note in notes.items()) + ".")


def skipped_lines(md, w):
    skipped = {}
    for v in w.variants:
        if v.skipped:
            skipped.setdefault(v.name, v.skipped)
    for name, why in skipped.items():
        md.append("")
        md.append(f"`{name}` skipped: {why}")


def engine_counters(md, w):
    engines = w.doc.get("engines") or {}
    if engines:
        md.append("")
        md.append("Engine counters over the workload: " + "; ".join(
            f"{name}: {text}" for name, text in engines.items()) + ".")


def calls(v):
    p50, p99, top = (v.metric("call_p50_us"), v.metric("call_p99_us"),
                     v.metric("call_max_us"))
    if p50 is None:
        return "—"
    return f"{fmt(p50)} / {fmt(p99)} / {fmt(top)}"


def call_names(v):
    """The mmapio functions whose calls `v` timed, in order."""
    return [k.split(":", 1)[1] for k in v.metrics
            if k.startswith("calls:")]


def calls_by_function(v, with_max=True):
    """"Poll 7.5 / 46 (514); ..." : p99 / max µs (calls) per function."""
    parts = []
    for name in call_names(v):
        p99 = v.metric(f"call_p99_us:{name}")
        text = f"{name} {fmt(p99)}"
        if with_max:
            text += (f" / {fmt(v.metric(f'call_max_us:{name}'))} "
                     f"({fmt(v.metric(f'calls:{name}'))})")
        parts.append(text)
    return "; ".join(parts) if parts else "—"


def section_random_depth(md, w, plots_dir, plot_prefix):
    md.append(f"Median of {rounds_text(w)}, min–max over rounds. Ratios "
              "divide medians at the same depth. *resident*: requests "
              "already resident when asked; *ampl.*: pages cached per page "
              "asked; *calls*: p50 / p99 / max µs inside each call of the "
              "consuming thread (medians over rounds).")
    depths = w.points
    ran = lambda name, d: w.ran(name, d)  # noqa: E731
    names = [n for n in w.names()
             if any(ran(n, d) for d in depths)]
    # The summary: rows are variants, columns depths.
    header = "| variant | " + " | ".join(f"D={d}" for d in depths) + " |"
    rule = "| --- |" + " --- |" * len(depths)
    for title, cell in (
            ("reads/s, median", lambda v, d: fmt(v.median)),
            ("× willneed_touch", lambda v, d: times(
                ratio(v.median, getattr(ran("willneed_touch", d), "median",
                                        None)))),
            ("× fio_direct", lambda v, d: times(
                ratio(v.median, getattr(ran("fio_direct", d), "median",
                                        None)))),
            ("× mmap_naive", lambda v, d: times(
                ratio(v.median, getattr(ran("mmap_naive", d), "median",
                                        None))))):
        md.append("")
        md.append(f"Summary, {title}:")
        md.append("")
        md.append(header)
        md.append(rule)
        for name in names:
            cells = []
            for d in depths:
                v = ran(name, d)
                cells.append(cell(v, d) if v else "—")
            md.append(f"| `{name}` | " + " | ".join(cells) + " |")

    md.append("")
    md.append("Summary, p99 µs inside each call by function (medians over "
              "rounds):")
    md.append("")
    md.append(header)
    md.append(rule)
    for name in names:
        cells = [calls_by_function(ran(name, d), with_max=False)
                 if ran(name, d) else "—" for d in depths]
        if any(c != "—" for c in cells):
            md.append(f"| `{name}` | " + " | ".join(cells) + " |")

    plot = f"{plot_prefix}random_depth.svg"
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    series = []
    for name in names:
        pts = [(float(d), getattr(ran(name, d), "median", None))
               for d in depths]
        flat = w.at(name) is not None and w.sweep not in w.at(name).params
        series.append((name, pts[:1] if flat else pts, flat))
    if line_plot(os.path.join(plots_dir, "random_depth.svg"),
                 "Distinct cold 4 KiB pages, one consuming thread",
                 "requests in flight (depth), log scale", "reads/s (median)",
                 series, x_ticks=[float(d) for d in depths], colors=colors):
        md.append("")
        md.append(f"![reads/s against depth]({plot})")
    p99_series = []
    for name in names:
        pts = [(float(d), ran(name, d).metric("call_p99_us")
                if ran(name, d) else None) for d in depths]
        p99_series.append((name, pts, False))
    if line_plot(os.path.join(plots_dir, "random_depth_call_p99.svg"),
                 "p99 time inside one call of the consuming thread",
                 "requests in flight (depth), log scale",
                 "µs, log scale (median over rounds)", p99_series,
                 log_y=True, x_ticks=[float(d) for d in depths],
                 colors=colors):
        md.append("")
        md.append(f"![call p99 against depth]"
                  f"({plot_prefix}random_depth_call_p99.svg)")

    for d in depths:
        md.append("")
        md.append(f"#### Depth {d}")
        md.append("")
        md.append("| variant | kind | median reads/s | min–max | "
                  "× willneed_touch | × fio_direct | × mmap_naive | "
                  "resident | ampl. | calls p50 / p99 / max µs |")
        md.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        willneed, fio, naive = (ran("willneed_touch", d), ran("fio_direct", d),
                                ran("mmap_naive", d))
        for v in w.row_variants(d):
            if v.skipped:
                continue
            md.append(
                f"| {v.label()} | {v.kind} | {fmt(v.median)} | {v.min_max()} | "
                f"{times(ratio(v.median, willneed and willneed.median))} | "
                f"{times(ratio(v.median, fio and fio.median))} | "
                f"{times(ratio(v.median, naive and naive.median))} | "
                f"{pct(v.metric('resident_share'))} | "
                f"{share_of_pages(v.metric('amplification'))} | {calls(v)} |")

    # The goals hold for what a user gets by default; forced backends and
    # the threads sweep are there to show why the default is what it is.
    goals = Goals()
    for name in names:
        if name not in ("async_single", "async_batch", "engine_prefetch"):
            continue
        if not any(ran(name, d) for d in depths):
            continue
        for base, need in (("willneed_touch", 1.0), ("fio_direct", 0.9)):
            worst = None
            for d in depths:
                v, b = ran(name, d), ran(base, d)
                r = ratio(v and v.median, b and b.median)
                if r is not None and (worst is None or r < worst[0]):
                    worst = (r, d)
            if worst is not None:
                goals.add(name, f"≥ {need:.1f}× {base} at every depth",
                          f"lowest {worst[0]:.2f}× (depth {worst[1]})",
                          worst[0] >= need)
        for d, need in ((64, 4.0), (256, 5.0)):
            v, b = ran(name, d), ran("mmap_naive", d)
            r = ratio(v and v.median, b and b.median)
            if r is not None:
                goals.add(name, f"≥ {need:.0f}× mmap_naive at depth {d}",
                          f"{r:.2f}×", r >= need)
    goals.render(md)


def section_executor(md, w):
    md.append(f"Median of {rounds_text(w)}, min–max over rounds; ticker and "
              "call columns are medians over rounds of each round's "
              "percentile, *majflt* the most over rounds.")
    md.append("")
    md.append("| variant | kind | median records/s | min–max | × naive_mmap | "
              "ticker p50 / p99 / max µs | calls p50 / p99 / max µs | majflt | "
              "resident | ampl. | executor CPU/record |")
    md.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    naive = w.ran("naive_mmap")
    idle = w.ran("idle_loop")
    for v in w.variants:
        if v.skipped:
            continue
        ticker = (f"{fmt(v.metric('ticker_p50_us'))} / "
                  f"{fmt(v.metric('ticker_p99_us'))} / "
                  f"{fmt(v.metric('ticker_max_us'))}")
        cpu = v.metric("executor_cpu_us_per_record")
        md.append(
            f"| {v.label()} | {v.kind} | {fmt(v.median)} | {v.min_max()} | "
            f"{times(ratio(v.median, naive and naive.median))} | {ticker} | "
            f"{calls(v)} | {fmt(v.metric_max('majflt'))} | "
            f"{pct(v.metric('resident_share'))} | "
            f"{share_of_pages(v.metric('amplification'))} | {us(cpu)} |")
    md.append("")
    md.append("Calls by function, p99 / max µs (calls), medians over rounds:")
    md.append("")
    for v in w.variants:
        if v.kind == "mmapio" and not v.skipped:
            md.append(f"- `{v.name}`: {calls_by_function(v)}")
    goals = Goals()
    for v in w.variants:
        if v.kind != "mmapio" or v.skipped:
            continue
        if naive:
            r = ratio(v.median, naive.median)
            if r is not None:
                goals.add(v.name, "≥ 5× naive_mmap records/s", f"{r:.2f}×",
                          r >= 5)
            p99, naive_p99 = v.metric("ticker_p99_us"), naive.metric(
                "ticker_p99_us")
            r = ratio(naive_p99, p99)
            if r is not None:
                goals.add(v.name, "ticker p99 ≥ 10× lower than naive_mmap's",
                          f"{fmt(naive_p99)} / {fmt(p99)} µs = {r:.1f}×",
                          r >= 10)
        if idle:
            p99, idle_p99 = v.metric("ticker_p99_us"), idle.metric(
                "ticker_p99_us")
            r = ratio(p99, idle_p99)
            if r is not None:
                goals.add(v.name, "ticker p99 within 2× of idle_loop's",
                          f"{fmt(p99)} / {fmt(idle_p99)} µs = {r:.2f}×",
                          r <= 2)
        call_p99 = v.metric("call_p99_us")
        if call_p99 is not None:
            goals.add(v.name, "per-call p99 ≤ 20 µs", f"{fmt(call_p99)} µs",
                      call_p99 <= 20)
        majflt = v.metric_max("majflt")
        if majflt is not None:
            goals.add(v.name, "executor majflt = 0 in every round",
                      fmt(majflt), majflt == 0)
    goals.render(md)


def section_sequential(md, w):
    md.append(f"Median of {rounds_text(w)}, min–max over rounds. *× seq*: "
              "median over median of `mmap_sequential` at the same read size; "
              "*worst round × seq*: the lowest ratio of one round's value to "
              "`mmap_sequential`'s in the same round; *scanned*: the least "
              "share of the file a round scanned before the time limit of a "
              "run (100% unless the variant is very slow).")
    sizes = w.points
    names = [n for n in w.names() if any(w.ran(n, s) for s in sizes)]
    md.append("")
    md.append("Summary, GB/s (median):")
    md.append("")
    md.append("| variant | " + " | ".join(f"read {s}" for s in sizes) + " |")
    md.append("| --- |" + " --- |" * len(sizes))
    for name in names:
        cells = [fmt(w.ran(name, s).median) if w.ran(name, s) else "—"
                 for s in sizes]
        md.append(f"| `{name}` | " + " | ".join(cells) + " |")
    goals = Goals()
    for s in sizes:
        md.append("")
        md.append(f"#### Read {s}")
        md.append("")
        md.append("| variant | kind | median GB/s | min–max | × seq | "
                  "worst round × seq | × mmap_naive | majflt | scanned | "
                  "calls p50 / p99 / max µs |")
        md.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        seq, naive = w.ran("mmap_sequential", s), w.ran("mmap_naive", s)
        for v in w.row_variants(s):
            if v.skipped:
                continue
            worst = min(per_round_ratios(v, seq), default=None) if seq else None
            md.append(
                f"| {v.label()} | {v.kind} | {fmt(v.median)} | {v.min_max()} | "
                f"{times(ratio(v.median, seq and seq.median))} | {times(worst)} | "
                f"{times(ratio(v.median, naive and naive.median))} | "
                f"{fmt(v.metric_max('majflt'))} | "
                f"{pct(min(v.metrics.get('scanned_share') or [None]))} | "
                f"{calls(v)} |")
            if v.kind != "mmapio":
                continue
            if seq:
                r = ratio(v.median, seq.median)
                goals.add(v.name, f"read {s}: ≥ 1.0× mmap_sequential",
                          f"{r:.2f}×", r >= 1.0)
                goals.add(v.name,
                          f"read {s}: ≥ 0.9× mmap_sequential in every round",
                          f"lowest {worst:.2f}×", worst >= 0.9)
            if naive:
                r = ratio(v.median, naive.median)
                goals.add(v.name, f"read {s}: ≥ 1.3× mmap_naive",
                          f"{r:.2f}×", r >= 1.3)
    goals.render(md)


def section_hazard(md, w):
    md.append(f"Median of {rounds_text(w)}, min–max over rounds. "
              "`mmapio_async` runs at several chunk sizes (the unit it "
              "requests, with a fixed number of chunks in flight per file); "
              "the other variants at one.")
    threads = next((v for v in w.variants
                    if v.name.endswith("_threads") and not v.skipped), None)
    naive = w.ran("mmap_naive")
    threads_name = threads.name if threads else "threads"
    md.append("")
    md.append(f"| variant | chunk | kind | median GB/s | min–max | "
              f"× {threads_name} | × mmap_naive | executor CPU | majflt | "
              "calls p50 / p99 / max µs |")
    md.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for v in w.variants:
        if v.skipped:
            continue
        md.append(
            f"| {v.label()} | {v.params.get('chunk', '—')} | {v.kind} | "
            f"{fmt(v.median)} | {v.min_max()} | "
            f"{times(ratio(v.median, threads and threads.median))} | "
            f"{times(ratio(v.median, naive and naive.median))} | "
            f"{pct(v.metric('executor_cpu_share'))} | "
            f"{fmt(v.metric_max('majflt'))} | {calls(v)} |")
    goals = Goals()
    for v in w.variants:
        if v.kind != "mmapio" or v.skipped:
            continue
        chunk = v.params.get("chunk")
        where = f", chunk {chunk}" if chunk else ""
        if threads:
            r = ratio(v.median, threads.median)
            goals.add(v.name, f"≥ 1.0× {threads.name}{where}", f"{r:.2f}×",
                      r >= 1.0)
        if naive:
            r = ratio(v.median, naive.median)
            goals.add(v.name, f"≥ 3× mmap_naive (on the executor){where}",
                      f"{r:.2f}×", r >= 3)
    goals.render(md)


TITLES = {
    "random_depth": "Random reads by depth",
    "executor": "One executor thread, many lookups, a ticker",
    "sequential": "Sequential scan",
    "hazard": "The classic hazard: cold files summed on an executor",
}


def section_cold(md, results, plots_dir, plot_prefix):
    cold = results.get("cold_bench")
    md.append("")
    md.append("## Cold page cache (`//bench:cold_bench`)")
    md.append("")
    if cold is None:
        md.append(f"Not measured: {results['status'].get('cold_bench')}.")
        return
    config = cold["config"]
    rounds = config["rounds"]
    md.append(
        "Files the benchmark writes itself (real data, not fallocated) in the "
        f"bench directory ({config['filesystem']}); before every run of every "
        "variant they are dropped from the page cache (fdatasync + "
        "POSIX_FADV_DONTNEED) and checked empty with cachestat. The variants "
        "of a workload, baselines and fio included, run interleaved by round "
        f"for {rounds} round{'s' if rounds != 1 else ''} in one process run, "
        "so that the drift of a shared machine hits them alike. Every run's "
        "checksum must match the pages it was given; the benchmark stops "
        "otherwise.")
    for doc in cold["workloads"]:
        w = Workload(doc)
        md.append("")
        md.append(f"### {TITLES.get(w.name, w.name)} (`{w.name}`, {w.unit})")
        md.append("")
        elapsed = doc.get("elapsed_seconds")
        md.append(doc["description"] + (
            f" All its runs took {elapsed:.0f} s." if elapsed else ""))
        md.append("")
        if w.name == "random_depth":
            section_random_depth(md, w, plots_dir, plot_prefix)
        elif w.name == "executor":
            section_executor(md, w)
        elif w.name == "sequential":
            section_sequential(md, w)
        elif w.name == "hazard":
            section_hazard(md, w)
        skipped_lines(md, w)
        variant_list(md, w)
        metric_list(md, w)
        engine_counters(md, w)


# Google Benchmark: each mmapio operation against the system call it wraps.
PAIRS = {
    "region_bench": [
        ("open + map + unmap + close, 64 MiB file", "BM_RegionOpenClose",
         "BM_RawOpenMapClose"),
        ("residency summary, 64 MiB", "BM_SummarizeResidency", "BM_RawMincore"),
        ("exact per-page map, 64 MiB", "BM_ResidencyMapCapture",
         "BM_RawMincore"),
    ],
    "engine_bench": [
        ("prefetch request, {arg} bytes resident", "BM_PrefetchResident/{arg}",
         "BM_MincoreResident/{arg}"),
    ],
    "guard_bench": [
        ("8-byte load", "BM_Load8Guarded", "BM_Load8Plain"),
        ("4 KiB copy", "BM_Copy4KGuarded", "BM_Copy4KPlain"),
        ("4 KiB visit (memcpy inside GuardedVisit)", "BM_Visit4KGuarded",
         "BM_Copy4KPlain"),
    ],
}
GOOGLE_TITLES = {
    "region_bench": "Region costs against raw system calls",
    "guard_bench": "Guarded access against plain access, resident data",
    "engine_bench": "Prefetch requests for resident pages against one mincore",
}
UNIT_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}


def aggregates(document):
    """{benchmark: {"median": ns, "cv": fraction}} from a Google Benchmark
    JSON; with one repetition, the single run as the median."""
    out = {}
    for b in document.get("benchmarks", []):
        name = b.get("run_name", b["name"])
        if b.get("run_type") == "aggregate":
            entry = out.setdefault(name, {})
            if b["aggregate_name"] == "cv":
                entry["cv"] = b["real_time"]
            else:
                entry[b["aggregate_name"]] = (
                    b["real_time"] * UNIT_NS[b.get("time_unit", "ns")])
        elif b.get("repetitions", 1) <= 1:
            out.setdefault(name, {})["median"] = (
                b["real_time"] * UNIT_NS[b.get("time_unit", "ns")])
    return out


def cv(entry):
    value = entry.get("cv")
    if value is None:
        return "—"
    return f"{100 * value:.1f}%" + (" !" if value > 0.10 else "")


def duration(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def compare(ours_ns, theirs_ns):
    """How mmapio's time compares: "289× faster", "1.19× slower (+1.0 µs)"."""
    if ours_ns <= theirs_ns:
        return f"{theirs_ns / ours_ns:.3g}× faster"
    return (f"{ours_ns / theirs_ns:.3g}× slower "
            f"(+{duration(ours_ns - theirs_ns)})")


def expand(pairs, names):
    """Pairs whose names hold {arg}, once per argument the benchmark ran
    with."""
    for label, ours, theirs in pairs:
        if "{arg}" not in ours:
            yield label, ours, theirs
            continue
        prefix = ours.split("{arg}")[0]
        for name in sorted((n for n in names if n.startswith(prefix)),
                           key=lambda n: (len(n), n)):
            arg = name[len(prefix):]
            yield (label.replace("{arg}", arg), name,
                   theirs.replace("{arg}", arg))


def section_google(md, results):
    for name in results.get("google_benchmarks", []):
        md.append("")
        md.append(f"## {GOOGLE_TITLES.get(name, 'Google Benchmark')} "
                  f"(`//bench:{name}`)")
        md.append("")
        document = results["google_benchmark"].get(name)
        if document is None:
            status = results["status"].get(name, "not run")
            md.append("Not measured" + ("." if status == "ok" else f": {status}."))
            continue
        agg = aggregates(document)
        md.append("Google Benchmark, median of the repetitions; cv is their "
                  "coefficient of variation, and a cv above 10% (marked !) "
                  "means the repetitions disagree, so read that median with "
                  "care.")
        md.append("")
        md.append("| operation | mmapio | median | cv | baseline | median | "
                  "cv | mmapio vs baseline |")
        md.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
        used = set()
        for label, ours, theirs in expand(PAIRS.get(name, []), agg):
            a, b = agg.get(ours), agg.get(theirs)
            used.update((ours, theirs))
            if not a or not b or "median" not in a or "median" not in b:
                md.append(f"| {label} | `{ours}` | missing | | `{theirs}` | | "
                          "| |")
                continue
            md.append(f"| {label} | `{ours}` | {duration(a['median'])} | "
                      f"{cv(a)} | `{theirs}` | {duration(b['median'])} | "
                      f"{cv(b)} | {compare(a['median'], b['median'])} |")
        for other in sorted(set(agg) - used):
            if "median" in agg[other]:
                md.append(f"| (unpaired) | `{other}` | "
                          f"{duration(agg[other]['median'])} | "
                          f"{cv(agg[other])} | | | | |")


def section_residency(md, results):
    md.append("")
    md.append("## Residency (`bench/residency_bench.sh`)")
    md.append("")
    residency = results.get("residency_bench")
    if residency is None:
        status = results["status"].get("residency_bench", "not run")
        md.append("Not measured" + ("." if status == "ok" else f": {status}."))
        return
    # The script's own report, without its title.
    lines = residency["report_markdown"].strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    while lines and not lines[0].strip():
        lines = lines[1:]
    md.extend(lines)


def render(results, out_dir):
    """RESULTS.md and plots/*.svg in `out_dir`."""
    environment = results["environment"]
    plots_dir = os.path.join(out_dir, "plots")
    os.makedirs(plots_dir, exist_ok=True)
    md = ["# mmapio benchmark results", ""]
    md.append(f"Written by `bash bench/run_all.sh` on {environment['date']} at "
              f"commit {environment['commit']}, in "
              f"{environment['run_seconds']} s. Raw numbers: "
              "`bench/results.json`. The machines are shared and noisy; read "
              "the ratios, which compare variants measured interleaved in the "
              "same run.")
    if environment.get("quick"):
        md.append("")
        md.append("**A quick run (`--quick`): small files, one round, few "
                  "repetitions. It checks that everything runs; do not draw "
                  "conclusions from its numbers.**")
    md.append("")
    md.append("| | |")
    md.append("| --- | --- |")
    md.append(f"| kernel | {environment['kernel']} |")
    md.append(f"| bench directory | {environment['bench_dir']}: "
              f"{environment['filesystem']} on {environment['device']} |")
    md.append(f"| read_ahead_kb of that device | "
              f"{environment['read_ahead_kb']} |")
    md.append(f"| transparent huge pages | "
              f"{environment['transparent_hugepage']} |")
    md.append(f"| CPUs | {environment['cpus']} × {environment['cpu_model']} |")
    md.append(f"| memory | {environment['memory_kib'] / 1048576:.1f} GiB |")
    if environment.get("memory_reclaim"):
        md.append(f"| page cache may shrink underneath | "
                  f"{environment['memory_reclaim']} |")
    problems = [f"{s}: {v}" for s, v in results["status"].items() if v != "ok"]
    if problems:
        md.append("")
        md.append("Not measured: " + "; ".join(problems) + ".")
    section_cold(md, results, plots_dir, "plots/")
    section_residency(md, results)
    section_google(md, results)
    path = os.path.join(out_dir, "RESULTS.md")
    if os.path.exists(path):
        with open(path) as f:
            md.extend(kept_sections(f.read(), md))
    with open(path, "w") as f:
        f.write("\n".join(md) + "\n")


def kept_sections(old, md):
    """The "## " sections of an earlier RESULTS.md that this script does not
    write (the RocksDB results of bench/rocksdb_bench.sh), as lines."""
    written = {line for line in md if line.startswith("## ")}
    kept, keep = [], False
    for line in old.rstrip("\n").split("\n"):
        if line.startswith("## "):
            keep = line not in written
            if keep and kept and kept[-1] != "":
                kept.append("")
        if keep:
            kept.append(line)
    return ([""] if kept else []) + kept


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--work", help="a run_all.sh run's output directory")
    source.add_argument("--results", help="an earlier results.json")
    parser.add_argument("--out", default=os.path.dirname(
        os.path.abspath(__file__)), help="where to write (default bench/)")
    args = parser.parse_args()
    if args.work:
        results = assemble(args.work)
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")
    else:
        with open(args.results) as f:
            results = json.load(f)
    render(results, args.out)


if __name__ == "__main__":
    main()

"""Merges the per-engine CSVs of one bench/run.sh suite into <prefix>.csv
(every row, with each engine's peak RSS), <prefix>.md (median ms per query
and engine, ratios to DuckDB, totals, peak RSS) and <prefix>.svg (total time
as a ratio to DuckDB's). Fails when an engine's row count differs from
DuckDB's. A query only fsql runs (`q8-take`) is compared with the DuckDB
query it stands for, given as `name=anchor_query`.
usage: report.py WORK_DIR PREFIX SUITE NOTE [name=anchor_query]..."""
import csv, glob, os, sys

ANCHOR = "duckdb"

def number(v):
    try:
        return float(v)
    except ValueError:
        return None

def main():
    work, prefix, suite, note = sys.argv[1:5]
    alias = dict(a.split("=", 1) for a in sys.argv[5:])
    rows, rss = [], {}
    for path in sorted(glob.glob(os.path.join(work, "*.csv"))):
        name = os.path.basename(path)[:-4]
        with open(os.path.join(work, name + ".rss")) as f:
            rss_kib = int(f.read().split()[-1])
        for r in csv.DictReader(open(path)):
            rss[r["engine"]] = rss_kib
            rows.append(r)
    engines = sorted({r["engine"] for r in rows}, key=lambda e: (not e.startswith("fsql"), e))
    queries = []
    for r in rows:
        if r["query"] not in queries:
            queries.append(r["query"])
    med = {(r["engine"], r["query"]): number(r["median_ms"]) for r in rows}
    failed = {(r["engine"], r["query"]): r["rows"] for r in rows if number(r["median_ms"]) is None}
    count = {(r["engine"], r["query"]): int(r["rows"]) for r in rows if (r["engine"], r["query"]) not in failed}
    base = lambda q: alias.get(q, q)
    bad = [f"{e} {q}: {count[(e, q)]} rows, {ANCHOR} {count[(ANCHOR, base(q))]}"
           for e in engines for q in queries
           if (e, q) in count and (ANCHOR, base(q)) in count and count[(e, q)] != count[(ANCHOR, base(q))]]

    with open(prefix + ".csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["engine", "query", "best_ms", "median_ms", "rows", "peak_rss_kib"])
        for r in rows:
            w.writerow([r["engine"], r["query"], r["best_ms"], r["median_ms"], r["rows"], rss[r["engine"]]])

    # Totals over the suite's own queries (not the fsql-only variants); an
    # engine that failed some is compared with DuckDB on the ones it ran.
    own = [q for q in queries if q not in alias and (ANCHOR, q) in med]
    total, ratio, missing = {}, {}, {}
    for e in engines:
        ran = [q for q in own if med.get((e, q)) is not None]
        total[e] = sum(med[(e, q)] for q in ran)
        ratio[e] = total[e] / (sum(med[(ANCHOR, q)] for q in ran) or 1.0)
        missing[e] = len(own) - len(ran)
    lines = [f"# {suite} ({note})", "",
             "Median ms per query (1 warm-up, then the timed runs); ratios are to DuckDB in the same run.", "",
             "| query | " + " | ".join(engines) + " |",
             "|---|" + "---:|" * len(engines)]
    for q in queries:
        cells = []
        for e in engines:
            v, a = med.get((e, q)), med.get((ANCHOR, base(q)))
            if (e, q) in failed:
                cells.append(f"error: {failed[(e, q)]}")
            elif v is None:
                cells.append("")
            else:
                cells.append(f"{v:.0f} ({v / a:.2f}×)" if a else f"{v:.0f}")
        label = q if q not in alias else f"{q} (vs {ANCHOR} {alias[q]})"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| **total ms** | " + " | ".join(
        f"**{total[e]:.0f}**" + (f" ({missing[e]} failed)" if missing[e] else "") for e in engines) + " |")
    lines.append("| **total / DuckDB** | " + " | ".join(f"**{ratio[e]:.2f}×**" for e in engines) + " |")
    lines.append("| peak RSS MiB | " + " | ".join(f"{rss[e] / 1024:.0f}" for e in engines) + " |")
    lines += ["", "Row counts: " + ("all equal to DuckDB's." if not bad else "MISMATCH: " + "; ".join(bad))]
    if any(missing.values()):
        lines.append("An engine's total and ratio cover only the queries it ran.")
    with open(prefix + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")

    # A horizontal bar per engine: total time / DuckDB's.
    width, bar_h, left = 680, 26, 170
    scale = (width - left - 110) / max(max(ratio.values()), 1.0)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{60 + bar_h * len(engines)}" font-family="sans-serif" font-size="13">',
           f'<text x="10" y="22" font-weight="bold">{suite}: total time, ratio to DuckDB ({note})</text>']
    for i, e in enumerate(engines):
        y = 40 + i * bar_h
        r = ratio[e]
        color = "#d9822b" if e.startswith("fsql") else "#5b8bd9"
        svg.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{e}</text>')
        svg.append(f'<rect x="{left}" y="{y + 3}" width="{r * scale:.1f}" height="{bar_h - 8}" fill="{color}"/>')
        extra = f" ({missing[e]} failed)" if missing[e] else ""
        svg.append(f'<text x="{left + r * scale + 6:.1f}" y="{y + 16}">{r:.2f}×{extra}</text>')
    svg.append(f'<line x1="{left + scale:.1f}" y1="36" x2="{left + scale:.1f}" y2="{44 + bar_h * len(engines)}" stroke="#888" stroke-dasharray="4"/>')
    svg.append("</svg>")
    with open(prefix + ".svg", "w") as f:
        f.write("\n".join(svg) + "\n")
    print(open(prefix + ".md").read())
    if bad:
        sys.exit("row counts differ from DuckDB's")

if __name__ == "__main__":
    main()

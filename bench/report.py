"""Merges the per-engine CSVs of one bench/run.sh run into
<prefix>.csv (every row, with each engine's peak RSS), <prefix>.md (median ms
per query and engine, totals, ratios to DuckDB, peak RSS) and <prefix>.svg
(total time as a ratio to DuckDB). Fails when an engine's row count differs
from DuckDB's. usage: report.py WORK_DIR PREFIX NOTE"""
import csv, glob, os, sys

ANCHOR = "duckdb"

def main():
    work, prefix, note = sys.argv[1:4]
    rows, rss = [], {}
    for path in sorted(glob.glob(os.path.join(work, "*.csv"))):
        name = os.path.basename(path)[:-4]
        with open(os.path.join(work, name + ".rss")) as f:
            rss_kib = int(f.read().split()[-1])
        for r in csv.DictReader(open(path)):
            rss[r["engine"]] = rss_kib
            rows.append(r)
    engines = sorted({r["engine"] for r in rows}, key=lambda e: (not e.startswith("fsql"), e))
    queries = sorted({r["query"] for r in rows})
    med = {(r["engine"], r["query"]): float(r["median_ms"]) for r in rows}
    count = {(r["engine"], r["query"]): int(r["rows"]) for r in rows}
    bad = [f"{e} {q}: {count[(e, q)]} rows, {ANCHOR} {count[(ANCHOR, q)]}"
           for e in engines for q in queries
           if (e, q) in count and (ANCHOR, q) in count and count[(e, q)] != count[(ANCHOR, q)]]

    with open(prefix + ".csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["engine", "query", "best_ms", "median_ms", "rows", "peak_rss_kib"])
        for r in rows:
            w.writerow([r["engine"], r["query"], r["best_ms"], r["median_ms"], r["rows"], rss[r["engine"]]])

    total = {e: sum(med.get((e, q), 0.0) for q in queries) for e in engines}
    anchor = total.get(ANCHOR) or 1.0
    lines = [f"# TPC-H ({note})", "",
             "Median ms per query (1 warm-up, then the timed runs); ratios are to DuckDB in the same run.", "",
             "| query | " + " | ".join(engines) + " |",
             "|---|" + "---:|" * len(engines)]
    for q in queries:
        cells = []
        for e in engines:
            v = med.get((e, q))
            cells.append("" if v is None else f"{v:.0f} ({v / med[(ANCHOR, q)]:.2f}×)")
        lines.append(f"| {q} | " + " | ".join(cells) + " |")
    lines.append("| **total ms** | " + " | ".join(f"**{total[e]:.0f}**" for e in engines) + " |")
    lines.append("| **total / DuckDB** | " + " | ".join(f"**{total[e] / anchor:.2f}×**" for e in engines) + " |")
    lines.append("| peak RSS MiB | " + " | ".join(f"{rss[e] / 1024:.0f}" for e in engines) + " |")
    lines += ["", "Row counts: " + ("all equal to DuckDB's." if not bad else "MISMATCH: " + "; ".join(bad))]
    with open(prefix + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")

    # A horizontal bar per engine: total time / DuckDB's.
    width, bar_h, left = 640, 26, 170
    scale = (width - left - 70) / max(total[e] / anchor for e in engines)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{60 + bar_h * len(engines)}" font-family="sans-serif" font-size="13">',
           f'<text x="10" y="22" font-weight="bold">TPC-H total time, ratio to DuckDB ({note})</text>']
    for i, e in enumerate(engines):
        y = 40 + i * bar_h
        r = total[e] / anchor
        color = "#d9822b" if e.startswith("fsql") else "#5b8bd9"
        svg.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{e}</text>')
        svg.append(f'<rect x="{left}" y="{y + 3}" width="{r * scale:.1f}" height="{bar_h - 8}" fill="{color}"/>')
        svg.append(f'<text x="{left + r * scale + 6:.1f}" y="{y + 16}">{r:.2f}×</text>')
    svg.append(f'<line x1="{left + scale:.1f}" y1="36" x2="{left + scale:.1f}" y2="{44 + bar_h * len(engines)}" stroke="#888" stroke-dasharray="4"/>')
    svg.append("</svg>")
    with open(prefix + ".svg", "w") as f:
        f.write("\n".join(svg) + "\n")
    print(open(prefix + ".md").read())
    if bad:
        sys.exit("row counts differ from DuckDB's")

if __name__ == "__main__":
    main()

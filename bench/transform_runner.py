"""Runs the TRANSFORM benchmark (see transform.sh) and writes the results."""

import argparse
import csv
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


def make_data(path, rows, groups):
    if os.path.exists(path):
        return
    rng = np.random.default_rng(42)
    g = rng.integers(0, groups, rows, dtype=np.int32)
    x = rng.random(rows)
    y = 2.0 * x + g * 0.001 + rng.normal(0, 0.1, rows)
    pq.write_table(pa.table({"g": g, "x": x, "y": y}), path, row_group_size=1 << 20)


def run_fsql(fsql, script, engine):
    with tempfile.NamedTemporaryFile("w", suffix=".fsql", delete=False) as f:
        f.write(script)
        name = f.name
    try:
        start = time.perf_counter()
        out = subprocess.run(
            [fsql, "run", name, "--engine", engine, "--format", "csv"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - start
    finally:
        os.unlink(name)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return elapsed, out.stdout.strip().splitlines()[-1]


def timed(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        t, result = fn()
        times.append(t)
    return statistics.median(times), result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fsql")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    data = os.path.join(ROOT, "bench", "data", f"transform_{a.rows}_{a.groups}.parquet")
    make_data(data, a.rows, a.groups)
    load = f"t = LOAD PARQUET '{data}'\n"
    slope = f"exec('{PY} bench/transform/slope.py')"
    count = f"exec('{PY} bench/transform/count.py')"
    cases = [
        ("sql: per-group slope (regr_slope)", "threads",
         load + "SELECT COUNT(*) AS groups, ROUND(AVG(s), 4) AS slope FROM (SELECT g, regr_slope(y, x) AS s FROM t GROUP BY g)\nPRINT"),
        ("transform pandas slope", "threads",
         load + f"TRANSFORM t PREPARTITION BY g USING {slope} SCHEMA g:int, n:long, slope:double\n"
                "SELECT COUNT(*) AS groups, ROUND(AVG(slope), 4) AS slope\nPRINT"),
        ("transform pandas slope", "local",
         load + f"TRANSFORM t PREPARTITION BY g USING {slope} SCHEMA g:int, n:long, slope:double\n"
                "SELECT COUNT(*) AS groups, ROUND(AVG(slope), 4) AS slope\nPRINT"),
        ("transform pyarrow count", "threads",
         load + f"TRANSFORM t PREPARTITION BY g USING {count} SCHEMA n:long\n"
                "SELECT COUNT(*) AS groups, SUM(n) AS rows\nPRINT"),
        ("sql: row_number() over (partition by g order by x)", "threads",
         load + "SELECT COUNT(*), MAX(rn) FROM (SELECT *, row_number() OVER (PARTITION BY g ORDER BY x) AS rn FROM t)\nPRINT"),
        ("transform built-in row_number", "threads",
         load + "TRANSFORM t PREPARTITION BY g PRESORT x USING row_number PARAMS column:'rn'\n"
                "SELECT COUNT(*), MAX(rn)\nPRINT"),
    ]
    rows = []
    for name, engine, script in cases:
        t, result = timed(lambda: run_fsql(a.fsql, script, engine), a.repeat)
        rows.append({"case": f"fsql {engine}: {name}", "seconds": round(t, 3),
                     "rows_per_s": round(a.rows / t), "result": result})
        print(rows[-1], file=sys.stderr)

    # pandas alone, one process: read + groupby-apply of the same function.
    sys.path.insert(0, os.path.join(ROOT, "bench", "transform"))
    sys.path.insert(0, os.path.join(ROOT, "examples", "transform"))
    from slope import slope as slope_fn  # noqa: E402

    def pandas_run():
        start = time.perf_counter()
        df = pd.read_parquet(data)
        out = pd.concat([slope_fn(part) for _, part in df.groupby("g", sort=False)])
        return time.perf_counter() - start, f"{len(out)},{out['slope'].mean():.4f}"

    t, result = timed(pandas_run, a.repeat)
    rows.append({"case": "pandas (one process): read + groupby-apply slope", "seconds": round(t, 3),
                 "rows_per_s": round(a.rows / t), "result": result})
    print(rows[-1], file=sys.stderr)

    # Overheads on a small table (rows tiny, so the costs are fsql's and the program's).
    small = os.path.join(ROOT, "bench", "data", "transform_small.parquet")
    if not os.path.exists(small):
        pq.write_table(pa.table({"g": np.arange(1000, dtype=np.int32) % 1000,
                                 "x": np.zeros(1000)}), small)
    base = f"t = LOAD PARQUET '{small}'\n"
    over = {}
    for label, script in [
        ("no program (SQL only)", base + "SELECT COUNT(*) FROM t\nPRINT"),
        ("bare program (sh: cat > /dev/null), OUTPUT",
         base + "OUTPUT t USING exec('sh -c \"cat > /dev/null\"')\nSELECT COUNT(*) FROM t\nPRINT"),
        ("python + pyarrow program, 1 group", base + f"TRANSFORM t USING {count} SCHEMA n:long\nSELECT SUM(n)\nPRINT"),
        ("python + pyarrow program, 1000 groups",
         base + f"TRANSFORM t PREPARTITION BY g USING {count} SCHEMA n:long\nSELECT SUM(n)\nPRINT"),
    ]:
        t, _ = timed(lambda: run_fsql(a.fsql, script, "local"), max(a.repeat, 5))
        over[label] = t
        print(label, t, file=sys.stderr)
    sql_only = over["no program (SQL only)"]
    bare_ms = (over["bare program (sh: cat > /dev/null), OUTPUT"] - sql_only) * 1000
    python_ms = (over["python + pyarrow program, 1 group"] - sql_only) * 1000
    per_group_ms = (over["python + pyarrow program, 1000 groups"]
                    - over["python + pyarrow program, 1 group"]) / 999 * 1000

    date = datetime.date.today().isoformat()
    out_csv = os.path.join(ROOT, "bench", "results", f"transform-{date}.csv")
    with open(out_csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["case", "seconds", "rows_per_s", "result"])
        w.writeheader()
        w.writerows(rows)
        for k, v in over.items():
            w.writerow({"case": f"overhead (local, 1,000 rows): {k}", "seconds": round(v, 4)})
    anchor = rows[0]["seconds"]
    md = [f"# TRANSFORM benchmark, {date}", "",
          f"{a.rows:,} rows, {a.groups:,} groups, Parquet; median of {a.repeat} runs; "
          f"`fsql run` processes (start-up included); ratio = time / plain SQL (first row).", "",
          "| case | seconds | rows/s | ratio | result |", "|---|---:|---:|---:|---|"]
    for r in rows:
        md.append(f"| {r['case']} | {r['seconds']:.2f} | {r['rows_per_s']:,} | "
                  f"{r['seconds'] / anchor:.2f}x | {r['result']} |")
    md += ["", "External-program overhead per partition (local engine, 1,000-row table; "
               "one program run serves one physical partition):", "",
           f"- starting a program and streaming to it (fsql's side: spawn, pipes, IPC; `sh -c 'cat > /dev/null'`): {bare_ms:.1f} ms",
           f"- starting python and importing pyarrow (the user program's side): {python_ms:.0f} ms",
           f"- each further group in a running program (one IPC stream each way): {per_group_ms:.3f} ms", ""]
    out_md = out_csv[:-4] + ".md"
    with open(out_md, "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()

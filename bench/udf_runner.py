"""Runs the Python-function benchmark (see udf.sh) and writes the results."""

import argparse
import csv
import datetime
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from transform_runner import make_data, timed  # noqa: E402

PY = sys.executable
UDF = os.path.join(ROOT, "bench", "udf", "slope_udf.py")
FUGUE_ONE = os.path.join(ROOT, "bench", "udf", "fugue_one.py")
GOLDEN_UDF = os.path.join(ROOT, "queries", "python", "udf.py")


def script(data, fn, tail, fugue=False):
    """LOAD, TRANSFORM, and the summary: in SQL for fsql; for fugue the
    transform's rows are yielded and summarised in pandas (fugue's Dask
    engine needs dask-sql for SELECT)."""
    cols = "g:int, n:long, slope:double" if fn == "slope" else "g:int, n:long"
    agg = ", ROUND(AVG(slope), 4) AS slope" if fn == "slope" else ""
    by = "" if tail == "one group" else " PREPARTITION BY g"
    text = (f"t = LOAD '{data}'\n"
            f"r = TRANSFORM t{by} USING {fn} SCHEMA {cols}\n")
    if fugue:
        return text + "YIELD LOCAL DATAFRAME AS result\n"
    return text + f"SELECT COUNT(*) AS groups, SUM(n) AS rows{agg} FROM r\nPRINT\n"


def run_fsql(fsql, text, engine, udf=UDF):
    with tempfile.NamedTemporaryFile("w", suffix=".fsql", delete=False) as f:
        f.write(text)
        name = f.name
    try:
        start = time.perf_counter()
        out = subprocess.run([fsql, "run", name, "--engine", engine, "--format", "csv",
                              "--udf", udf, "--python", PY],
                             cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
    finally:
        os.unlink(name)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return elapsed, out.stdout.strip().splitlines()[-1]


def run_fugue(engine, text, out_dir=None, udf=UDF):
    with tempfile.NamedTemporaryFile("w", suffix=".fsql", delete=False) as f:
        f.write(text)
        name = f.name
    try:
        out = subprocess.run([PY, FUGUE_ONE, engine, name, out_dir or tempfile.gettempdir(), udf],
                             cwd=ROOT, capture_output=True, text=True)
    finally:
        os.unlink(name)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r["seconds"], r["result"]


def rows_of(path):
    if not os.path.exists(path):
        return None
    if path.endswith(".csv"):
        with open(path) as f:
            r = list(csv.reader(f))
        return [r[0]] + sorted(r[1:])
    t = pq.read_table(path)
    return [t.column_names] + sorted(tuple(str(v) for v in r.values()) for r in t.to_pylist())


def same_rows(fsql, work):
    """The golden functions' script on fugue's three engines and fsql's three:
    every saved result compared with fugue native's."""
    text = open(os.path.join(ROOT, "bench", "udf", "compare.fsql")).read()
    runs = {}
    for engine in ["native", "duckdb", "dask"]:
        d = os.path.join(work, f"fugue-{engine}")
        run_fugue(engine, text, d, GOLDEN_UDF)
        runs[f"fugue {engine}"] = d
    for engine in ["local", "threads", "cluster"]:
        d = os.path.join(work, f"fsql-{engine}")
        os.makedirs(d, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".fsql", delete=False) as f:
            f.write(text)
        out = subprocess.run([fsql, "run", f.name, "--engine", engine, "--udf", GOLDEN_UDF,
                              "--python", PY, "--define", f"out={d}"],
                             cwd=ROOT, capture_output=True, text=True)
        os.unlink(f.name)
        if out.returncode != 0:
            raise RuntimeError(out.stderr)
        runs[f"fsql {engine}"] = d
    ref = runs["fugue native"]
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ref, "r*")))
    diffs = []
    for n in names:
        expected = rows_of(os.path.join(ref, n))
        for label, d in runs.items():
            if rows_of(os.path.join(d, n)) != expected:
                diffs.append(f"{n} on {label}")
    return len(names), list(runs), diffs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fsql")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    data = os.path.join(ROOT, "bench", "data", f"transform_{a.rows}_{a.groups}.parquet")
    make_data(data, a.rows, a.groups)
    big = script(data, "slope", "")
    rows = []

    def add(case, t, result, n=a.rows):
        rows.append({"case": case, "seconds": round(t, 3), "rows_per_s": round(n / t), "result": result})
        print(rows[-1], file=sys.stderr)

    for engine in ["threads", "local", "cluster"]:
        t, result = timed(lambda: run_fsql(a.fsql, big, engine), a.repeat)
        add(f"fsql {engine} (whole `fsql run` process)", t, result)
    for engine in ["native", "duckdb", "dask"]:
        t, result = timed(lambda: run_fugue(engine, script(data, "slope", "", fugue=True)), a.repeat)
        add(f"fugue {engine} (run() only: imports and cluster start excluded)", t, result)

    sys.path.insert(0, os.path.dirname(UDF))
    import pandas as pd
    from slope_udf import slope  # noqa: E402

    def pandas_run():
        start = time.perf_counter()
        df = pd.read_parquet(data)
        out = pd.concat([slope(part) for _, part in df.groupby("g", sort=False)])
        return time.perf_counter() - start, f"{len(out)},{out['n'].sum()},{out['slope'].mean():.4f}"

    t, result = timed(pandas_run, a.repeat)
    add("pandas alone (one process): read + groupby-apply", t, result)

    # Cost per group with warm workers: 1,000 one-row groups vs one group.
    small = os.path.join(ROOT, "bench", "data", "udf_small.parquet")
    pq.write_table(pa.table({"g": np.arange(1000, dtype=np.int32), "x": np.zeros(1000),
                             "y": np.zeros(1000)}), small)
    per_group = {}
    for engine in ["local", "threads"]:
        t_many, _ = timed(lambda: run_fsql(a.fsql, script(small, "count", ""), engine), max(a.repeat, 5))
        t_one, _ = timed(lambda: run_fsql(a.fsql, script(small, "count", "one group"), engine), max(a.repeat, 5))
        per_group[f"fsql {engine}"] = (t_many, t_one)
    for engine in ["native", "duckdb"]:
        t_many, _ = timed(lambda: run_fugue(engine, script(small, "count", "", True)), max(a.repeat, 3))
        t_one, _ = timed(lambda: run_fugue(engine, script(small, "count", "one group", True)), max(a.repeat, 3))
        per_group[f"fugue {engine}"] = (t_many, t_one)

    with tempfile.TemporaryDirectory() as work:
        compared, runs, diffs = same_rows(a.fsql, work)

    date = datetime.date.today().isoformat()
    out_csv = os.path.join(ROOT, "bench", "results", f"udf-{date}.csv")
    with open(out_csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["case", "seconds", "rows_per_s", "result"])
        w.writeheader()
        w.writerows(rows)
        for k, (many, one) in per_group.items():
            w.writerow({"case": f"{k}: 1,000 one-row groups", "seconds": round(many, 4)})
            w.writerow({"case": f"{k}: the same rows as one group", "seconds": round(one, 4)})
    fugue_best = min(r["seconds"] for r in rows if r["case"].startswith("fugue"))
    md = [f"# Python functions benchmark, {date}", "",
          f"Per-group pandas slope (`bench/udf/slope_udf.py`, a plain function) over {a.rows:,} rows "
          f"in {a.groups:,} groups, Parquet; median of {a.repeat} runs; "
          f"ratio = time / the fastest fugue engine ({fugue_best:.2f} s).", "",
          "| case | seconds | rows/s | ratio | result |", "|---|---:|---:|---:|---|"]
    for r in rows:
        md.append(f"| {r['case']} | {r['seconds']:.2f} | {r['rows_per_s']:,} | "
                  f"{r['seconds'] / fugue_best:.2f}x | {r['result']} |")
    md += ["", "Cost per group (1,000 one-row groups minus the same 1,000 rows as one group, "
               "divided by 999; fsql: whole processes, workers warm after the first group):", ""]
    for k, (many, one) in per_group.items():
        md.append(f"- {k}: {(many - one) / 999 * 1000:.2f} ms per group "
                  f"({many:.3f} s for 1,000 groups, {one:.3f} s for one)")
    md += ["", f"Same rows: the golden functions' script (`bench/udf/compare.fsql`), {compared} saved "
               f"results on {', '.join(runs)}, compared with fugue native: "
               + ("no differences." if not diffs else f"{len(diffs)} differences: {'; '.join(diffs)}"), ""]
    out_md = out_csv[:-4] + ".md"
    with open(out_md, "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()

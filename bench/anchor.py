"""Runs a benchmark suite on an anchor engine, in-process, and prints CSV:
engine,query,best_ms,median_ms,rows (one warm-up, then RUNS timed runs).
A query the engine cannot run prints `error` and its reason as the times.

usage: anchor.py duckdb|datafusion|polars RUNS QUERIES NAME=FILE.parquet...

QUERIES is a directory of qNN.sql files or one file of `-- name` sections,
read the same way as fsql's bench (engine/benches/suite.rs)."""
import os, statistics, sys, time

def queries(path):
    if os.path.isdir(path):
        return [(f[:-4], open(os.path.join(path, f)).read())
                for f in sorted(os.listdir(path)) if f.endswith(".sql")]
    out = []
    for line in open(path).read().splitlines():
        name = line[3:] if line.startswith("-- ") else None
        if name and " " not in name:
            out.append([name, ""])
        elif out:
            out[-1][1] += line + "\n"
    return out

def main():
    engine, runs, qpath = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    tables = dict(a.split("=", 1) for a in sys.argv[4:])
    if engine == "duckdb":
        import duckdb
        con = duckdb.connect()
        for t, f in tables.items():
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{f}')")
        run = lambda q: con.sql(q).to_arrow_table().num_rows
    elif engine == "datafusion":
        import datafusion
        ctx = datafusion.SessionContext()
        for t, f in tables.items():
            ctx.register_parquet(t, f)
        run = lambda q: sum(b.num_rows for b in ctx.sql(q).collect())
    elif engine == "polars":
        import polars as pl
        ctx = pl.SQLContext({t: pl.scan_parquet(f) for t, f in tables.items()})
        run = lambda q: ctx.execute(q).collect().height
    else:
        sys.exit(f"unknown engine {engine}")
    print("engine,query,best_ms,median_ms,rows", flush=True)
    for name, sql in queries(qpath):
        sql = sql.strip().rstrip(";")
        try:
            n, times = run(sql), []
            for _ in range(runs):
                t0 = time.perf_counter()
                n = run(sql)
                times.append((time.perf_counter() - t0) * 1000)
            print(f"{engine},{name},{min(times):.1f},{statistics.median(times):.1f},{n}", flush=True)
        except Exception as e:  # an engine that lacks a feature: recorded, not fatal
            reason = str(e).splitlines()[0][:60].replace(",", ";") if str(e) else type(e).__name__
            print(f"{engine},{name},error,error,{reason}", flush=True)

if __name__ == "__main__":
    main()

"""fsql under a memory limit against DuckDB under the same limit (see
bench/memory.sh). usage: memory_runner.py FSQL DATA QUERIES [--share S]"""
import argparse, datetime, os, subprocess, sys, tempfile, time
from anchor import queries

DUCKDB = """
import duckdb, sys
con = duckdb.connect()
con.execute("SET threads = {threads}")
con.execute("SET memory_limit = '{limit}MB'")
con.execute("SET temp_directory = '{tmp}'")
con.execute("CREATE VIEW x AS SELECT * FROM read_parquet('{data}')")
con.execute({copy})
"""

def timed(cmd):
    """(seconds, peak RSS MiB, error or None) of one process."""
    with tempfile.NamedTemporaryFile() as rss:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name] + cmd,
                           capture_output=True, text=True)
        secs = time.perf_counter() - t0
        peak = int(open(rss.name).read().split()[-1]) / 1024
    err = None
    if p.returncode != 0:
        lines = [l for l in p.stderr.strip().splitlines() if l.strip()]
        # fsql's first line is the error; Python's (DuckDB) is the last.
        pick = [l for l in lines if "Error" in l and not l.startswith("Traceback")]
        err = (pick or lines or ["failed"])[0 if lines and lines[0].startswith("Error") else -1][:160]
    return secs, peak, err

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fsql"); ap.add_argument("data"); ap.add_argument("queries")
    ap.add_argument("--share", type=float, default=0.25)
    a = ap.parse_args()
    threads = os.cpu_count()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.parquet")
        for name, sql in queries(a.queries):
            sql = sql.strip().rstrip(";")
            script = f"x = LOAD PARQUET '{a.data}'\nr = {sql}\nSAVE r OVERWRITE SINGLE '{out}'\n"
            free_s, free_rss, free_err = timed([a.fsql, "-c", script])
            limit = max(int(free_rss * a.share), 16)
            f_s, f_rss, f_err = timed([a.fsql, "--memory-limit", f"{limit}M", "--temp-dir", tmp, "-c", script])
            copy = repr(f"COPY ({sql}) TO '{out}' (FORMAT PARQUET)")
            code = DUCKDB.format(threads=threads, limit=limit, tmp=tmp, data=a.data, copy=copy)
            d_s, d_rss, d_err = timed([sys.executable, "-c", code])
            rows.append((name, free_s, free_rss, limit, f_s, f_rss, f_err, d_s, d_rss, d_err))
            print(f"{name}: free {free_s:.2f}s {free_rss:.0f}MiB | limit {limit}MiB: fsql {f_s:.2f}s "
                  f"{f_rss:.0f}MiB {f_err or 'ok'} | duckdb {d_s:.2f}s {d_rss:.0f}MiB {d_err or 'ok'}",
                  file=sys.stderr, flush=True)
    stamp = datetime.date.today().isoformat()
    base = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", f"memory-{stamp}")
    with open(base + ".csv", "w") as f:
        f.write("query,fsql_free_s,fsql_free_rss_mib,limit_mib,fsql_s,fsql_rss_mib,fsql_error,duckdb_s,duckdb_rss_mib,duckdb_error\n")
        for r in rows:
            f.write(",".join(str(v if v is not None else "") .replace(",", ";") for v in r) + "\n")
    with open(base + ".md", "w") as f:
        f.write(f"# fsql and DuckDB under a memory limit: h2o groupby, {os.path.basename(a.data)}\n\n")
        f.write(f"Limit: {a.share:.0%} of fsql's peak RSS with its default limit, per question; "
                f"both engines on {threads} threads, results written to Parquet; one process per run, "
                "seconds (wall) and peak RSS (MiB). Ratio: fsql / DuckDB time under the limit; "
                "RSS / limit: fsql's peak over the limit.\n\n")
        f.write("| query | fsql free s | fsql free MiB | limit MiB | fsql s | fsql MiB | RSS / limit | DuckDB s | DuckDB MiB | ratio | note |\n")
        f.write("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
        for (name, fs, frss, lim, s, rss, err, ds, drss, derr) in rows:
            ratio = f"{s / ds:.2f}" if not err and not derr else ""
            note = "; ".join(x for x in [f"fsql: {err}" if err else "", f"DuckDB: {derr}" if derr else ""] if x)
            f.write(f"| {name} | {fs:.2f} | {frss:.0f} | {lim} | {s:.2f} | {rss:.0f} | {rss / lim:.2f} | "
                    f"{ds:.2f} | {drss:.0f} | {ratio} | {note} |\n")
    print(f"wrote {base}.md and {base}.csv", file=sys.stderr)

if __name__ == "__main__":
    main()

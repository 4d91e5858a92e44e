"""Times TPC-H queries through the fsql binary, one whole process per query,
as a user runs it: start-up, LOAD of the 8 tables, the query, and writing
every result row as CSV (`fsql -c` prints the final result in full).
usage: cli_runner.py FSQL DATA_DIR QUERIES_DIR RUNS ENGINE -> CSV on stdout"""
import os, statistics, subprocess, sys, time

TABLES = ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"]

def main():
    fsql, data, queries, runs, engine = sys.argv[1:6]
    runs = int(runs)
    data = os.path.abspath(data)
    loads = "".join(f"{t} = LOAD PARQUET '{os.path.join(data, t)}.parquet'\n" for t in TABLES)
    print("engine,query,best_ms,median_ms,rows")
    for q in range(1, 23):
        sql = open(os.path.join(queries, f"q{q:02d}.sql")).read().strip().rstrip(";")
        cmd = [fsql, "--engine", engine, "--format", "csv", "-c", loads + sql]
        times, rows = [], 0
        for i in range(runs + 1):  # one warm-up
            t0 = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True)
            elapsed = (time.perf_counter() - t0) * 1000
            if out.returncode != 0:
                sys.exit(f"q{q:02d} failed: {out.stderr}")
            rows = max(len(out.stdout.splitlines()) - 1, 0)
            if i > 0:
                times.append(elapsed)
        print(f"fsql-cli-{engine},q{q:02d},{min(times):.1f},{statistics.median(times):.1f},{rows}", flush=True)

if __name__ == "__main__":
    main()

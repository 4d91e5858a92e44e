"""Times a benchmark suite through the fsql binary, one whole process per
query, as a user runs it: start-up, the setup script (LOADs), the query, and
writing every result row as CSV (`fsql -c` prints the final result in full).
usage: cli_runner.py FSQL ENGINE RUNS SETUP_FILE QUERIES -> CSV on stdout
(QUERIES as for bench/anchor.py)."""
import statistics, subprocess, sys, time
from anchor import queries

def main():
    fsql, engine, runs, setup, qpath = sys.argv[1:6]
    setup = open(setup).read()
    print("engine,query,best_ms,median_ms,rows")
    for name, sql in queries(qpath):
        cmd = [fsql, "--engine", engine, "--format", "csv", "-c", setup + sql.strip().rstrip(";")]
        times, rows = [], 0
        for i in range(int(runs) + 1):  # one warm-up
            t0 = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True)
            elapsed = (time.perf_counter() - t0) * 1000
            if out.returncode != 0:
                sys.exit(f"{name} failed: {out.stderr}")
            rows = max(len(out.stdout.splitlines()) - 1, 0)
            if i > 0:
                times.append(elapsed)
        print(f"fsql-cli-{engine},{name},{min(times):.1f},{statistics.median(times):.1f},{rows}", flush=True)

if __name__ == "__main__":
    main()

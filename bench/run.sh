#!/usr/bin/env bash
# TPC-H side by side, in one run: fsql (local, threads, cluster; in-process
# through the library API, and as users run it: one `fsql run` process per
# query), DuckDB and DataFusion-python (same DataFusion major).
#
#   bench/run.sh [--quick] [--sf N] [--runs N]
#
# Generates the data if missing (tpchgen-cli, Parquet), checks that every
# engine returns DuckDB's row counts, and writes bench/results/<date>.csv,
# .md (per-query times and ratios) and .svg (total time ratios), with peak
# RSS per engine (/usr/bin/time, each engine in its own process).
# Ratios are what to compare: absolute times depend on the machine.
set -euo pipefail
. "$(dirname "$0")/env.sh"
sf=1; runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) sf=0.1; runs=1 ;;
    --sf) sf=$2; shift ;;
    --runs) runs=$2; shift ;;
    *) echo "usage: bench/run.sh [--quick] [--sf N] [--runs N]" >&2; exit 2 ;;
  esac
  shift
done
shared="$root/../shared/bench/tpch"
data="$root/bench/data/tpch-sf$sf"
out="$root/bench/results"
stamp=$(date +%Y-%m-%d)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bench_packages tpchgen-cli duckdb "datafusion==55.*"
if [ ! -f "$data/lineitem.parquet" ]; then
  PATH="$venv/bin:$PATH" bash "$shared/gen.sh" "$data" "$sf" >&2
fi

bench_build
cargo bench -q -p fsql-engine --bench tpch --no-run 2>&1 | tail -1 >&2
fsql="$CARGO_TARGET_DIR/release/fsql"
bench=$(ls -t "$CARGO_TARGET_DIR"/release/deps/tpch-* | grep -v '\.d$' | head -1)

# Each engine in its own process, so its peak RSS is its own.
timed() { # name, command...: CSV rows to $work/<name>.csv, peak RSS (KiB) to $work/<name>.rss
  local name=$1; shift
  echo "running $name ..." >&2
  /usr/bin/time -f "%M" -o "$work/$name.rss" "$@" > "$work/$name.csv"
}
for engine in local threads cluster; do
  timed "fsql-$engine" "$bench" "$data" --engines "$engine" --runs "$runs" --queries "$shared/queries"
done
timed duckdb "$venv/bin/python" "$shared/run_anchor.py" duckdb "$data" --runs "$runs"
timed datafusion-python "$venv/bin/python" "$shared/run_anchor.py" datafusion "$data" --runs "$runs"
sed -i 's/^datafusion,/datafusion-python,/' "$work/datafusion-python.csv"
# fsql as users run it: a whole `fsql run` process per query (start-up included).
timed fsql-cli-threads "$venv/bin/python" "$root/bench/cli_runner.py" "$fsql" "$data" "$shared/queries" "$runs" threads

mkdir -p "$out"
"$venv/bin/python" "$root/bench/report.py" "$work" "$out/$stamp" "sf=$sf runs=$runs"
echo "wrote $out/$stamp.csv, $out/$stamp.md, $out/$stamp.svg" >&2

#!/usr/bin/env bash
# Python functions, unchanged, in one run: the per-group pandas slope of
# bench/transform.sh (10M rows, 1,000 groups) as a plain function through
# `fsql run --udf` (threads, local, cluster), through fugue 0.9 running the
# same function and script on pandas, DuckDB and Dask (a local cluster),
# and pandas alone; then 1,000 one-row groups, for the cost per group with
# warm workers. Also checks that fugue and fsql give the same rows on the
# golden functions (queries/python/udf.py) on every engine of both.
#
#   bench/udf.sh [--rows N] [--groups G] [--repeat R]
#
# Writes bench/results/udf-<date>.csv and .md.
set -euo pipefail
. "$(dirname "$0")/env.sh"
venv="$cache/fsql-fugue-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q "fugue[sql,duckdb,dask]>=0.9,<0.10" pandas pyarrow >&2
bench_build
mkdir -p bench/results bench/data
exec "$venv/bin/python" "$root/bench/udf_runner.py" "$CARGO_TARGET_DIR/release/fsql" "$@"

#!/usr/bin/env bash
# fsql under a memory limit against DuckDB under the same limit, in one run:
# the 10 h2o groupby questions on 1e7 rows (../shared/bench/h2o). For each
# question: fsql with its default limit (its peak RSS is the "unlimited"
# peak), then fsql with --memory-limit at a share of that peak (default
# 25%), then DuckDB with SET memory_limit at the same value. Each result is
# written to a Parquet file (SAVE / COPY), so no result is held by a client.
# One process per run, peak RSS from /usr/bin/time.
#
#   bench/memory.sh [--rows 1e7] [--share 0.25]
#
# Writes bench/results/memory-<date>.{csv,md}.
set -euo pipefail
. "$(dirname "$0")/env.sh"
bench_packages duckdb numpy pyarrow
bench_build
rows=1e7
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows=$2; shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
data="$root/bench/data/h2o-G1_${rows}_1e2.parquet"
mkdir -p "$root/bench/data" "$root/bench/results"
[ -f "$data" ] || "$venv/bin/python" "$root/../shared/bench/h2o/gen.py" "$data" "$rows" 100 >&2
exec "$venv/bin/python" "$root/bench/memory_runner.py" "$CARGO_TARGET_DIR/release/fsql" "$data" \
  "$root/../shared/bench/h2o/queries.sql" "${args[@]}"

#!/usr/bin/env bash
# TRANSFORM costs, in one run: a 10M-row table with 1,000 groups, per-group
# user code as an external Python program (pandas, and a pyarrow-only
# program), fsql's built-in transformer, the same logic in plain SQL, and
# pandas' own groupby-apply in one process; plus the per-program-start and
# per-group overhead of the external-process path.
#
#   bench/transform.sh [--rows N] [--groups G] [--repeat R]
#
# fsql runs as users run it (`fsql run`, whole process). Writes
# bench/results/transform-<date>.csv and .md.
set -euo pipefail
. "$(dirname "$0")/env.sh"
bench_packages pandas pyarrow
bench_build
mkdir -p bench/results bench/data
exec "$venv/bin/python" "$root/bench/transform_runner.py" "$CARGO_TARGET_DIR/release/fsql" "$@"

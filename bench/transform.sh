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
cd "$(dirname "$0")/.."
root=$(pwd)
cache="${XDG_CACHE_HOME:-$HOME/.cache}"
venv="$cache/fsql-bench-venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/fsql-target}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q pandas pyarrow >&2
echo "building fsql (release) ..." >&2
cargo build -q --release --bin fsql
mkdir -p bench/results bench/data
exec "$venv/bin/python" "$root/bench/transform_runner.py" "$CARGO_TARGET_DIR/release/fsql" "$@"

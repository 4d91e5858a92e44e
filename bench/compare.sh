#!/usr/bin/env bash
# COMPARE MODELS (fsql threads and embedded cluster) against PyCaret 3.3.2's
# compare_models, locally (n_jobs=-1) and with FugueBackend("dask") on a
# local Dask cluster, in one run: 100,000 x 20 classification and regression
# sets, 6 model classes both have, 5 folds. Wall time, peak RSS, and both
# leaderboards side by side. Writes bench/results/compare-<date>.{md,csv}.
#
#   bench/compare.sh [--rows N] [--folds K] [--only clf|reg] [--skip-fugue]
#
# PyCaret 3.3.2 needs Python 3.11; its venv is made here on first use
# (pip install pycaret==3.3.2 'fugue[dask]' 'pyarrow<17').
set -euo pipefail
. "$(dirname "$0")/env.sh"
bench_packages scikit-learn==1.9.1 pandas pyarrow
pycaret_venv="$cache/fsql-pycaret-venv"
if [ ! -x "$pycaret_venv/bin/python" ]; then
  python3.11 -m venv "$pycaret_venv"
  "$pycaret_venv/bin/pip" install -q pycaret==3.3.2 'fugue[dask]' 'pyarrow<17' >&2
fi
bench_build
mkdir -p bench/results
exec "$pycaret_venv/bin/python" "$root/bench/compare_runner.py" "$CARGO_TARGET_DIR/release/fsql" "$pycaret_venv/bin/python" "$@"

#!/usr/bin/env bash
# Model fit + predict times, fsql vs scikit-learn, in one run, on synthetic
# data (default 100,000 rows x 20 features; classification with 3 classes,
# regression, 8 blobs for k-means), for every model class fsql has.
#
#   bench/ml.sh [--rows N] [--only CLASS[,CLASS]] [--timeout SECS]
#
# fsql runs as users run it: one `fsql run` process to train (LOAD the
# Parquet file + CREATE MODEL) and one to score (LOAD + PREDICT over all rows,
# aggregated so printing costs nothing). scikit-learn gets the same steps in
# one Python process: read the Parquet file, fit; read, predict. Both use
# their default hyper-parameters (which fsql copies). Writes
# bench/results/ml-<date>.csv and .md with times and fsql/scikit-learn ratios.
set -euo pipefail
. "$(dirname "$0")/env.sh"
bench_packages scikit-learn pandas pyarrow
bench_build
mkdir -p bench/results
exec "$venv/bin/python" "$root/bench/ml_runner.py" "$CARGO_TARGET_DIR/release/fsql" "$@"

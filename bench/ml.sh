#!/usr/bin/env bash
# Model fit + predict times, fsql vs scikit-learn (and LightGBM for the
# histogram gradient-boosting classes), in one run, on synthetic data
# (default 100,000 rows x 20 features; classification with 3 classes,
# regression, 8 blobs for k-means), for every model class fsql has.
#
#   bench/ml.sh [--rows N] [--only CLASS[,CLASS]] [--timeout SECS] [--processes]
#
# fsql's estimators are timed in one process (ml/examples/fit_predict.rs), as
# scikit-learn's fit() and predict() are; --processes also times whole `fsql
# run` processes (LOAD + CREATE MODEL; LOAD + PREDICT), which needs fsql's
# release build. Writes bench/results/ml-<date>.csv and .md.
set -euo pipefail
. "$(dirname "$0")/env.sh"
bench_packages scikit-learn==1.9.1 pandas pyarrow lightgbm
cargo build -q --release -p fsql-ml --example fit_predict
args=()
fsql=()
for a in "$@"; do
  if [ "$a" = "--processes" ]; then
    bench_build
    fsql=(--fsql "$CARGO_TARGET_DIR/release/fsql")
  else
    args+=("$a")
  fi
done
mkdir -p bench/results
exec "$venv/bin/python" "$root/bench/ml_runner.py" "$CARGO_TARGET_DIR/release/examples/fit_predict" "${fsql[@]}" "${args[@]}"

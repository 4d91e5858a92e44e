#!/usr/bin/env bash
# fsql serve's fetch throughput, in one run: a 10M-row, 5-column result
#  - in-process: the query's batches pulled in an fsql session (the anchor;
#    cli/examples/fetch_inproc.rs),
#  - through `fsql serve` by Python's ADBC Flight SQL driver (one client),
#  - the loopback limit: a plain Arrow Flight DoGet of pre-built batches of
#    the same size (pyarrow.flight server and client, C++),
#  - 32 ADBC clients at once, each fetching a 32nd, against one client
#    fetching the whole.
#
#   bench/serve.sh [--rows 10000000] [--repeat 3]
#
# Writes bench/results/serve-<date>.{json,md}.
set -euo pipefail
. "$(dirname "$0")/env.sh"
bench_packages adbc_driver_flightsql adbc_driver_manager pyarrow numpy
echo "building fsql and the in-process anchor (release) ..." >&2
cargo build -q --release -p fsql-cli --bin fsql --example fetch_inproc
mkdir -p "$root/bench/results"
exec "$venv/bin/python" "$root/bench/serve_runner.py" \
  "$CARGO_TARGET_DIR/release/fsql" "$CARGO_TARGET_DIR/release/examples/fetch_inproc" "$@"

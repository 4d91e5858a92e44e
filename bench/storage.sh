#!/usr/bin/env bash
# Object-store throughput against local disk, in one run: a Parquet
# dataset read (every column summed) and written (SAVE) from a local
# S3-compatible server (moto; nothing leaves the machine) and from the
# local disk, by `fsql run` on threads.
#
#   bench/storage.sh [--mb 256] [--repeat 3]
#
# Writes bench/results/storage-<date>.csv and .md.
set -euo pipefail
. "$(dirname "$0")/env.sh"
bench_packages pyarrow numpy
moto="$cache/fsql-moto-venv"
if [ ! -x "$moto/bin/moto_server" ]; then
  python3 -m venv "$moto"
  "$moto/bin/pip" install -q "moto[server]" >&2
fi
bench_build
mkdir -p bench/results bench/data
exec "$venv/bin/python" "$root/bench/storage_runner.py" "$CARGO_TARGET_DIR/release/fsql" "$moto/bin/moto_server" "$@"

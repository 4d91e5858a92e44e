#!/usr/bin/env bash
# Object-store throughput against local disk, in one run: a Parquet
# dataset read (every column summed) and written (SAVE) from a local
# S3-compatible server and from the local disk, by `fsql run` on threads.
# The server is s3s-fs (Rust; installed with cargo into the cache on first
# use) or, with --server-kind moto, moto (Python). Nothing leaves the machine.
#
#   bench/storage.sh [--mb 1024] [--repeat 3] [--server-kind s3s|moto]
#
# Writes bench/results/storage-<date>.csv and .md.
set -euo pipefail
. "$(dirname "$0")/env.sh"
bench_packages pyarrow numpy
server="$cache/s3s/bin/s3s-fs"
case " $* " in
  *" moto "*)
    moto="$cache/fsql-moto-venv"
    if [ ! -x "$moto/bin/moto_server" ]; then
      python3 -m venv "$moto"
      "$moto/bin/pip" install -q "moto[server]" >&2
    fi
    server="$moto/bin/moto_server" ;;
  *)
    if [ ! -x "$server" ]; then
      CARGO_TARGET_DIR="$cache/s3s-target" cargo install --root "$cache/s3s" s3s-fs@0.14.1 --features binary >&2
    fi ;;
esac
bench_build
mkdir -p bench/results bench/data
exec "$venv/bin/python" "$root/bench/storage_runner.py" "$CARGO_TARGET_DIR/release/fsql" "$server" "$@"

#!/usr/bin/env bash
# Long fuzzing runs: each fuzzer in turn for a share of --hours, from a
# seed that changes every run (or --seed N to replay), with a release
# build. Findings not yet known (fuzz/src/known.rs) are printed and written,
# shrunk, as golden files to fuzz/findings/; the summary of each run goes to
# fuzz/results/<date>.txt. See docs/testing.md.
#
#   fuzz/run.sh [--hours 1] [--seed N]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
hours=1
seed=$(date +%s)
while [ $# -gt 0 ]; do
  case "$1" in
    --hours) hours=$2; shift ;;
    --seed) seed=$2; shift ;;
    *) echo "usage: fuzz/run.sh [--hours H] [--seed N]" >&2; exit 2 ;;
  esac
  shift
done
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -p fsql-fuzz --manifest-path "$root/Cargo.toml"
bin="$CARGO_TARGET_DIR/release/fsql-fuzz"
total=$(python3 -c "print(int(float('$hours') * 3600))")
mkdir -p "$root/fuzz/results" "$root/fuzz/findings"
out="$root/fuzz/results/$(date +%Y-%m-%d-%H%M).txt"
status=0
# Shares: differential queries 50%, scripts 20%, mutations 20%, files 10%.
for spec in queries:50 scripts:20 mutations:20 files:10; do
  kind=${spec%%:*}
  share=${spec##*:}
  secs=$((total * share / 100))
  echo "== $kind, seed $seed, $secs s" | tee -a "$out"
  "$bin" "$kind" --seed "$seed" --seconds "$secs" \
    --venv "$CARGO_TARGET_DIR/fuzz-venv" --out "$root/fuzz/findings" | tee -a "$out" || status=1
done
echo "summary in $out"
exit $status

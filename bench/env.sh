# Shared set-up of the bench scripts (sourced): the repository root, the
# Python venv the anchors and runners use, and fsql's release build.
#
#   . "$(dirname "$0")/env.sh"      # sets root, cache, venv, CARGO_TARGET_DIR
#   bench_packages duckdb pandas    # the venv, with these packages
#   bench_build                     # fsql, release

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
cache="${XDG_CACHE_HOME:-$HOME/.cache}"
venv="$cache/fsql-bench-venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/fsql-target}"

bench_packages() {
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q "$@" >&2
}

bench_build() {
  echo "building fsql (release) ..." >&2
  cargo build -q --release --bin fsql
}

#!/usr/bin/env bash
# fsql side by side with DuckDB, DataFusion-python (same DataFusion major)
# and Polars, in one run, on three suites:
#   tpch    the 22 TPC-H queries (SF1; tpchgen-cli Parquet)
#   h2o     the 10 h2o groupby questions on 1e7 rows (../shared/bench/h2o),
#           plus fsql's own form of q8: TAKE 2 ROWS PREPARTITION BY id6 PRESORT v3 DESC
#   script  a multi-statement FugueSQL script (LOAD, filter, join, group,
#           sort) against the same logic as one SQL query
#
#   bench/run.sh [--quick] [--runs N] [--suites tpch,h2o,script]
#
# fsql runs in-process through the library API (`fsql-local`, `fsql-threads`,
# `fsql-cluster`; engine/benches/suite.rs) and as users run it: one whole
# `fsql -c` process per query (`fsql-cli-threads`), so start-up shows as the
# gap. Every engine runs in its own process under /usr/bin/time for its peak
# RSS. Data is generated if missing; row counts are checked against DuckDB's.
# Writes bench/results/<date>-<suite>.csv, .md (per-query times, ratios) and
# .svg (ratios). Compare ratios: absolute times depend on the machine.
set -euo pipefail
. "$(dirname "$0")/env.sh"
sf=1; rows=1e7; runs=3; suites=tpch,h2o,script
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) sf=0.1; rows=1e6; runs=1 ;;
    --runs) runs=$2; shift ;;
    --suites) suites=$2; shift ;;
    *) echo "usage: bench/run.sh [--quick] [--runs N] [--suites tpch,h2o,script]" >&2; exit 2 ;;
  esac
  shift
done
shared="$root/../shared/bench"
out="$root/bench/results"
stamp=$(date +%Y-%m-%d)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

bench_packages tpchgen-cli duckdb "datafusion==55.*" polars numpy pyarrow
bench_build
cargo bench -q -p fsql-engine --bench suite --no-run 2>&1 | tail -1 >&2
fsql="$CARGO_TARGET_DIR/release/fsql"
suite=$(ls -t "$CARGO_TARGET_DIR"/release/deps/suite-* | grep -v '\.d$' | head -1)
py="$venv/bin/python"

# timed DIR NAME COMMAND...: CSV to DIR/NAME.csv, peak RSS (KiB) to DIR/NAME.rss
timed() {
  local dir=$1 name=$2; shift 2
  echo "  $name ..." >&2
  /usr/bin/time -f "%M" -o "$dir/$name.rss" "$@" > "$dir/$name.csv"
}

# run_suite NAME SETUP QUERIES FSQL_EXTRA_QUERIES TABLES... : every engine, then the report.
# $suite_runs (default $runs) timed runs per query.
run_suite() {
  local name=$1 setup=$2 queries=$3 extra=$4; shift 4
  local runs=${suite_runs:-$runs}
  local dir="$work/$name"; mkdir -p "$dir"
  echo "suite $name:" >&2
  local fsql_queries=(--queries "$queries")
  [ -n "$extra" ] && fsql_queries+=(--queries "$extra")
  for engine in local threads cluster; do
    timed "$dir" "fsql-$engine" "$suite" --setup "$setup" "${fsql_queries[@]}" --engines "$engine" --runs "$runs"
  done
  for anchor in duckdb datafusion polars; do
    timed "$dir" "$anchor" "$py" "$root/bench/anchor.py" "$anchor" "$runs" "$queries" "$@"
  done
  sed -i 's/^datafusion,/datafusion-python,/' "$dir/datafusion.csv"
  local cli_queries=$queries
  if [ -n "$extra" ]; then  # (extra queries come with a queries file, not a directory)
    cat "$queries" "$extra" > "$dir/all.sql"; cli_queries="$dir/all.sql"
  fi
  timed "$dir" fsql-cli-threads "$py" "$root/bench/cli_runner.py" "$fsql" threads "$runs" "$setup" "$cli_queries"
  "$py" "$root/bench/report.py" "$dir" "$out/$stamp-$name" "$name" "sf=$sf rows=$rows runs=$runs" \
    q8-take=q8 script=query
}

if [[ ,$suites, == *,tpch,* ]]; then
  data="$root/bench/data/tpch-sf$sf"
  [ -f "$data/lineitem.parquet" ] || PATH="$venv/bin:$PATH" bash "$shared/tpch/gen.sh" "$data" "$sf" >&2
  tables=(); : > "$work/tpch-setup.fsql"
  for t in customer lineitem nation orders part partsupp region supplier; do
    tables+=("$t=$data/$t.parquet")
    echo "$t = LOAD PARQUET '$data/$t.parquet'" >> "$work/tpch-setup.fsql"
  done
  run_suite tpch "$work/tpch-setup.fsql" "$shared/tpch/queries" "" "${tables[@]}"
fi

if [[ ,$suites, == *,h2o,* ]]; then
  data="$root/bench/data/h2o-G1_${rows}_1e2.parquet"
  [ -f "$data" ] || "$py" "$shared/h2o/gen.py" "$data" "$rows" 100 >&2
  echo "x = LOAD PARQUET '$data'" > "$work/h2o-setup.fsql"
  run_suite h2o "$work/h2o-setup.fsql" "$shared/h2o/queries.sql" "$root/bench/h2o_take.fsql" "x=$data"
fi

if [[ ,$suites, == *,script,* ]]; then
  data="$root/bench/data/tpch-sf$sf"
  [ -f "$data/lineitem.parquet" ] || PATH="$venv/bin:$PATH" bash "$shared/tpch/gen.sh" "$data" "$sf" >&2
  # The script LOADs its own files; the one-query form reads the tables the setup names.
  printf "lineitem = LOAD PARQUET '%s'\norders = LOAD PARQUET '%s'\n" "$data/lineitem.parquet" "$data/orders.parquet" > "$work/script-setup.fsql"
  sed "s|\$DATA|$data|g" "$root/bench/script.fsql" > "$work/script.sql"
  # Five times the runs: the two forms take ~0.2 s each and differ by less
  # than this machine's run-to-run noise, which 3 runs do not average out.
  suite_runs=$((runs * 5)) run_suite script "$work/script-setup.fsql" "$root/bench/script_query.sql" "$work/script.sql" \
    "lineitem=$data/lineitem.parquet" "orders=$data/orders.parquet"
fi
echo "wrote $out/$stamp-*.{csv,md,svg}" >&2

//! Runs every golden file in `queries/` on every engine (cluster: an
//! embedded Ballista cluster). Each file holds statements and their expected
//! rows (sqllogictest format); a file passes on an engine only when that
//! engine's rows equal the expected ones, so passing on all engines means
//! identical results everywhere (row order is compared exactly unless the
//! record says `rowsort`).
//!
//! `FSQL_GOLDEN_FILTER=substring` runs only matching files;
//! `FSQL_GOLDEN_ENGINES=local,cluster` only those engines.

use std::process::ExitCode;

use fsql_tests::{Target, golden_files, run_golden};

fn main() -> ExitCode {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::set_current_dir(&root).expect("workspace root");
    let filter = std::env::var("FSQL_GOLDEN_FILTER").unwrap_or_default();
    let engines = std::env::var("FSQL_GOLDEN_ENGINES").unwrap_or_default();
    let files = golden_files(&filter);
    assert!(!files.is_empty(), "no golden files found under queries/");
    let targets: Vec<Target> = Target::all_defaults()
        .into_iter()
        .filter(|t| engines.is_empty() || engines.split(',').any(|e| e.trim() == t.engine.name()))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The program the TRANSFORM golden files run (tests/support/transformer.rs).
    let vars = [(
        "FSQL_TRANSFORMER",
        env!("CARGO_BIN_EXE_fsql-test-transformer").to_string(),
    )];
    // The Python functions the files under queries/python/ use, run by a
    // venv's interpreter (made on first use).
    if files
        .iter()
        .any(|f| f.to_string_lossy().contains("/queries/python/"))
    {
        fsql_tests::python::for_golden(
            &std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("transform-venv"),
        );
    }
    let failures = rt.block_on(run_golden(&files, &targets, &vars));
    let runs = files.len() * targets.len();
    println!(
        "\ngolden files: {} passed, {} failed",
        runs - failures.len(),
        failures.len()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

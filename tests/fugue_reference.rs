//! Scripts against real FugueSQL: every script in
//! `tests/fugue_reference/cases.py` runs on fugue 0.9.7 (its native engine,
//! the reference `../shared/spec/fuguesql.md` follows where its engines
//! disagree) and on the `fsql` binary, and the results must be the same rows
//! (`tests/fugue_reference/run.py` compares them). A script fugue rejects is
//! counted, not compared; a known difference is named in the case. The test
//! makes its own venv (fugue[sql], duckdb, pandas, pyarrow) under cargo's target
//! tmp dir, so a fresh machine with `python3` passes.

use std::path::Path;
use std::process::Command;

const FSQL: &str = env!("CARGO_BIN_EXE_fsql");

#[test]
fn scripts_give_fugues_results() {
    let python = fsql_tests::python::venv_with(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("fugue-venv"),
        &["fugue", "fugue_sql_antlr", "duckdb", "pandas", "pyarrow"],
        &["fugue[sql]==0.9.7", "duckdb", "pandas", "pyarrow"],
    );
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(python)
        .current_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fugue_reference"
        ))
        .arg("run.py")
        .arg(FSQL)
        .arg(work.path())
        .env_remove("FSQL_ENGINE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The run compared most of the cases (fugue answers them).
    let summary = stdout.lines().last().unwrap_or_default();
    let compared: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(compared >= 100, "{summary}");
}

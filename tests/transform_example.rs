//! `examples/03_transform.fsql` runs a plain pandas function (examples/
//! transform/trend.py, given with --udf) per store on every engine, and its
//! results agree with the same fit in SQL. The test makes its own Python environment (a venv with pandas
//! and pyarrow from the package index, under cargo's target tmp dir), so a
//! fresh machine with `python3` passes.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;

fn fsql() -> Command {
    let mut c = Command::cargo_bin("fsql").unwrap();
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    c.env_remove("FSQL_ENGINE").env("NO_COLOR", "1");
    c
}

/// The venv's python, created (and filled) on first use, once for all the
/// tests of this file.
fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(make_venv).clone()
}

fn make_venv() -> PathBuf {
    fsql_tests::python::venv(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("transform-venv"))
}

#[test]
fn pandas_per_store_trend_matches_sql_on_every_engine() {
    let python = python();
    let mut outputs = Vec::new();
    for engine in ["local", "threads", "cluster"] {
        let out = fsql()
            .args(["run", "examples/03_transform.fsql", "--engine", engine])
            .args([
                "--udf",
                "examples/transform/trend.py",
                "--format",
                "csv",
                "--python",
            ])
            .arg(&python)
            .assert()
            .success();
        let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        let trend: Vec<&str> = stdout
            .lines()
            .filter(|l| l.ends_with(",true") || l.ends_with(",false"))
            .collect();
        assert_eq!(
            trend.len(),
            6,
            "one trend row per store on {engine}:\n{stdout}"
        );
        assert!(
            trend.iter().all(|l| l.ends_with(",true")),
            "pandas and SQL disagree on {engine}:\n{stdout}"
        );
        assert!(stdout.contains("2,30,1.000523,108.184897,true"), "{stdout}");
        outputs.push(stdout);
    }
    assert_eq!(outputs[0], outputs[1], "local vs threads");
    assert_eq!(outputs[0], outputs[2], "local vs cluster");
}

#[test]
fn a_failing_python_program_reports_its_traceback() {
    let python = python();
    let script = "sales = LOAD 'examples/data/sales.csv' (header=true) COLUMNS store:int, day:int, amount:double\n\
                  TRANSFORM PREPARTITION BY store USING exec('{{ python }} -c \"import sys; sys.stdin.buffer.read(); raise ValueError(42)\"') SCHEMA *\n\
                  PRINT";
    let out = fsql()
        .args(["-c", script, "--define"])
        .arg(format!("python={}", python.display()))
        .assert()
        .failure();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("exited with status 1 on the group store="),
        "{stderr}"
    );
    assert!(stderr.contains("ValueError: 42"), "{stderr}");
}

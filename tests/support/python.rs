//! A Python with pandas and pyarrow for the tests that run Python code
//! (TRANSFORM programs, Python functions): a venv made from the package
//! index under cargo's target tmp folder, so a fresh machine with `python3`
//! passes. Made once and reused by later runs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Makes the venv in `dir` and gives every later golden session its
/// interpreter and `queries/python/udf.py` as `--udf` file (the golden
/// files under `queries/python/` use its functions). Run from the
/// workspace root.
pub fn for_golden(dir: &Path) {
    let python = venv(dir);
    let config = fsql_engine::PythonConfig::new(
        Some(python.to_string_lossy().into_owned()),
        &["queries/python/udf.py"],
    )
    .expect("queries/python/udf.py");
    crate::set_python(config);
}

/// The venv's python in `dir` (created and filled on first use).
pub fn venv(dir: &Path) -> PathBuf {
    venv_with(dir, &["pandas", "pyarrow"], &["pandas", "pyarrow"])
}

/// A venv in `dir` whose python imports `modules`, made with `packages`
/// from the package index when it does not yet.
pub fn venv_with(dir: &Path, modules: &[&str], packages: &[&str]) -> PathBuf {
    let python = dir.join("bin").join("python");
    let import = format!("import {}", modules.join(", "));
    let ready = |p: &Path| {
        Command::new(p)
            .args(["-c", &import])
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && ready(&python) {
        return python;
    }
    let status = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(dir)
        .status()
        .expect("python3 is needed to run Python code in the tests (python3 -m venv)");
    assert!(status.success(), "python3 -m venv failed");
    let status = Command::new(dir.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(packages)
        .status()
        .expect("pip runs");
    assert!(status.success(), "pip install {packages:?} failed");
    assert!(ready(&python), "`{import}` fails in {dir:?}");
    python
}

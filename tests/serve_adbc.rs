//! `fsql serve` from Python through ADBC's Flight SQL driver, as the README
//! shows it: credentials, a script, a bound parameter, pandas, a million
//! rows, errors and metadata (tests/support/adbc_client.py). The test
//! makes its own venv (adbc_driver_flightsql, pyarrow, pandas) under
//! cargo's target tmp dir, so a fresh machine with `python3` passes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const FSQL: &str = env!("CARGO_BIN_EXE_fsql");

fn make_venv() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-venv");
    let python = dir.join("bin").join("python");
    let ready = |p: &Path| {
        Command::new(p)
            .args(["-c", "import adbc_driver_flightsql, pyarrow, pandas"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && ready(&python) {
        return python;
    }
    let status = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir)
        .status()
        .expect("python3 is needed for the ADBC test (python3 -m venv)");
    assert!(status.success(), "python3 -m venv failed");
    let status = Command::new(dir.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args([
            "adbc_driver_flightsql",
            "adbc_driver_manager",
            "pyarrow",
            "pandas",
        ])
        .status()
        .expect("pip runs");
    assert!(status.success(), "pip install of the ADBC driver failed");
    assert!(ready(&python), "the ADBC driver does not import in {dir:?}");
    python
}

#[test]
fn python_adbc_client() {
    let python = make_venv();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "adbc-test-token").unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "adbc-pass").unwrap();
    let log = dir.path().join("serve.log");
    let mut server = Command::new(FSQL)
        .args(["serve", "--bind", "127.0.0.1:0", "--user", "ada"])
        .arg("--password-file")
        .arg(&password)
        .arg("--token-file")
        .arg(&token)
        .arg("--model-dir")
        .arg(dir.path().join("models"))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .expect("the address")
        .to_string();
    let client = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/support/adbc_client.py"
    );
    let out = Command::new(&python)
        .arg(client)
        .arg(format!("grpc://{addr}"))
        .args(["ada", "adbc-pass", "adbc-test-token"])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client failed:\n{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    for check in [
        "basic auth ok",
        "wrong password refused",
        "script ok",
        "parameter and pandas ok",
        "million rows ok",
        "error ok",
        "metadata ok",
    ] {
        assert!(stdout.contains(check), "{check}: {stdout}");
    }
}

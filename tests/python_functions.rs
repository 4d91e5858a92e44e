//! Python functions through the `fsql` binary, as users run them:
//! `--udf`/`FSQL_UDF` and `--python`/`FSQL_PYTHON`, workers that are reused
//! (interpreter starts counted by a wrapper that logs each start) and gone
//! after the run, an error or Ctrl-C, and the errors for an interpreter
//! that is missing or lacks pandas. The statements and interfaces
//! themselves are covered on every engine by `queries/python/*.slt`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::Command;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn fsql() -> Command {
    let mut c = Command::cargo_bin("fsql").unwrap();
    c.current_dir(ROOT);
    c.env_remove("FSQL_ENGINE")
        .env_remove("FSQL_UDF")
        .env_remove("FSQL_PYTHON")
        .env("NO_COLOR", "1");
    c
}

fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            fsql_tests::python::venv(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("transform-venv"))
        })
        .clone()
}

/// A `--python` that appends its pid to `log` on every start, then runs
/// the venv's interpreter.
fn counting_python(dir: &Path, log: &Path) -> PathBuf {
    let wrapper = dir.join("python");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho $$ >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            python().display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    wrapper
}

fn started(log: &Path) -> Vec<u32> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
}

/// Waits up to 5 s for every pid to be gone.
fn all_gone(pids: &[u32]) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if pids.iter().all(|p| !alive(*p)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// 300 groups, five statements: TRANSFORM three times, PROCESS, OUTPUT.
const MANY_GROUPS: &str = "
sales = SELECT CAST(value % 300 AS INT) AS product, CAST(value AS INT) AS id, CAST(value AS BIGINT) AS qty FROM generate_series(1, 3000)
a = TRANSFORM sales PREPARTITION BY product PRESORT id USING add_running_qty
b = TRANSFORM a PREPARTITION BY product USING arrow_count SCHEMA product:int, n:long
c = TRANSFORM sales PREPARTITION BY product USING scaled PARAMS scale:2 SCHEMA product:int, qty:long
s = PROCESS c USING summary PARAMS column:'qty'
SELECT (SELECT COUNT(*) FROM a) AS a, (SELECT SUM(n) FROM b) AS b, (SELECT MAX(running_qty) FROM a) AS r, total FROM s
PRINT
";

#[test]
fn workers_are_reused_across_partitions_and_statements_and_gone_after_the_run() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    for engine in ["local", "threads", "cluster"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("starts.log");
        let wrapper = counting_python(dir.path(), &log);
        let out = fsql()
            .args(["-c", MANY_GROUPS, "--engine", engine, "--format", "csv"])
            .args(["--udf", "queries/python/udf.py", "--python"])
            .arg(&wrapper)
            .assert()
            .success();
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        // 3000 rows; 10 per product; max running total of product 0 (300+...+3000);
        // total of 2 * (1 + ... + 3000).
        assert!(
            stdout.contains("3000,3000,16500,9003000"),
            "{engine}: {stdout}"
        );
        let pids = started(&log);
        // 300 groups x 4 statements = 1,200 calls: one worker per partition
        // running at once, reused by every group and statement. What runs at
        // once: a partition per core (the embedded cluster's two executors
        // each run `cores` tasks), times the three subqueries of the last
        // SELECT, which DataFusion runs side by side.
        let most = 3 * if engine == "cluster" {
            2 * cores
        } else {
            cores
        };
        assert!(
            !pids.is_empty() && pids.len() <= most,
            "{engine}: {} interpreter starts for 1,200 group calls (at most {most} expected)",
            pids.len()
        );
        assert!(
            all_gone(&pids),
            "{engine}: workers left running after the run"
        );
    }
}

#[test]
fn udf_files_and_the_interpreter_come_from_the_environment_too() {
    fsql()
        .args([
            "-c",
            "CREATE USING make PARAMS n:2\nSELECT COUNT(*) AS n\nPRINT",
            "--format",
            "csv",
        ])
        .env(
            "FSQL_UDF",
            "examples/transform/trend.py:queries/python/udf.py",
        )
        .env("FSQL_PYTHON", python())
        .assert()
        .success()
        .stdout("n\n2\n");
}

#[test]
fn workers_are_gone_after_an_error_and_after_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("starts.log");
    let wrapper = counting_python(dir.path(), &log);
    let script = "sales = CREATE [[\"A\",1,3],[\"B\",2,4]] SCHEMA product:str, id:int, qty:long\n\
                  TRANSFORM sales PREPARTITION BY product USING boom SCHEMA *\nPRINT";
    let out = fsql()
        .args(["-c", script, "--udf", "queries/python/udf.py", "--python"])
        .arg(&wrapper)
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("ValueError: boom on"), "{stderr}");
    assert!(stderr.contains("raised on the group product="), "{stderr}");
    assert!(all_gone(&started(&log)), "workers left after an error");

    // Ctrl-C while a function runs.
    let _ = std::fs::remove_file(&log);
    let slow = "sales = CREATE [[\"A\",1,3]] SCHEMA product:str, id:int, qty:long\n\
                TRANSFORM sales USING slow SCHEMA *\nPRINT";
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("fsql"))
        .current_dir(ROOT)
        .args(["-c", slow, "--udf", "queries/python/udf.py", "--python"])
        .arg(&wrapper)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    while started(&log).is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert!(!status.success());
    let pids = started(&log);
    assert!(!pids.is_empty());
    assert!(all_gone(&pids), "workers left after Ctrl-C");
}

#[test]
fn a_missing_interpreter_or_pandas_is_explained() {
    // The stderr of a run of the udf file's `make` with this interpreter, which fails.
    let failing = |python: &std::ffi::OsStr| {
        let out = fsql()
            .args([
                "-c",
                "CREATE USING make PARAMS n:2",
                "--udf",
                "queries/python/udf.py",
            ])
            .arg("--python")
            .arg(python)
            .assert()
            .failure();
        String::from_utf8_lossy(&out.get_output().stderr).into_owned()
    };
    let stderr = failing("/nonexistent/python3".as_ref());
    assert!(
        stderr.contains("cannot start the Python interpreter '/nonexistent/python3'")
            && stderr.contains("--python"),
        "{stderr}"
    );

    // A bare venv: no pandas, no pyarrow.
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let stderr = failing(dir.path().join("bin").join("python").as_os_str());
    assert!(
        stderr.contains("cannot import pyarrow")
            && stderr.contains("-m pip install pandas pyarrow"),
        "{stderr}"
    );

    let out = fsql()
        .args(["-c", "SELECT 1", "--udf", "no/such/udf.py"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("--udf no/such/udf.py"), "{stderr}");
}

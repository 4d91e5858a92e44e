//! A real Ballista cluster from the `fsql` binary: `fsql cluster scheduler`
//! and two `fsql cluster executor` processes on loopback. The golden files
//! run through them, SAVE writes from the executors, a killed executor does
//! not hang a query, and every process stops on SIGTERM. Every wait is
//! bounded; processes are killed on drop, so a failing test leaves none
//! behind.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fsql_engine::{ClusterOptions, Engine};
use fsql_tests::roundtrip::{fingerprint, run_matrix};
use fsql_tests::{Target, golden_files, run_golden};

const FSQL: &str = env!("CARGO_BIN_EXE_fsql");
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// One cluster at a time: on a 2-core CI machine, clusters started by tests
/// running side by side would slow each other past the bounds checked here.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A child process that is killed (and reaped) when dropped.
struct Proc {
    name: String,
    child: Child,
    /// The process's stdout lines (read on a thread, so a full pipe never
    /// blocks it).
    lines: mpsc::Receiver<String>,
}

impl Proc {
    /// Starts `fsql args..` in `dir` and waits for its first stdout line.
    fn start(name: &str, args: &[&str], dir: &Path) -> (Proc, String) {
        Proc::start_env(name, args, dir, &[])
    }

    /// [`Proc::start`] with extra environment variables.
    fn start_env(name: &str, args: &[&str], dir: &Path, envs: &[(&str, &Path)]) -> (Proc, String) {
        let mut child = Command::new(FSQL)
            .args(args)
            .envs(envs.iter().map(|(k, v)| (*k, *v)))
            .current_dir(dir)
            .env_remove("FSQL_ENGINE")
            .env_remove("FSQL_SCHEDULER")
            // Modules a golden file names (`queries.python.udf.fn`) are
            // importable on the executors, as a user's package would be.
            .env("PYTHONPATH", concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("fsql starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let p = Proc {
            name: name.to_string(),
            child,
            lines: rx,
        };
        let first = p
            .lines
            .recv_timeout(START_TIMEOUT)
            .unwrap_or_else(|_| panic!("{name} did not start within {START_TIMEOUT:?}"));
        (p, first)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (TERM or KILL).
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {}", self.name);
    }

    /// Waits (bounded) for the process to exit; true when it exited by itself
    /// with success.
    fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// SIGTERM, then a bounded wait: the process must stop cleanly.
    fn terminate(mut self) {
        self.signal("TERM");
        let status = self.wait_exit(STOP_TIMEOUT);
        let name = self.name.clone();
        match status {
            Some(s) => assert!(s.success(), "{name} exited with {s} after SIGTERM"),
            None => panic!("{name} did not stop within {STOP_TIMEOUT:?} of SIGTERM"),
        }
        let pid = self.pid();
        drop(self);
        assert!(!alive(pid), "{name} is still running after it exited");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
}

/// A scheduler and two executors; executors run in their own folders, not
/// the client's.
struct Cluster {
    scheduler: Proc,
    executors: Vec<Proc>,
    addr: String,
    /// The executors' TMPDIR, where their work directories go.
    tmp: tempfile::TempDir,
    _dirs: Vec<tempfile::TempDir>,
}

impl Cluster {
    fn start(executor_timeout_secs: u64) -> Cluster {
        let sched_dir = tempfile::tempdir().unwrap();
        let (scheduler, line) = Proc::start(
            "scheduler",
            &[
                "cluster",
                "scheduler",
                "--bind",
                "127.0.0.1:0",
                "--executor-timeout",
                &executor_timeout_secs.to_string(),
            ],
            sched_dir.path(),
        );
        let addr = line
            .rsplit(' ')
            .next()
            .expect("the scheduler prints its address")
            .to_string();
        assert!(
            line.contains("scheduler listening on"),
            "unexpected: {line}"
        );
        let mut cluster = Cluster {
            scheduler,
            executors: Vec::new(),
            addr,
            tmp: tempfile::tempdir().unwrap(),
            _dirs: vec![sched_dir],
        };
        for _ in 0..2 {
            cluster.add_executor();
        }
        cluster
    }

    /// Starts one more executor (in a folder of its own).
    fn add_executor(&mut self) {
        let dir = tempfile::tempdir().unwrap();
        let (p, line) = Proc::start_env(
            &format!("executor {}", self.executors.len()),
            &[
                "cluster",
                "executor",
                "--scheduler",
                &self.addr,
                "--slots",
                "2",
            ],
            dir.path(),
            &[("TMPDIR", self.tmp.path())],
        );
        assert!(line.contains("executor serving on"), "unexpected: {line}");
        self.executors.push(p);
        self._dirs.push(dir);
    }

    /// The executors' work directories in their TMPDIR, sorted.
    fn work_dirs(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("fsql-executor-"))
            .collect();
        names.sort();
        names
    }

    fn target(&self) -> Target {
        Target {
            engine: Engine::Cluster,
            cluster: ClusterOptions {
                scheduler: Some(self.addr.clone()),
                ..ClusterOptions::default()
            },
        }
    }

    /// `fsql run -` of `script` in `dir` against this cluster.
    fn run(&self, dir: &Path, script: &str) -> std::process::Output {
        self.run_with(dir, script, &[])
    }

    /// `fsql run - <args>` of `script` in `dir` against this cluster.
    fn run_with(&self, dir: &Path, script: &str, args: &[&str]) -> std::process::Output {
        let mut child = Command::new(FSQL)
            .args(["run", "-", "--engine", "cluster", "--scheduler", &self.addr])
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("fsql run starts");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        wait_output(child, Duration::from_secs(120))
    }

    /// Stops every process with SIGTERM; each must exit cleanly and leave
    /// no work directory behind.
    fn stop(mut self) {
        let mut left = self.work_dirs();
        for e in std::mem::take(&mut self.executors) {
            let mine = format!("fsql-executor-{}-", e.pid());
            e.terminate();
            left.retain(|d| !d.starts_with(&mine));
        }
        // Only the folders of executors killed earlier may stay.
        assert_eq!(self.work_dirs(), left, "a stopped executor left its folder");
        self.scheduler.terminate();
    }
}

/// Waits (bounded) for a child and collects its output; kills it on timeout.
fn wait_output(mut child: Child, limit: Duration) -> std::process::Output {
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "fsql did not finish within {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn golden_files_run_on_a_scheduler_and_two_executor_processes() {
    let _one = serial();
    let cluster = Cluster::start(20);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::set_current_dir(&root).expect("workspace root");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let files = golden_files("");
    assert!(!files.is_empty());
    // transform.slt's program: the fsql-tests binary cargo builds next to
    // fsql (`cargo test --workspace` builds both).
    let transformer = Path::new(env!("CARGO_BIN_EXE_fsql")).with_file_name("fsql-test-transformer");
    assert!(
        transformer.is_file(),
        "{} is missing: run the tests with --workspace (or `cargo build -p fsql-tests --bins`)",
        transformer.display()
    );
    let vars = [("FSQL_TRANSFORMER", transformer.display().to_string())];
    // queries/python/'s functions: their file's source travels with the
    // plan; the executors import `queries.python.udf` from PYTHONPATH.
    fsql_tests::python::for_golden(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("transform-venv"));
    let failures = rt.block_on(run_golden(&files, &[cluster.target()], &vars));
    drop(rt);
    assert!(
        failures.is_empty(),
        "golden files failed on the cluster:\n{}",
        failures.join("\n")
    );
    cluster.stop();
}

/// The SAVE → LOAD type matrix (`fsql_tests::roundtrip`) on executor
/// processes: every type survives every format and layout, and the files
/// they write hold what the `local` engine writes for the same input.
#[test]
fn every_type_survives_save_and_load_on_executor_processes() {
    let _one = serial();
    let cluster = Cluster::start(20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let transformer = Path::new(FSQL).with_file_name("fsql-test-transformer");
    let mut failures = Vec::new();
    let mut written = Vec::new();
    let local = Target {
        engine: Engine::Local,
        cluster: ClusterOptions::default(),
    };
    for (name, target) in [("local", local), ("processes", cluster.target())] {
        let out = dir.path().join(name);
        std::fs::create_dir_all(&out).unwrap();
        failures.extend(rt.block_on(run_matrix(&target, &out, &transformer)));
        written.push(fingerprint(&out));
    }
    drop(rt);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(written[0].len(), written[1].len());
    for (name, content) in &written[0] {
        assert!(
            written[1].get(name) == Some(content),
            "{name}: the executor processes wrote other content than local"
        );
    }
    cluster.stop();
}

/// COMPARE MODELS on executor processes: the units run in both executors
/// (the progress line counts the processes that ran them), the rows reach
/// them as Parquet in the client's scratch folder, the leaderboard is the
/// one `threads` gives, and stdout holds only the result.
#[test]
fn a_comparison_runs_on_executor_processes() {
    let _one = serial();
    let cluster = Cluster::start(20);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let data = root.join("tests/data/ml/breast_cancer.csv");
    let models = tempfile::tempdir().unwrap();
    let script = format!(
        "d = LOAD '{}' (header=true, infer_schema=true)\n\
         COMPARE MODELS FROM (DROP COLUMNS split FROM d) WITH (target = 'benign', folds = 5, \
         models = ('lr', 'dt', 'rf', 'nb', 'knn', 'lda'), top = 1)\n\
         SELECT model, Accuracy, AUC, Recall, \"Prec.\", F1, Kappa, MCC, \"Accuracy SD\", error\n\
         PRINT",
        data.display()
    );
    let out = cluster.run(models.path(), &script);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("30/30 tasks done") && stderr.contains("[2 worker processes]"),
        "{stderr}"
    );
    let threads = Command::new(FSQL)
        .args(["run", "-", "--engine", "threads"])
        .current_dir(models.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let mut threads = threads;
    threads
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let local = wait_output(threads, Duration::from_secs(120));
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    let board = String::from_utf8_lossy(&out.stdout);
    assert_eq!(board, String::from_utf8_lossy(&local.stdout));
    assert!(board.contains("RandomForestClassifier"), "{board}");
    assert!(!board.contains("tasks"), "progress on stdout: {board}");
    // The best model was fitted on an executor and stored by the client.
    assert!(
        models
            .path()
            .join(".fsql/models/compare_1.fsqlmodel")
            .is_file()
    );
    cluster.stop();
}

/// A plain Python function, only in the client's folder: the executors
/// (in folders of their own) run it from the source the plan carries.
#[test]
fn python_functions_run_on_executor_processes_without_the_file() {
    let _one = serial();
    let python =
        fsql_tests::python::venv(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("transform-venv"));
    let cluster = Cluster::start(20);
    let client = tempfile::tempdir().unwrap();
    std::fs::write(
        client.path().join("my_udf.py"),
        "import pandas as pd\n\n\
         # schema: *, total:long\n\
         def running(df: pd.DataFrame) -> pd.DataFrame:\n    \
         return df.assign(total=df['v'].cumsum())\n",
    )
    .unwrap();
    let script = "sales = SELECT CAST(value % 7 AS INT) AS k, CAST(value AS BIGINT) AS v FROM generate_series(1, 700)\n\
                  TRANSFORM sales PREPARTITION BY k PRESORT v USING running\n\
                  SELECT k, MAX(total) AS t, COUNT(*) AS n GROUP BY k ORDER BY k\nPRINT";
    let python = python.to_string_lossy().into_owned();
    let args = [
        "--udf",
        "my_udf.py",
        "--python",
        python.as_str(),
        "--format",
        "csv",
    ];
    let out = cluster.run_with(client.path(), script, &args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Key 0: 7 + 14 + ... + 700; key 1: 1 + 8 + ... + 694.
    assert!(stdout.contains("0,35350,100\n1,34750,100\n"), "{stdout}");
    let threads = Command::new(FSQL)
        .args(["-c", script, "--engine", "threads"])
        .args(args)
        .current_dir(client.path())
        .output()
        .unwrap();
    assert_eq!(stdout, String::from_utf8_lossy(&threads.stdout));
    cluster.stop();
}

#[test]
fn save_from_executors_is_read_back_by_the_client() {
    let _one = serial();
    let cluster = Cluster::start(20);
    let client = tempfile::tempdir().unwrap();
    // Relative paths are the client's: the executors run in other folders.
    let out = cluster.run(
        client.path(),
        "x = SELECT value AS id, value % 3 AS k FROM generate_series(1, 1000)\n\
         SAVE x OVERWRITE 'out/parts'\n\
         SAVE x PREPARTITION BY k OVERWRITE 'out/by_k'\n\
         SAVE x OVERWRITE 'out/one.csv'\n\
         a = LOAD 'out/parts'\n\
         b = LOAD 'out/by_k'\n\
         c = LOAD 'out/one.csv' COLUMNS id:long, k:long\n\
         SELECT (SELECT COUNT(*) FROM a) AS a, (SELECT SUM(id) FROM b) AS b, (SELECT COUNT(DISTINCT k) FROM c) AS c\n\
         PRINT",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "fsql failed: {stderr}");
    assert!(
        stdout.contains("1000") && stdout.contains("500500"),
        "{stdout}"
    );
    let by_k = client.path().join("out/by_k");
    for k in 0..3 {
        assert!(
            by_k.join(format!("k={k}")).is_dir(),
            "no k={k} folder in {by_k:?}"
        );
    }
    assert!(client.path().join("out/one.csv").is_file());
    assert!(client.path().join("out/parts").is_dir());
    cluster.stop();
}

/// Kills one of two executors (SIGKILL, no goodbye) while a query that keeps
/// both busy runs. Ballista notices the executor is gone when its heartbeat
/// (every poll, at most 5 s apart) stops for `--executor-timeout` (20 s by
/// default), and runs its tasks again on the executor that is left. So the
/// query completes, with the right answer, well within 60 s.
#[test]
fn a_killed_executor_does_not_hang_a_query() {
    let _one = serial();
    let mut cluster = Cluster::start(20);
    let n = 60_000_000;
    let series = format!("SELECT value % 100003 AS k FROM generate_series(1, {n})");
    let query = format!(
        "SELECT COUNT(DISTINCT k) AS groups, COUNT(*) AS n FROM ({series} UNION ALL {series} UNION ALL {series} UNION ALL {series})"
    );
    let client = Command::new(FSQL)
        .args([
            "--engine",
            "cluster",
            "--scheduler",
            &cluster.addr,
            "--format",
            "csv",
            "-c",
            &query,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fsql starts");
    // Four scan tasks of several seconds each keep both executors busy.
    std::thread::sleep(Duration::from_secs(3));
    let victim = cluster.executors.remove(0);
    victim.signal("KILL");
    let killed_at = Instant::now();
    drop(victim);
    let out = wait_output(client, Duration::from_secs(60));
    let took = killed_at.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("query finished {took:?} after the kill; stderr: {stderr}");
    assert!(
        out.status.success(),
        "the query failed after the kill: {stderr}"
    );
    assert_eq!(stdout, format!("groups,n\n100003,{}\n", 4 * n));
    cluster.stop();
}

/// Shuffle files live in a work directory per executor, named after its
/// process. A stopped executor removes its own; one killed with SIGKILL
/// cannot, so the next executor to start removes it (its process is gone),
/// and the machine's temporary folder does not fill up over time.
#[test]
fn executors_leave_no_shuffle_files_behind() {
    let _one = serial();
    let mut cluster = Cluster::start(20);
    let client = tempfile::tempdir().unwrap();
    let out = cluster.run(
        client.path(),
        "SELECT value % 7 AS k, COUNT(*) AS n FROM generate_series(1, 100000) GROUP BY value % 7 ORDER BY k\nPRINT",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dirs = cluster.work_dirs();
    assert_eq!(dirs.len(), 2, "one work directory per executor: {dirs:?}");
    let victim = cluster.executors.remove(0);
    let mine = format!("fsql-executor-{}-", victim.pid());
    assert!(dirs.iter().any(|d| d.starts_with(&mine)), "{dirs:?}");
    victim.signal("KILL");
    drop(victim);
    assert!(
        cluster.work_dirs().iter().any(|d| d.starts_with(&mine)),
        "a killed executor cannot clean up"
    );
    cluster.add_executor();
    let dirs = cluster.work_dirs();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    assert!(
        !dirs.iter().any(|d| d.starts_with(&mine)),
        "the killed executor's folder was not swept: {dirs:?}"
    );
    cluster.stop();
}

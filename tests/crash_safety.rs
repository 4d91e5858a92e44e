//! Crash safety: `fsql` killed with SIGKILL at random moments while it runs
//! `SAVE ... OVERWRITE` (one Parquet file, one CSV file, a folder of parts,
//! PREPARTITION BY folders; 100 kills in all) and `CREATE OR REPLACE MODEL`.
//! After every kill the target holds the whole old data or the whole new
//! data, never a mix or a part; the model loads and is the old one or the
//! new one. What a killed SAVE leaves next to its target (hidden temporary
//! names) is never read by LOAD and is removed by the next SAVE there.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fsql_engine::{ClusterOptions, CollectSink, Engine, Session};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FSQL: &str = env!("CARGO_BIN_EXE_fsql");

/// Two contents, told apart by their row count and sum.
const SMALL: (u64, u64) = (1_000, 500_500);
const LARGE: (u64, u64) = (2_000_000, 2_000_001_000_000);

fn script(target: &str, rows: u64, how: &str) -> String {
    format!(
        "x = SELECT CAST(value AS BIGINT) AS v, CAST(value % 4 AS BIGINT) AS k, 'padding text' AS p FROM generate_series(1, {rows})\n\
         SAVE x {how} OVERWRITE '{target}'"
    )
}

/// Kills that found fsql still running (the others came after it ended).
static INTERRUPTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs `fsql -c script` in `dir`; with `kill_after`, kills it (SIGKILL)
/// then. Returns how long it ran.
fn run(dir: &Path, script: &str, kill_after: Option<Duration>) -> Duration {
    let (took, killed) = run_with(dir, &[], script, kill_after);
    if killed {
        INTERRUPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    took
}

/// [`run`] with more arguments for fsql; also whether the kill found fsql
/// still running.
fn run_with(
    dir: &Path,
    args: &[&str],
    script: &str,
    kill_after: Option<Duration>,
) -> (Duration, bool) {
    let started = Instant::now();
    let mut child = Command::new(FSQL)
        .args(["--engine", "local"])
        .args(args)
        .args(["-c", script])
        .current_dir(dir)
        .env_remove("FSQL_ENGINE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("fsql starts");
    match kill_after {
        Some(after) => {
            while started.elapsed() < after {
                if child.try_wait().expect("try_wait").is_some() {
                    return (started.elapsed(), false);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            let _ = child.kill();
            let _ = child.wait();
            (started.elapsed(), true)
        }
        None => {
            let status = child.wait().expect("fsql runs");
            assert!(status.success(), "{script}");
            (started.elapsed(), false)
        }
    }
}

/// The (count, sum) of `v` LOAD reads at `target`. CSV files are saved
/// without a header (FugueSQL's default): read with their columns.
async fn content(session: &mut Session, dir: &Path, target: &str, csv: bool) -> (u64, u64) {
    let path = dir.join(target);
    let (format, columns) = if csv {
        ("CSV ", " COLUMNS v:long,k:long,p:str")
    } else {
        ("", "")
    };
    let text = format!(
        "y = LOAD {format}'{}'{columns}\nSELECT COUNT(*) AS n, SUM(CAST(v AS BIGINT)) AS s FROM y",
        path.display()
    );
    session
        .run(&text)
        .await
        .unwrap_or_else(|e| panic!("{target} does not load after a kill: {e}"));
    let batches = session
        .last()
        .cloned()
        .expect("a result")
        .collect()
        .await
        .expect("the rows read");
    let col = |i: usize| {
        let a = batches[0].column(i);
        datafusion::arrow::array::cast::as_primitive_array::<datafusion::arrow::datatypes::Int64Type>(a)
            .value(0) as u64
    };
    (col(0), col(1))
}

fn leftovers(dir: &Path, target: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{target}.fsql-")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_save_leaves_old_or_new_data_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = Session::open(
        Engine::Local,
        ClusterOptions::default(),
        Box::new(CollectSink::default()),
    )
    .await
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let modes: [(&str, &str, &str); 4] = [
        ("one.parquet", "", ""),
        ("one.csv", "", "CSV "),
        ("parts", "", ""),
        ("by_k", "PREPARTITION BY k", ""),
    ];
    let mut kills = 0;
    for (target, how, format) in modes {
        // The first content, and how long writing the large one takes.
        run(dir.path(), &script(target, SMALL.0, how), None);
        let took = run(dir.path(), &script(target, LARGE.0, how), None);
        let csv = format == "CSV ";
        let mut now = LARGE;
        for _ in 0..25 {
            let (next, rows) = if now == LARGE {
                (SMALL, SMALL.0)
            } else {
                (LARGE, LARGE.0)
            };
            let after = Duration::from_secs_f64(rng.random_range(0.0..1.3) * took.as_secs_f64());
            run(dir.path(), &script(target, rows, how), Some(after));
            kills += 1;
            let got = content(&mut session, dir.path(), target, csv).await;
            assert!(
                got == now || got == next,
                "{target} after a kill at {after:?}: {got:?}, neither {now:?} nor {next:?}"
            );
            now = got;
        }
        // The next SAVE there removes what killed ones left.
        run(dir.path(), &script(target, SMALL.0, how), None);
        let left = leftovers(dir.path(), target);
        assert!(
            left.is_empty(),
            "{target}: leftovers after a SAVE: {left:?}"
        );
    }
    assert_eq!(kills, 100);
    let interrupted = INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed);
    println!("{interrupted} of {kills} kills interrupted a run");
    assert!(
        interrupted >= 50,
        "only {interrupted} kills interrupted a run"
    );
}

#[test]
fn a_killed_create_or_replace_model_keeps_a_whole_model() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let create = |class: &str, rows: u64| {
        format!(
            "pts = SELECT CAST(value AS DOUBLE) AS x, CAST(value * 2 AS DOUBLE) AS y FROM generate_series(1, {rows})\n\
             CREATE OR REPLACE MODEL m WITH (model_class = '{class}', target_column = 'y') AS (SELECT * FROM pts)"
        )
    };
    let models_arg = models.to_string_lossy().into_owned();
    let run_models = |script: &str, kill: Option<Duration>| {
        run_with(dir.path(), &["--model-dir", &models_arg], script, kill).0
    };
    run_models(&create("LinearRegression", 2000), None);
    let took = run_models(&create("DecisionTreeRegressor", 200_000), None);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for i in 0..20 {
        let class = if i % 2 == 0 {
            "LinearRegression"
        } else {
            "DecisionTreeRegressor"
        };
        let after = Duration::from_secs_f64(rng.random_range(0.0..1.3) * took.as_secs_f64());
        run_models(&create(class, 200_000), Some(after));
        let out = Command::new(FSQL)
            .args(["--engine", "local", "--format", "csv", "--model-dir"])
            .arg(&models)
            .args(["-c", "DESCRIBE MODEL m"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "the model does not load after a kill: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("LinearRegression") || text.contains("DecisionTreeRegressor"),
            "{text}"
        );
    }
}

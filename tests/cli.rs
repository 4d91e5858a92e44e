//! End-to-end tests of the `fsql` binary (this file belongs to the fsql-cli
//! package so that cargo builds the binary for it).

use assert_cmd::Command;
use predicates::prelude::*;

fn fsql() -> Command {
    let mut c = Command::cargo_bin("fsql").unwrap();
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    c.env_remove("FSQL_ENGINE").env("NO_COLOR", "1");
    c
}

#[test]
fn command_prints_the_result() {
    fsql()
        .args(["-c", "SELECT 1 AS x, 5 / 2 AS half"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("x")
                .and(predicate::str::contains("2.5"))
                .and(predicate::str::contains("1 row")),
        );
}

#[test]
fn csv_output_is_clean() {
    let out = fsql()
        .args([
            "--format",
            "csv",
            "-c",
            "CREATE [[1,\"a\"],[2,null]] SCHEMA id:int,name:str\nPRINT TITLE 'people'",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout, "id,name\n1,a\n2,\n");
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("people"), "{stderr}");
}

/// `--format csv` writes what SAVE writes to a CSV file with a header:
/// one convention (docs/semantics.md), timestamps with a space, NULL empty.
#[test]
fn csv_output_is_what_save_writes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.csv");
    let script = format!(
        "CREATE [[1,\"a,b\",\"2024-03-01\",\"2024-03-01 10:00:00\",\"2024-03-01 10:00:00.25+00:00\"],[2,null,null,null,null]] SCHEMA id:int,s:str,d:str,ts:str,tz:str\n\
         ALTER COLUMNS d:date, ts:datetime, tz:timestamp(us,UTC)\n\
         SAVE OVERWRITE CSV '{}' (header=true)\n\
         PRINT",
        file.display()
    );
    let out = fsql()
        .args(["--format", "csv", "-c", &script])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(
        stdout,
        "id,s,d,ts,tz\n1,\"a,b\",2024-03-01,2024-03-01 10:00:00,2024-03-01 10:00:00.250+00:00\n2,,,,\n"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), stdout);
}

#[test]
fn json_output() {
    fsql()
        .args(["--format", "json", "-c", "SELECT 1 AS a, NULL AS b"])
        .assert()
        .success()
        .stdout("[{\"a\":1,\"b\":null}]\n");
}

#[test]
fn errors_show_line_column_and_caret_without_backtrace() {
    let out = fsql()
        .args(["-c", "a = SELECT 1 AS x\nSELECT nope FROM a"])
        .assert()
        .failure()
        .code(1);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("<command>:2:8"), "{stderr}");
    assert!(stderr.contains("nope"), "{stderr}");
    assert!(stderr.contains("SELECT nope FROM a"), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn parse_error_points_at_token() {
    let out = fsql()
        .args(["-c", "SELECT 1\nTAKE x ROWS"])
        .assert()
        .failure();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("2:6") && stderr.contains("expected the number of rows"),
        "{stderr}"
    );
}

#[test]
fn run_file_with_defines_and_engines() {
    for engine in ["local", "threads"] {
        fsql()
            .args([
                "run",
                "examples/01_basics.fsql",
                "--engine",
                engine,
                "--define",
                "min_score=0",
            ])
            .assert()
            .success()
            .stdout(predicate::str::contains("┌").and(predicate::str::contains("rows")));
    }
}

#[test]
fn script_from_stdin() {
    fsql()
        .args(["run", "-", "--format", "csv"])
        .write_stdin("CREATE [[3]] SCHEMA n:long\nSELECT n * 2 AS m\nPRINT")
        .assert()
        .success()
        .stdout("m\n6\n");
}

#[test]
fn missing_script_and_missing_data_are_clear_errors() {
    fsql()
        .args(["run", "no/such/script.fsql"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "cannot read script 'no/such/script.fsql'",
        ));
    fsql()
        .args(["-c", "LOAD 'no/such/file.csv'"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("cannot load 'no/such/file.csv': file not found")
                .and(predicate::str::contains("1:6")),
        );
}

#[test]
fn undefined_template_variable_is_an_error() {
    fsql()
        .args(["-c", "SELECT {{ missing }} AS x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("undefined"));
}

#[test]
fn bad_engine_is_rejected() {
    fsql()
        .args(["--engine", "spark", "-c", "SELECT 1"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("unknown engine 'spark'"));
}

#[test]
fn piped_script_without_arguments_runs_it() {
    // Not a terminal: `fsql < script.fsql` runs the script instead of the REPL.
    fsql()
        .args(["--format", "csv"])
        .write_stdin("SELECT 2 AS two;\nPRINT")
        .assert()
        .success()
        .stdout("two\n2\n");
}

#[test]
fn tsv_and_markdown_formats() {
    fsql()
        .args(["--format", "tsv", "-c", "SELECT 1 AS a, 'x' AS b"])
        .assert()
        .success()
        .stdout("a\tb\n1\tx\n");
    fsql()
        .args(["--format", "markdown", "-c", "SELECT 1 AS a"])
        .assert()
        .success()
        .stdout(predicate::str::contains("| a |").and(predicate::str::contains("| 1 |")));
}

#[test]
fn cluster_engine_runs_embedded_by_default() {
    fsql()
        .args([
            "--engine",
            "cluster",
            "--format",
            "csv",
            "-c",
            "x = SELECT value % 3 AS k FROM generate_series(1, 30)\nSELECT k, COUNT(*) AS n FROM x GROUP BY k ORDER BY k",
        ])
        .assert()
        .success()
        .stdout("k,n\n0,10\n1,10\n2,10\n");
}

#[test]
fn explain_on_cluster_shows_the_stages() {
    fsql()
        .args([
            "--engine",
            "cluster",
            "-c",
            "t = CREATE [[1,\"a\"],[2,\"b\"]] SCHEMA id:int,name:str\nEXPLAIN SELECT name, COUNT(*) FROM t GROUP BY name",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("distributed_plan")
                .and(predicate::str::contains("ShuffleWriterExec"))
                .and(predicate::str::contains("stage_id=2")),
        );
    // A FugueSQL statement too.
    fsql()
        .args([
            "--engine",
            "cluster",
            "-c",
            "t = CREATE [[1,\"a\"],[2,\"b\"]] SCHEMA id:int,name:str\nEXPLAIN TAKE 1 ROW FROM t PREPARTITION BY name PRESORT id",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("distributed_plan").and(predicate::str::contains("ShuffleWriterExec")));
}

#[test]
fn an_unreachable_scheduler_is_a_clear_error() {
    fsql()
        .args([
            "--engine",
            "cluster",
            "--scheduler",
            "127.0.0.1:9",
            "-c",
            "SELECT 1",
        ])
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "cannot reach the scheduler at http://127.0.0.1:9",
        ));
}

#[test]
fn an_executor_needs_a_scheduler() {
    fsql()
        .args(["cluster", "executor"])
        .env_remove("FSQL_SCHEDULER")
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .failure()
        .stderr(predicate::str::contains("--scheduler HOST:PORT"));
}

/// `fsql run train.fsql`, later `fsql run score.fsql`: the model persists in
/// `.fsql/models/` under the working directory; `--model-dir` moves it.
#[test]
fn models_persist_between_runs() {
    let dir = tempfile::tempdir().unwrap();
    let iris = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/ml/iris.csv");
    std::fs::write(
        dir.path().join("train.fsql"),
        format!(
            "iris = LOAD '{iris}' (header=true, infer_schema=true)\n\
             CREATE MODEL iris_nb WITH (model_class = 'GaussianNB', target_column = 'species')\n\
             AS (SELECT sepal_length, sepal_width, petal_length, petal_width, species FROM iris WHERE split = 'train')\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("score.fsql"),
        format!(
            "iris = LOAD '{iris}' (header=true, infer_schema=true)\n\
             SELECT COUNT(*) AS n, SUM(CASE WHEN target = species THEN 1 ELSE 0 END) AS hits\n\
             FROM PREDICT(MODEL iris_nb, SELECT * FROM iris WHERE split = 'test')\n\
             PRINT\n"
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut c = Command::cargo_bin("fsql").unwrap();
        c.current_dir(dir.path())
            .env_remove("FSQL_ENGINE")
            .env_remove("FSQL_MODEL_DIR")
            .env("NO_COLOR", "1")
            .args(args);
        c.assert()
    };
    run(&["run", "train.fsql"]).success();
    assert!(dir.path().join(".fsql/models/iris_nb.fsqlmodel").is_file());
    run(&["run", "score.fsql", "--format", "csv"])
        .success()
        .stdout(predicate::str::contains("n,hits\n45,44\n"));
    run(&["run", "score.fsql", "--model-dir", "elsewhere"])
        .failure()
        .stderr(predicate::str::contains(
            "unknown model 'iris_nb' (there are no models in",
        ));
    run(&["run", "train.fsql", "--model-dir", "elsewhere"]).success();
    assert!(dir.path().join("elsewhere/iris_nb.fsqlmodel").is_file());
}

#[test]
fn ml_example_trains_and_scores_on_every_engine() {
    let models = tempfile::tempdir().unwrap();
    for engine in ["local", "threads", "cluster"] {
        let out = fsql()
            .env("FSQL_MODEL_DIR", models.path())
            .args([
                "run",
                "examples/02_ml.fsql",
                "--engine",
                engine,
                "--format",
                "csv",
            ])
            .assert()
            .success()
            .stdout(
                predicate::str::contains("species,predicted,n\nsetosa,setosa,15\n")
                    .and(predicate::str::contains(
                        "model_class,RandomForestClassifier",
                    ))
                    .and(predicate::str::contains("model,Accuracy,AUC,F1\n")),
            );
        // The forest's accuracy on the held-out rows (a line after the
        // `accuracy` header): at least 0.9 on iris.
        let out = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        let accuracy: f64 = out
            .lines()
            .skip_while(|l| *l != "accuracy")
            .nth(1)
            .and_then(|l| l.parse().ok())
            .unwrap_or_else(|| panic!("no accuracy line in:\n{out}"));
        assert!(accuracy >= 0.9, "{engine}: accuracy {accuracy}");
    }
    assert!(models.path().join("iris_forest.fsqlmodel").is_file());
    assert!(models.path().join("compare_1.fsqlmodel").is_file());
}

/// 3M rows of (v, 40-byte pad): about 160 MB to sort or group, above a
/// 100 MiB limit.
const BIG: &str = "(SELECT (value * 7919) % 1000003 AS v, repeat('x', 40) AS pad FROM generate_series(1, 3000000))";

#[test]
fn sorts_and_group_bys_spill_under_a_memory_limit_on_every_engine() {
    let dir = tempfile::tempdir().unwrap();
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    for engine in ["local", "threads", "cluster"] {
        let sorted = dir.path().join(format!("sorted-{engine}.csv"));
        let script = format!(
            "x = SELECT v, pad FROM {BIG} ORDER BY v DESC, pad\n\
             SAVE x OVERWRITE SINGLE '{}' (header=true)\n\
             g = SELECT COUNT(*) AS groups, SUM(n) AS total FROM \
             (SELECT v, COUNT(*) AS n, MAX(pad) AS p FROM {BIG} GROUP BY v)\n\
             PRINT g\n",
            sorted.display()
        );
        fsql()
            .args([
                "--engine",
                engine,
                "--memory-limit",
                "100M",
                "--format",
                "csv",
            ])
            .arg("--temp-dir")
            .arg(&spill)
            .args(["-c", &script])
            .assert()
            .success()
            .stdout(predicate::str::contains("groups,total\n1000003,3000000\n"));
        // Every row, in order.
        let text = std::fs::read_to_string(&sorted).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("v,pad"));
        let v: Vec<i64> = lines
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(v.len(), 3_000_000, "{engine}");
        assert!(v.windows(2).all(|w| w[0] >= w[1]), "{engine}: not sorted");
        assert_eq!(v[0], 1_000_002);
        // The spill files are gone.
        let left: Vec<_> = std::fs::read_dir(&spill).unwrap().collect();
        assert!(left.is_empty(), "{engine}: spill files left: {left:?}");
    }
    // The sort did spill (its metrics say so), and without the limit it
    // does not.
    let spills = |limit: &str| -> u64 {
        let out = fsql()
            .args(["--memory-limit", limit, "--format", "csv"])
            .arg("--temp-dir")
            .arg(&spill)
            .args([
                "-c",
                &format!("EXPLAIN ANALYZE SELECT v, pad FROM {BIG} ORDER BY v DESC, pad"),
            ])
            .assert()
            .success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        let sort = text
            .lines()
            .find(|l| l.contains("SortExec"))
            .unwrap_or_else(|| panic!("no SortExec in:\n{text}"));
        let count = sort.split("spill_count=").nth(1).expect("spill_count");
        count
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(spills("100M") > 0);
    assert_eq!(spills("8G"), 0);
}

#[test]
fn a_query_that_cannot_fit_says_which_limit_and_operator() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "x = SELECT v, pad FROM {BIG} ORDER BY v DESC, pad\nSAVE x OVERWRITE SINGLE '{}'\n",
        dir.path().join("out.csv").display()
    );
    fsql()
        .args(["--memory-limit", "8M", "-c", &script])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("memory limit of 8 MiB exceeded by")
                .and(predicate::str::contains("raise --memory-limit")),
        );
    // 0 is no limit.
    fsql()
        .args(["--memory-limit", "0", "-c", "SELECT 1 AS x"])
        .assert()
        .success();
    fsql()
        .args(["--memory-limit", "lots", "-c", "SELECT 1"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("'lots' is not a size"));
}

#[test]
fn a_reader_that_stops_reading_ends_the_output_not_the_script() {
    // `fsql run x.fsql | head`: once head has gone, PRINT output is dropped
    // quietly and the script runs on (its SAVE still happens), exit 0.
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let script = dir.path().join("x.fsql");
    std::fs::write(
        &script,
        format!(
            "x = SELECT value AS v FROM generate_series(1, 300000)\n\
             PRINT 300000 ROWS FROM x\n\
             SAVE x OVERWRITE '{}'\n\
             PRINT 300000 ROWS FROM x\n",
            out.display()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("fsql"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env_remove("FSQL_ENGINE")
        .args(["--format", "csv", "run"])
        .arg(&script)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "v\n");
    // The reader is dropped here: the pipe is closed.
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(!stderr.to_lowercase().contains("broken pipe"), "{stderr}");
    fsql()
        .args(["--format", "csv", "-c"])
        .arg(format!("SELECT COUNT(*) AS n FROM '{}'", out.display()))
        .assert()
        .success()
        .stdout("n\n300000\n");
}

#[test]
fn an_unaliased_cast_is_named_by_its_text() {
    // DataFusion names a cast after its input: `SELECT CAST(s AS INT), s`
    // had two columns named s (an error); DuckDB and fugue name it by text.
    fsql()
        .args([
            "--format",
            "csv",
            "-c",
            "x = CREATE [['12',1.5]] SCHEMA s:str,d:double\nSELECT CAST(s AS INT), s, CAST(d AS STRING) AS t FROM x",
        ])
        .assert()
        .success()
        .stdout("CAST(s AS INT),s,t\n12,12,1.5\n");
}

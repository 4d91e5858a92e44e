//! The REPL in a real pseudo-terminal (rexpect): multi-line input, the
//! session kept between inputs, completion, a meta-command, an error
//! followed by a good query, Ctrl-C cancelling a long query and a model
//! comparison, Ctrl-D.
//! Every wait is bounded by rexpect's timeout.

use std::process::Command;

use rexpect::session::{PtySession, spawn_command};

const TIMEOUT_MS: u64 = 30_000;

fn command(home: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fsql"));
    cmd.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env_remove("FSQL_ENGINE")
        .env_remove("FSQL_HISTORY")
        .env_remove("FSQL_UDF");
    cmd
}

fn spawn(cmd: Command) -> PtySession {
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("start fsql in a pty");
    p.exp_string("fsql> ").expect("first prompt");
    p
}

fn start(home: &std::path::Path) -> PtySession {
    spawn(command(home))
}

#[test]
fn python_functions_of_the_udf_files() {
    let home = tempfile::tempdir().unwrap();
    let python = fsql_tests::python::venv(
        &std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("transform-venv"),
    );
    let mut cmd = command(home.path());
    cmd.env("FSQL_UDF", "queries/python/udf.py")
        .env("FSQL_PYTHON", &python);
    let mut p = spawn(cmd);
    p.send_line("CREATE USING make PARAMS n:2, start:7;")
        .unwrap();
    p.exp_string("s1").unwrap();
    p.exp_string("2 rows").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("x = CREATE [[\"A\",1,3],[\"A\",2,4]] SCHEMA product:str, id:int, qty:long;")
        .unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("TRANSFORM x PREPARTITION BY product PRESORT id USING add_running_qty;")
        .unwrap();
    p.exp_string("running_qty").unwrap();
    p.exp_string("2 rows").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn multi_line_input_and_names_persist() {
    let home = tempfile::tempdir().unwrap();
    let mut p = start(home.path());
    p.send_line("a = CREATE [[1,\"x\"],[2,\"y\"]]").unwrap();
    p.send_line("    SCHEMA id:int,name:str;").unwrap();
    p.exp_string("2 rows").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("SELECT name FROM a").unwrap();
    p.send_line("WHERE id = 2;").unwrap();
    p.exp_string("1 row").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("\\d a").unwrap();
    p.exp_string("id").unwrap();
    p.exp_string("int").unwrap();
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
    // History was saved.
    let history = std::fs::read_to_string(home.path().join(".fsql_history")).unwrap();
    assert!(history.contains("SELECT name FROM a"), "{history}");
}

#[test]
fn error_then_good_query_and_meta_commands() {
    let home = tempfile::tempdir().unwrap();
    let mut p = start(home.path());
    p.send_line("SELECT nope FROM nowhere;").unwrap();
    p.exp_string("not found").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("\\format csv").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("SELECT 40 + 2 AS answer;").unwrap();
    p.exp_string("answer\r\n42\r\n").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("k = SELECT 5 AS v;").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("\\engine local").unwrap();
    p.exp_string("engine: local").unwrap();
    p.exp_string("fsql> ").unwrap();
    // Dataframes move to the new engine.
    p.send_line("SELECT v * 3 AS w FROM k;").unwrap();
    // Not a bare "15": the echo's cursor moves (ESC[15C) contain it.
    p.exp_string("w\r\n15\r\n").unwrap();
    p.exp_string("fsql> ").unwrap();
    // ... and to the cluster (an embedded one).
    p.send_line("\\engine cluster").unwrap();
    p.exp_string("engine: cluster").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("SELECT v * 4 AS w FROM k;").unwrap();
    // The whole result line: a bare "20" also matches rustyline's
    // synchronized-output escape (ESC[?2026h), and the next input would then
    // be sent before the query ran (and be flushed by the next prompt).
    p.exp_string("w\r\n20\r\n").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("\\nope").unwrap();
    p.exp_string("unknown command").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn tab_completes_keywords_and_names() {
    let home = tempfile::tempdir().unwrap();
    let mut p = start(home.path());
    p.send_line("sales_by_region = SELECT 1 AS amount;")
        .unwrap();
    p.exp_string("1 row").unwrap();
    p.exp_string("fsql> ").unwrap();
    // "SEL<tab> amo<tab> FROM sales_b<tab>;" completes to a query that runs.
    p.send("SEL\t").unwrap();
    p.send(" amo\t").unwrap();
    p.send(" FROM sales_b\t").unwrap();
    p.send_line(";").unwrap();
    p.exp_string("amount").unwrap();
    p.exp_string("1 row").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn ctrl_c_cancels_a_long_query_and_keeps_the_session() {
    let home = tempfile::tempdir().unwrap();
    let mut p = start(home.path());
    p.send_line("keep = SELECT 7 AS n;").unwrap();
    p.exp_string("1 row").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("SELECT COUNT(*) FROM generate_series(1, 100000000000);")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    p.send_control('c').unwrap();
    p.exp_string("cancelled").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("SELECT n * 6 AS m FROM keep;").unwrap();
    p.exp_string("42").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn ctrl_c_cancels_a_model_comparison_and_keeps_the_session() {
    let home = tempfile::tempdir().unwrap();
    let models = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fsql"));
    cmd.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("HOME", home.path())
        .env("FSQL_MODEL_DIR", models.path())
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env_remove("FSQL_ENGINE")
        .env_remove("FSQL_HISTORY");
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("start fsql in a pty");
    p.exp_string("fsql> ").unwrap();
    p.send_line(
        "d = SELECT value % 3 AS y, value * 0.37 % 11 AS a, value * 0.73 % 13 AS b \
         FROM generate_series(1, 400000);",
    )
    .unwrap();
    p.exp_string("400000 rows").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("COMPARE MODELS FROM d WITH (target = 'y', models = ('rf', 'et'), folds = 10);")
        .unwrap();
    // The comparison's bar is on the terminal before Ctrl-C.
    p.exp_string("COMPARE MODELS").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    p.send_control('c').unwrap();
    p.exp_string("cancelled").unwrap();
    p.exp_string("fsql> ").unwrap();
    // Nothing was stored, and the session's dataframes are still there.
    p.send_line("SHOW MODELS;").unwrap();
    p.exp_string("0 rows").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("SELECT COUNT(*) * 2 AS n FROM d;").unwrap();
    p.exp_string("800000").unwrap();
    p.exp_string("fsql> ").unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
}

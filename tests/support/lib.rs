//! Test support: fsql as a sqllogictest database, so golden files in
//! `queries/` run on every engine.
//!
//! Each record's text is run as a script chunk on one session per file (state
//! carries over between records, as in the REPL). A record's rows are what
//! its last PRINT showed if it ends with PRINT, else the previous dataframe.

pub mod ml_session;
pub mod python;
pub mod roundtrip;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use fsql_engine::{ClusterOptions, Engine, Printed, PythonConfig, Session, Sink};
use fsql_sql::Statement;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner, default_column_validator};

/// PRINT output shared between the session's sink and the test.
#[derive(Clone, Default)]
struct SharedSink(Arc<Mutex<Vec<Printed>>>);

impl Sink for SharedSink {
    fn print(&mut self, printed: Printed) -> std::io::Result<()> {
        self.0.lock().expect("sink lock").push(printed);
        Ok(())
    }
}

pub struct FsqlDb {
    session: Session,
    printed: SharedSink,
    engine: Engine,
    /// The session's model store: each file starts with no models.
    _models: tempfile::TempDir,
}

/// The Python interpreter and `--udf` files every golden session gets, when
/// set (see [`set_python`]).
static PYTHON: OnceLock<PythonConfig> = OnceLock::new();

/// Gives every later golden session this Python configuration (the golden
/// files under `queries/python/` use the functions of its `--udf` files).
pub fn set_python(python: PythonConfig) {
    let _ = PYTHON.set(python);
}

impl FsqlDb {
    /// A database on `engine`; `cluster` says where the cluster engine runs.
    pub async fn open(engine: Engine, cluster: ClusterOptions) -> Result<Self, DbError> {
        let printed = SharedSink::default();
        let mut session = Session::open(engine, cluster, Box::new(printed.clone()))
            .await
            .map_err(|e| DbError(e.to_string()))?;
        if let Some(python) = PYTHON.get() {
            session.set_python(python.clone());
        }
        let models = tempfile::tempdir().map_err(|e| DbError(e.to_string()))?;
        session.set_model_dir(models.path());
        Ok(Self {
            session,
            printed,
            engine,
            _models: models,
        })
    }
}

/// An engine the golden files run on.
#[derive(Clone)]
pub struct Target {
    pub engine: Engine,
    pub cluster: ClusterOptions,
}

impl Target {
    /// Every engine with its default settings (cluster: embedded).
    pub fn all_defaults() -> Vec<Target> {
        Engine::ALL
            .into_iter()
            .map(|engine| Target {
                engine,
                cluster: ClusterOptions::default(),
            })
            .collect()
    }
}

/// The golden files under `queries/` (of the workspace) whose path contains
/// `filter`, sorted.
pub fn golden_files(filter: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    collect(&root.join("queries"), &mut files);
    files.retain(|f| f.to_string_lossy().contains(filter));
    files.sort();
    files
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("queries/ folder") {
        let p = entry.expect("dir entry").path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "slt") {
            out.push(p);
        }
    }
}

/// Runs each file on each target (a fresh session per file and target),
/// printing one line per run; returns the failures' descriptions. `vars`
/// are substituted for `$NAME` in the files.
pub async fn run_golden(
    files: &[PathBuf],
    targets: &[Target],
    vars: &[(&str, String)],
) -> Vec<String> {
    let mut failures = Vec::new();
    for file in files {
        for target in targets {
            let t = target.clone();
            let mut runner = Runner::new(move || {
                let t = t.clone();
                async move { FsqlDb::open(t.engine, t.cluster).await }
            });
            runner.add_label(target.engine.name());
            for (k, v) in vars {
                runner.set_var(k.to_string(), v.clone());
            }
            runner.with_column_validator(default_column_validator);
            let name = file.display();
            let engine = target.engine;
            match runner.run_file_async(file).await {
                Ok(()) => println!("ok   {name} [{engine}]"),
                Err(e) => {
                    println!("FAIL {name} [{engine}]\n{e}\n");
                    failures.push(format!("{name} [{engine}]: {e}"));
                }
            }
        }
    }
    failures
}

/// An fsql error as the golden files see it: `line:col: message`.
#[derive(Debug)]
pub struct DbError(pub String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

fn describe(e: &fsql_engine::Error) -> String {
    match e.span() {
        Some(s) => format!("{}:{}: {}", s.start.line, s.start.column, e.message()),
        None => e.message(),
    }
}

/// How long one record of a golden file may run. A task that panics on a
/// cluster executor can leave its job waiting forever; past this the record
/// fails instead of hanging the whole run.
const RECORD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

impl FsqlDb {
    /// One record: a statement (or script) and, when it produced one, its
    /// result's rows.
    async fn run_record(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        let script = fsql_sql::parse(sql).map_err(|e| DbError(describe(&e.into())))?;
        self.printed.0.lock().expect("sink lock").clear();
        self.session
            .run_script(&script)
            .await
            .map_err(|e| DbError(describe(&e)))?;
        let ends_with_print = matches!(
            script.steps.last().map(|s| &s.statement),
            Some(Statement::Print(_))
        );
        if ends_with_print {
            let printed = self.printed.0.lock().expect("sink lock");
            let p = printed
                .last()
                .ok_or_else(|| DbError("PRINT showed nothing".into()))?;
            return Ok(rows(
                &p.schema
                    .fields()
                    .iter()
                    .map(|f| f.data_type().clone())
                    .collect::<Vec<_>>(),
                &p.batches,
            ));
        }
        if !self.session.last_step_produced() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let df = self.session.last().cloned().expect("a produced dataframe");
        let types: Vec<DataType> = df
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let batches = df
            .collect()
            .await
            .map_err(|e| DbError(e.strip_backtrace()))?;
        Ok(rows(&types, &batches))
    }
}

#[async_trait::async_trait]
impl AsyncDB for FsqlDb {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        match tokio::time::timeout(RECORD_TIMEOUT, self.run_record(sql)).await {
            Ok(result) => result,
            Err(_) => Err(DbError(format!(
                "no result after {} s (a hang?)",
                RECORD_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        self.engine.name()
    }
}

fn rows(types: &[DataType], batches: &[RecordBatch]) -> DBOutput<DefaultColumnType> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in batches {
        let fmts: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formattable column"))
            .collect();
        for r in 0..b.num_rows() {
            out.push(
                fmts.iter()
                    .map(|f| {
                        let v = f.value(r).to_string();
                        if v.is_empty() {
                            "(empty)".to_string()
                        } else {
                            v
                        }
                    })
                    .collect(),
            );
        }
    }
    DBOutput::Rows {
        types: types.iter().map(column_type).collect(),
        rows: out,
    }
}

fn column_type(t: &DataType) -> DefaultColumnType {
    if t.is_integer() {
        DefaultColumnType::Integer
    } else if t.is_floating() || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) {
        DefaultColumnType::FloatingPoint
    } else {
        DefaultColumnType::Text
    }
}

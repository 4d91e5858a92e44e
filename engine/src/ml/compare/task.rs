//! The comparison's work where it runs: `fsql_compare(unit, job)` is a
//! scalar function over a plan whose rows are the work units (a batch of
//! candidates on one fold, or one candidate fitted on all rows). It runs
//! wherever the engine puts the row's partition: a core of `threads`, an
//! executor of `cluster`. The training rows are prepared once per process
//! (cached by the job's data key) from the comparison's materialised data:
//! in memory on the local engines, a Parquet folder on the cluster. Each
//! unit's result is small (metrics, or a fitted model's bytes); a marker
//! file per finished (candidate, fold) feeds the client's live progress.

use std::any::Any;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use datafusion::arrow::array::{Array, AsArray, BinaryBuilder, RecordBatch};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result as DfResult, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use fsql_ml::compare::{Candidate, FoldScore, score_fold};
use fsql_ml::folds::Folds;
use fsql_ml::forecast::Forecaster;
use fsql_ml::{Dataset, Impute, Model, Task};
use serde::{Deserialize, Serialize};

use super::unit_env::{Slot, cancel_check, write_whole};
use crate::ml::convert;

/// The function's name in plans (and what the codecs recognise).
pub(crate) const COMPARE: &str = "fsql_compare";

/// Everything a unit needs, the same for every unit of a comparison (a
/// literal argument of the function, so it travels inside the plan).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Job {
    /// Where the rows are: `mem:<id>` (registered in this process) or a
    /// Parquet folder.
    pub data: String,
    pub target: String,
    pub impute: Impute,
    pub task: Task,
    pub seed: u64,
    pub folds: usize,
    pub train_size: f64,
    pub candidates: Vec<Candidate>,
    pub units: Vec<Unit>,
    /// Units that start after this time (ms since the epoch) are skipped.
    pub deadline_ms: Option<u64>,
    /// Folder of progress markers and the cancel marker.
    pub signals: Option<String>,
    /// A forecast comparison (then the candidates are its (series, model)
    /// pairs, not `candidates`).
    #[serde(default)]
    pub forecast: Option<ForecastJob>,
}

/// What a forecast comparison races.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ForecastJob {
    pub time_column: String,
    /// The series key columns (none: one series).
    pub by: Vec<String>,
    /// Each series' key values as text, by series number.
    pub keys: Vec<Vec<Option<String>>>,
    pub fh: usize,
    /// The seasonal period (None: found per series).
    pub sp: Option<usize>,
    /// (series, model) per candidate.
    pub candidates: Vec<(usize, Forecaster)>,
}

/// One unit of work.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Unit {
    pub candidates: Vec<usize>,
    /// The fold to score on; None: fit on all rows and return the model.
    pub fold: Option<usize>,
}

/// What became of one candidate in a unit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Outcome {
    Scored(FoldScore),
    Failed(String),
    Skipped(String),
    /// A model fitted on all rows (no signals folder to leave it in).
    Model(Vec<u8>),
    /// A model fitted on all rows, left in this file of the signals folder:
    /// a forest's bytes can be far larger than a gRPC message may be, so
    /// they do not come back through the engine.
    ModelFile(String),
}

/// A unit's result: `(candidate, outcome)` for each of its candidates.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct UnitResult {
    pub unit: usize,
    pub outcomes: Vec<(usize, Outcome)>,
}

/// A progress marker: one finished (candidate, fold).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Marker {
    pub candidate: usize,
    pub fold: Option<usize>,
    /// The metric values, when the fold was scored.
    pub metrics: Option<Vec<f64>>,
    /// The process that ran it (`pid@host`).
    #[serde(default)]
    pub worker: String,
}

/// This process, as `pid@host`.
fn worker() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let host = if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    format!("{}@{host}", std::process::id())
}

pub(crate) const CANCEL_MARKER: &str = "cancel";

/// Training rows prepared for a job: the dataset and its folds, or the
/// series of a forecast.
pub(crate) struct Prepared {
    pub dataset: Option<Dataset>,
    pub folds: Option<Folds>,
    /// Each series' values in time order, and its seasonal period.
    pub series: Vec<crate::ml::series::Series>,
}

/// Rows a local comparison registered (the local engines run the units in
/// this process, so the data never goes to a file).
type Registered = (String, Arc<Vec<RecordBatch>>);

fn registered() -> &'static Mutex<Vec<Registered>> {
    static R: OnceLock<Mutex<Vec<Registered>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(Vec::new()))
}

/// Makes `batches` the rows of `mem:<id>` in this process.
pub(crate) fn register(id: &str, batches: Vec<RecordBatch>) {
    let mut r = registered().lock().unwrap_or_else(|e| e.into_inner());
    r.retain(|(k, _)| k != id);
    r.push((id.to_string(), Arc::new(batches)));
}

/// Forgets a comparison's rows (registered and prepared).
pub(crate) fn forget(data: &str) {
    registered()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(k, _)| format!("mem:{k}") != data);
    prepared_cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(k, _)| !k.starts_with(&format!("{data}\u{0}")));
}

/// Prepared data by key (data location, target and split settings); the
/// few most recent are kept.
type Cell = Arc<OnceLock<std::result::Result<Arc<Prepared>, String>>>;

fn prepared_cache() -> &'static Mutex<Vec<(String, Cell)>> {
    static C: OnceLock<Mutex<Vec<(String, Cell)>>> = OnceLock::new();
    C.get_or_init(|| Mutex::new(Vec::new()))
}

const KEEP_PREPARED: usize = 2;

/// The job's prepared rows, made once per process (concurrent units wait
/// for the first one).
pub(crate) fn prepared(job: &Job) -> std::result::Result<Arc<Prepared>, String> {
    let key = format!(
        "{}\u{0}{}\u{0}{:?}\u{0}{}\u{0}{}\u{0}{}",
        job.data, job.target, job.impute, job.seed, job.folds, job.train_size
    );
    let slot = {
        let mut cache = prepared_cache().lock().unwrap_or_else(|e| e.into_inner());
        match cache.iter().find(|(k, _)| *k == key) {
            Some((_, s)) => Arc::clone(s),
            None => {
                let s: Cell = Arc::new(OnceLock::new());
                cache.push((key, Arc::clone(&s)));
                let excess = cache.len().saturating_sub(KEEP_PREPARED);
                cache.drain(..excess);
                s
            }
        }
    };
    slot.get_or_init(|| prepare(job).map(Arc::new)).clone()
}

fn prepare(job: &Job) -> std::result::Result<Prepared, String> {
    let batches: Arc<Vec<RecordBatch>> = match job.data.strip_prefix("mem:") {
        Some(id) => registered()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, b)| Arc::clone(b))
            .ok_or("the comparison's rows are not in this process (a local engine's comparison ran elsewhere)")?,
        None => Arc::new(read_parquet_folder(Path::new(&job.data))?),
    };
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => return Err("the comparison's query returned no rows".to_string()),
    };
    let batch = concat_batches(&schema, batches.iter()).map_err(|e| e.to_string())?;
    if let Some(f) = &job.forecast {
        return Ok(Prepared {
            dataset: None,
            folds: None,
            series: crate::ml::series::series(&batch, &job.target, f)?,
        });
    }
    let mut features = Vec::new();
    let mut target = None;
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        if *field.name() == job.target {
            target = Some(convert::target(field.name(), array, job.task)?);
        } else {
            features.push((field.name().clone(), convert::feature(field.name(), array)?));
        }
    }
    let dataset = Dataset::prepare(&features, target, job.impute, &job.target, true)
        .map_err(|e| e.to_string())?;
    let folds = Folds::new(
        dataset.rows(),
        (job.task == Task::Classification).then(|| dataset.classes()),
        job.train_size,
        job.folds,
        job.seed,
    )
    .map_err(|e| e.to_string())?;
    Ok(Prepared {
        dataset: Some(dataset),
        folds: Some(folds),
        series: Vec::new(),
    })
}

/// Every Parquet file under `dir` (sorted by path), read in full.
fn read_parquet_folder(dir: &Path) -> std::result::Result<Vec<RecordBatch>, String> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| format!("cannot read the comparison's data at {}: {e}", d.display()))?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "parquet") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut batches = Vec::new();
    for f in files {
        let file = std::fs::File::open(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| format!("{}: {e}", f.display()))?;
        for b in reader {
            batches.push(b.map_err(|e| format!("{}: {e}", f.display()))?);
        }
    }
    Ok(batches)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs unit `id` of `job` (waiting for a free slot first).
pub(crate) fn run_unit(job: &Job, id: usize) -> UnitResult {
    let _slot = Slot::take();
    let Some(unit) = job.units.get(id) else {
        return UnitResult {
            unit: id,
            outcomes: Vec::new(),
        };
    };
    let signals = job.signals.as_deref().map(Path::new);
    // A job's units run side by side, one per core: each fits on its share
    // of the cores (all of them for a job of one unit, as a single top
    // model's final fit). Sharing one pool instead, a quick model queued
    // behind a forest's trees, and its TT was mostly waiting.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = (cores / job.units.len().clamp(1, cores)).max(1);
    let mut outcomes = Vec::with_capacity(unit.candidates.len());
    for &c in &unit.candidates {
        let outcome = if signals.is_some_and(|d| d.join(CANCEL_MARKER).exists()) {
            Outcome::Skipped("cancelled".to_string())
        } else if job.deadline_ms.is_some_and(|d| now_ms() > d) {
            Outcome::Skipped("skipped: budget_time ran out before it started".to_string())
        } else {
            match prepared(job) {
                Err(e) => Outcome::Failed(e),
                Ok(p) => {
                    let run = || {
                        fsql_ml::with_threads(threads, || {
                            run_candidate(job, &p, c, unit.fold, threads)
                        })
                    };
                    match signals {
                        // A cancelled comparison stops its fits between
                        // steps, on this process's cores.
                        Some(dir) => fsql_ml::interrupt::interruptible(cancel_check(dir), run)
                            .unwrap_or_else(|_| Outcome::Skipped("cancelled".to_string())),
                        None => run(),
                    }
                }
            }
        };
        if let Some(dir) = signals {
            let marker = Marker {
                candidate: c,
                fold: unit.fold,
                metrics: match &outcome {
                    Outcome::Scored(s) => Some(s.metrics.clone()),
                    _ => None,
                },
                worker: worker(),
            };
            write_marker(dir, id, c, &marker);
        }
        outcomes.push((c, outcome));
    }
    UnitResult { unit: id, outcomes }
}

fn run_candidate(
    job: &Job,
    p: &Prepared,
    c: usize,
    fold: Option<usize>,
    threads: usize,
) -> Outcome {
    if let Some(f) = &job.forecast {
        return run_forecast(job, f, p, c, fold);
    }
    let Some(dataset) = &p.dataset else {
        return Outcome::Failed("no dataset".to_string());
    };
    let Some(candidate) = job.candidates.get(c) else {
        return Outcome::Failed(format!("no candidate #{c}"));
    };
    match fold {
        Some(f) => {
            let Some(folds) = &p.folds else {
                return Outcome::Failed("no folds".to_string());
            };
            match score_fold(dataset, folds, candidate, f, threads) {
                Ok(s) => Outcome::Scored(s),
                Err(e) => Outcome::Failed(e.to_string()),
            }
        }
        None => {
            let name = candidate.class.name();
            match Model::train_on(
                name,
                candidate.class,
                &candidate.params,
                Some(job.target.clone()),
                dataset,
                None,
            )
            .and_then(|m| m.to_bytes())
            {
                Ok(bytes) => match &job.signals {
                    Some(dir) => {
                        let path = Path::new(dir).join(format!("model-{c}.fsqlmodel"));
                        match write_whole(&path, &bytes) {
                            Ok(()) => Outcome::ModelFile(path.to_string_lossy().into_owned()),
                            Err(e) => Outcome::Failed(format!("{}: {e}", path.display())),
                        }
                    }
                    None => Outcome::Model(bytes),
                },
                Err(e) => Outcome::Failed(e.to_string()),
            }
        }
    }
}

/// One fold of one (series, model): forecast the `fh` points after the
/// fold's cutoff from the points before it, and score them.
fn run_forecast(
    job: &Job,
    f: &ForecastJob,
    p: &Prepared,
    c: usize,
    fold: Option<usize>,
) -> Outcome {
    let (Some(&(s, model)), Some(fold)) = (f.candidates.get(c), fold) else {
        return Outcome::Failed("forecast models are compared, not stored".to_string());
    };
    let Some(crate::ml::series::Series { y, sp, .. }) = p.series.get(s) else {
        return Outcome::Failed(format!("no series #{s}"));
    };
    let cutoffs = match fsql_ml::forecast::cutoffs(y.len(), f.fh, job.folds) {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let cut = cutoffs[fold];
    let (train, truth) = (&y[..cut], &y[cut..cut + f.fh]);
    let started = std::time::Instant::now();
    match model.forecast(train, f.fh, *sp) {
        Ok(pred) => Outcome::Scored(FoldScore {
            metrics: fsql_ml::forecast::scores(train, truth, &pred, *sp),
            seconds: started.elapsed().as_secs_f64(),
        }),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Writes a marker atomically (a temporary name, then a rename), so the
/// client never reads half of one.
fn write_marker(dir: &Path, unit: usize, candidate: usize, marker: &Marker) {
    let name = format!("u{unit}-c{candidate}.json");
    let tmp = dir.join(format!(".{name}.tmp"));
    if let Ok(bytes) = serde_json::to_vec(marker)
        && std::fs::write(&tmp, bytes).is_ok()
    {
        let _ = std::fs::rename(&tmp, dir.join(name));
    }
}

/// `fsql_compare(unit, job)`: the unit's result, MessagePack-encoded.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct CompareUdf {
    signature: Signature,
}

impl CompareUdf {
    pub(crate) fn new() -> Self {
        Self {
            signature: Signature::exact(
                vec![DataType::Int64, DataType::Utf8],
                Volatility::Volatile,
            ),
        }
    }

    pub(crate) fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(Self::new())
    }

    pub(crate) fn is(udf: &ScalarUDF) -> bool {
        (udf.inner().as_ref() as &dyn Any).is::<CompareUdf>()
    }
}

impl ScalarUDFImpl for CompareUdf {
    fn name(&self) -> &str {
        COMPARE
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Binary)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        let units = args.args[0].to_array(n)?;
        let jobs = args.args[1].to_array(n)?;
        let units = units.as_primitive::<Int64Type>();
        let jobs = jobs.as_string::<i32>();
        let mut out = BinaryBuilder::new();
        let mut parsed: Option<(String, Job)> = None;
        for i in 0..n {
            if units.is_null(i) || jobs.is_null(i) {
                out.append_null();
                continue;
            }
            let text = jobs.value(i);
            if parsed.as_ref().is_none_or(|(t, _)| t != text) {
                match serde_json::from_str::<Job>(text) {
                    Ok(j) => parsed = Some((text.to_string(), j)),
                    Err(e) => return exec_err!("{COMPARE}: not a comparison job: {e}"),
                }
            }
            let job = &parsed.as_ref().expect("parsed above").1;
            let unit = units.value(i) as usize;
            // Training blocks for a long time: tell the runtime, so other
            // tasks (the scheduler's, other partitions') move off this
            // worker thread.
            let result = match tokio::runtime::Handle::try_current() {
                Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                    tokio::task::block_in_place(|| run_unit(job, unit))
                }
                _ => run_unit(job, unit),
            };
            match rmp_serde::to_vec_named(&result) {
                Ok(bytes) => out.append_value(bytes),
                Err(e) => return exec_err!("{COMPARE}: {e}"),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

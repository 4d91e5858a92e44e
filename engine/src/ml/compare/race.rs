//! A race: candidates cross-validated on the same folds, as units of work
//! the engine spreads (see `task.rs`), then the leaderboard, then the best
//! candidates fitted on all rows. COMPARE MODELS races model classes,
//! CREATE EXPERIMENT races hyper-parameter settings of one class.
//!
//! The rows are materialised once (in this process on `local` / `threads`,
//! as Parquet in the session's scratch folder on `cluster`) and checked
//! against the folds before any training. Each unit is one row and one
//! partition of a plan whose projection calls `fsql_compare`, so the engine
//! schedules every unit on its own; only results come back.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Column;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, col, lit};
use fsql_ml::compare::{self, BoardRow, Candidate, FoldScore};
use fsql_ml::{Impute, Task};
use fsql_sql::Span;

use super::progress;
use super::task::{self, CompareUdf, Job, Outcome, Unit, UnitResult};
use crate::error::{AtSpan, Error, Result};
use crate::ml::convert::Kind;
use crate::session::Session;

/// What to race.
pub(crate) struct Race {
    /// The progress bar's title.
    pub title: String,
    pub target: String,
    pub target_span: Span,
    pub task: Task,
    pub candidates: Vec<Candidate>,
    /// A leaderboard name per candidate.
    pub names: Vec<String>,
    pub folds: usize,
    pub seed: u64,
    pub train_size: f64,
    pub impute: Impute,
    pub batch_size: usize,
    pub budget_seconds: Option<f64>,
    pub sort: &'static str,
}

/// Races `r.candidates` on the rows of `df`: the leaderboard, and the
/// model bytes of its first `fit_best` rows without an error, fitted on
/// all rows (in leaderboard order).
pub(crate) async fn run(
    s: &mut Session,
    df: DataFrame,
    r: &Race,
    fit_best: usize,
    span: Span,
) -> Result<(Vec<BoardRow>, Vec<Vec<u8>>)> {
    check_features(&df, &r.target, span)?;
    let data = Materialised::new(s, df, span).await?;
    let outcome = race(s, &data, r, fit_best, span).await;
    data.release();
    outcome
}

async fn race(
    s: &mut Session,
    data: &Materialised,
    r: &Race,
    fit_best: usize,
    span: Span,
) -> Result<(Vec<BoardRow>, Vec<Vec<u8>>)> {
    check_rows(&data.frame, r, span).await?;
    // The units: every candidate on every fold, `batch_size` candidates per
    // unit, the slowest classes first (a long unit started last would
    // leave the other cores idle at the end).
    let mut order: Vec<usize> = (0..r.candidates.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(cost_rank(r.candidates[i].class)));
    let mut units = Vec::new();
    for batch in order.chunks(r.batch_size) {
        for fold in 0..r.folds {
            units.push(Unit {
                candidates: batch.to_vec(),
                fold: Some(fold),
            });
        }
    }
    let signals = data.signals_dir(s, span)?;
    let job = Job {
        data: data.key.clone(),
        target: r.target.clone(),
        impute: r.impute,
        task: r.task,
        seed: r.seed,
        folds: r.folds,
        train_size: r.train_size,
        candidates: r.candidates.clone(),
        units,
        deadline_ms: r.budget_seconds.map(|b| now_ms() + (b * 1000.0) as u64),
        signals: Some(signals.to_string_lossy().into_owned()),
        forecast: None,
    };
    let metrics = compare::metric_names(r.task);
    let watch = progress::Watch {
        title: r.title.clone(),
        total: r.candidates.len() * r.folds,
        names: r.names.clone(),
        sort_at: metrics.iter().position(|m| *m == r.sort),
        higher_is_better: compare::higher_is_better(r.sort),
        metric: r.sort.to_string(),
    };
    let results = run_job(s, &job, &signals, Some(watch), span).await?;
    // scores[candidate][fold]
    let mut scores: Vec<Vec<Option<std::result::Result<FoldScore, String>>>> =
        vec![vec![None; r.folds]; r.candidates.len()];
    for u in results {
        let fold = job.units[u.unit].fold.unwrap_or(0);
        for (c, outcome) in u.outcomes {
            scores[c][fold] = Some(match outcome {
                Outcome::Scored(s) => Ok(s),
                Outcome::Failed(e) | Outcome::Skipped(e) => Err(e),
                Outcome::Model(_) | Outcome::ModelFile(_) => Err("unexpected model".to_string()),
            });
        }
    }
    let scores: Vec<Vec<std::result::Result<FoldScore, String>>> = scores
        .into_iter()
        .map(|folds| {
            folds
                .into_iter()
                .map(|f| f.unwrap_or_else(|| Err("the fold did not run".to_string())))
                .collect()
        })
        .collect();
    let rows = compare::leaderboard(metrics, &r.names, &scores, r.sort);
    if fit_best == 0 {
        return Ok((rows, Vec::new()));
    }
    // The best, fitted on all rows.
    let best: Vec<usize> = rows
        .iter()
        .filter(|row| row.error.is_none())
        .take(fit_best)
        .filter_map(|row| r.names.iter().position(|n| *n == row.model))
        .collect();
    let fit = Job {
        units: best
            .iter()
            .map(|&c| Unit {
                candidates: vec![c],
                fold: None,
            })
            .collect(),
        deadline_ms: None,
        ..job
    };
    let mut fitted: Vec<(usize, Vec<u8>)> = Vec::new();
    for u in run_job(s, &fit, &signals, None, span).await? {
        for (c, outcome) in u.outcomes {
            match outcome {
                Outcome::Model(bytes) => fitted.push((u.unit, bytes)),
                Outcome::ModelFile(path) => {
                    let bytes = std::fs::read(&path).map_err(|e| {
                        Error::at(span, format!("fitting {}: {path}: {e}", r.names[c]))
                    })?;
                    let _ = std::fs::remove_file(&path);
                    fitted.push((u.unit, bytes));
                }
                Outcome::Failed(e) | Outcome::Skipped(e) => {
                    return Err(Error::at(
                        span,
                        format!("fitting {} on all rows: {e}", r.names[c]),
                    ));
                }
                Outcome::Scored(_) => {}
            }
        }
    }
    fitted.sort_by_key(|(u, _)| *u);
    Ok((rows, fitted.into_iter().map(|(_, b)| b).collect()))
}

/// Every column but the target must be usable as a feature.
fn check_features(df: &DataFrame, target: &str, span: Span) -> Result<()> {
    for f in df.schema().fields() {
        if f.name() != target && Kind::of(f.data_type()).is_none() {
            return Err(Error::at(
                span,
                format!(
                    "column '{}' has type {}, which a model cannot use; cast it to a number or a string, or drop it",
                    f.name(),
                    f.data_type()
                ),
            ));
        }
    }
    Ok(())
}

/// Checks, before any training, that the folds can be cut: a NULL target is
/// an error (unless impute = 'drop'), and every class needs `folds` rows in
/// the training share (every regression `folds` rows).
async fn check_rows(df: &DataFrame, r: &Race, span: Span) -> Result<()> {
    let (target, task) = (r.target.as_str(), r.task);
    let counts = df
        .clone()
        .aggregate(
            vec![col(Column::new_unqualified(target)).alias("t")],
            vec![datafusion::functions_aggregate::count::count(lit(1)).alias("n")],
        )
        .at(span)?
        .collect()
        .await
        .at(span)?;
    let mut classes: Vec<(String, usize)> = Vec::new();
    let mut nulls = 0;
    for b in &counts {
        let t = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8).at(span)?;
        let t = t.as_string::<i32>();
        let n = datafusion::arrow::compute::cast(b.column(1), &DataType::Int64).at(span)?;
        let n = n.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        for i in 0..b.num_rows() {
            if t.is_null(i) {
                nulls += n.value(i) as usize;
            } else {
                classes.push((t.value(i).to_string(), n.value(i) as usize));
            }
        }
    }
    if nulls > 0 && r.impute != Impute::Drop {
        return Err(Error::at(
            r.target_span,
            format!(
                "target '{target}' has {nulls} NULL values; filter them out or add impute = 'drop'"
            ),
        ));
    }
    let share = |n: usize| -> usize {
        if r.train_size >= 1.0 {
            n
        } else {
            ((n as f64 * r.train_size).round() as usize).clamp(1.min(n), n)
        }
    };
    match task {
        Task::Classification => {
            if classes.len() < 2 {
                return Err(Error::at(
                    r.target_span,
                    format!(
                        "target '{target}' has {} class; a comparison of classifiers needs at least 2",
                        classes.len()
                    ),
                ));
            }
            classes.sort();
            for (label, n) in &classes {
                if share(*n) < r.folds {
                    return Err(Error::at(
                        span,
                        format!(
                            "folds = {} needs at least {} training rows of every class; class '{label}' has {} (of {n} rows, train_size = {})",
                            r.folds,
                            r.folds,
                            share(*n),
                            r.train_size
                        ),
                    ));
                }
            }
        }
        _ => {
            let rows: usize = classes.iter().map(|(_, n)| n).sum();
            if share(rows) < r.folds {
                return Err(Error::at(
                    span,
                    format!(
                        "folds = {} needs at least {} training rows; there are {} (of {rows} rows, train_size = {})",
                        r.folds,
                        r.folds,
                        share(rows),
                        r.train_size
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The compared rows, materialised once.
pub(super) struct Materialised {
    /// The job's data key: `mem:<id>` or a Parquet folder.
    pub key: String,
    /// A dataframe over the materialised rows (for the checks).
    pub frame: DataFrame,
    /// The comparison's own scratch folder (cluster), removed at the end.
    folder: Option<PathBuf>,
}

impl Materialised {
    pub(super) async fn new(s: &mut Session, df: DataFrame, span: Span) -> Result<Materialised> {
        let id = format!("compare-{}", crate::session::unique_suffix());
        if s.engine() == crate::Engine::Cluster {
            let folder = s.scratch_path(span)?.join(&id);
            let data = folder.join("data");
            let frame = crate::lower::checkpoint(&s.ctx, df, &data.to_string_lossy(), span).await?;
            return Ok(Materialised {
                key: data.to_string_lossy().into_owned(),
                frame,
                folder: Some(folder),
            });
        }
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await.at(span)?;
        let frame = s
            .ctx
            .read_batches(batches.clone())
            .or_else(|_| {
                s.ctx
                    .read_batch(datafusion::arrow::array::RecordBatch::new_empty(schema))
            })
            .at(span)?;
        task::register(&id, batches);
        Ok(Materialised {
            key: format!("mem:{id}"),
            frame,
            folder: None,
        })
    }

    /// The folder units write their progress markers to.
    pub(super) fn signals_dir(&self, s: &mut Session, span: Span) -> Result<PathBuf> {
        let dir = match &self.folder {
            Some(f) => f.join("signals"),
            None => s
                .scratch_path(span)?
                .join(format!("{}-signals", self.key.trim_start_matches("mem:"))),
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::at(span, format!("cannot create {}: {e}", dir.display())))?;
        Ok(dir)
    }

    pub(super) fn release(&self) {
        task::forget(&self.key);
        if let Some(f) = &self.folder {
            let _ = std::fs::remove_dir_all(f);
        }
    }
}

/// Runs `job`'s units as a plan on the session's engine and returns their
/// results; with `watch`, shows live progress from the units' markers.
pub(super) async fn run_job(
    s: &Session,
    job: &Job,
    signals: &Path,
    watch: Option<progress::Watch>,
    span: Span,
) -> Result<Vec<UnitResult>> {
    let text = serde_json::to_string(job).map_err(|e| Error::at(span, e.to_string()))?;
    let ids: Vec<i64> = (0..job.units.len() as i64).collect();
    let plan = if s.engine() == crate::Engine::Local || ids.len() <= 1 {
        LogicalPlanBuilder::values(ids.iter().map(|i| vec![lit(*i)]).collect())
            .and_then(|b| b.build())
            .at(span)?
    } else {
        // One partition per unit, so the engine schedules each on its own.
        let mut builder = LogicalPlanBuilder::values(vec![vec![lit(ids[0])]]).at(span)?;
        for i in &ids[1..] {
            let one = LogicalPlanBuilder::values(vec![vec![lit(*i)]])
                .and_then(|b| b.build())
                .at(span)?;
            builder = builder.union(one).at(span)?;
        }
        builder.build().at(span)?
    };
    let call = Expr::ScalarFunction(datafusion::logical_expr::expr::ScalarFunction::new_udf(
        Arc::new(CompareUdf::udf()),
        vec![col("column1"), lit(text)],
    ))
    .alias("result");
    let df = DataFrame::new(s.ctx.state(), plan)
        .select(vec![call])
        .at(span)?;
    // Cancelled (the statement's future dropped, e.g. Ctrl-C in the REPL):
    // units not yet started see the marker and skip.
    let mut cancel = CancelOnDrop(Some(signals.to_path_buf()));
    let reporter = match (watch, s.sink.progress()) {
        (Some(w), Some(p)) => Some(progress::start(w, signals.to_path_buf(), p)),
        _ => None,
    };
    let collected = df.collect().await;
    if let Some(r) = reporter {
        r.finish();
    }
    cancel.0 = None;
    let batches = collected.at(span)?;
    let mut results = Vec::with_capacity(job.units.len());
    for b in &batches {
        let col = b.column(0).as_binary::<i32>();
        for i in 0..b.num_rows() {
            if col.is_null(i) {
                continue;
            }
            let r: UnitResult = rmp_serde::from_slice(col.value(i))
                .map_err(|e| Error::at(span, format!("a comparison unit's result: {e}")))?;
            results.push(r);
        }
    }
    Ok(results)
}

/// Writes the cancel marker into its folder when dropped (unless the run
/// finished and took the folder out).
struct CancelOnDrop(Option<PathBuf>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::write(dir.join(task::CANCEL_MARKER), b"");
        }
    }
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Larger for classes whose fits take longer (so their units start first).
fn cost_rank(class: fsql_ml::ModelClass) -> u8 {
    use fsql_ml::ModelClass::*;
    match class {
        RandomForestClassifier | RandomForestRegressor => 9,
        ExtraTreesClassifier | ExtraTreesRegressor => 8,
        KnnClassifier | KnnRegressor => 7,
        HistGradientBoostingClassifier | HistGradientBoostingRegressor => 6,
        AdaBoostClassifier | AdaBoostRegressor => 5,
        DecisionTreeClassifier | DecisionTreeRegressor => 4,
        LogisticRegression | LinearSvc | HuberRegressor | KMeans => 3,
        QuadraticDiscriminantAnalysis | GaussianNb => 2,
        _ => 1,
    }
}

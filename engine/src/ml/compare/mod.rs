//! COMPARE MODELS, PyCaret's `compare_models` as one statement: every
//! candidate class is cross-validated on the same folds and ranked by a
//! metric; the best `top` are fitted on all rows and stored.
//!
//! How it runs: the options are checked first (see `options.rs`), then the
//! rows are materialised once (in this process on `local` / `threads`, as
//! Parquet in the session's scratch folder on `cluster`) and checked
//! against the folds. The work units (a batch of candidates on one fold)
//! become the rows of a plan, one partition each, whose projection calls
//! `fsql_compare` (see `task.rs`): the engine spreads them over its cores
//! or executors; only metrics come back. Progress markers written as units
//! finish feed the live progress bar. The leaderboard is a dataframe.

mod board;
mod chart;
mod options;
pub(crate) mod progress;
pub(crate) mod task;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, col, lit};
use fsql_ml::compare::{self, FoldScore};
use fsql_ml::{Impute, Task};
use fsql_sql::{CompareModels, Name, Span};

use crate::error::{AtSpan, Error, Result};
use crate::ml::convert::Kind;
use crate::session::Session;
use options::CompareOptions;
use task::{CompareUdf, Job, Outcome, Unit, UnitResult};

pub(crate) async fn compare_models(
    s: &mut Session,
    c: &CompareModels,
    span: Span,
) -> Result<DataFrame> {
    let o = CompareOptions::parse(&c.options, span)?;
    if o.forecast.is_some() {
        return Err(Error::at(span, "task = 'forecast' is not available yet"));
    }
    let df = match &c.input {
        Some(st) => Box::pin(crate::lower::statement(s, st, span))
            .await?
            .ok_or_else(|| Error::at(span, "COMPARE MODELS needs a query that produces rows"))?,
        None => s.input(None, span).await?,
    };
    let target = target_column(&df, &o)?;
    let task = match o.task {
        Some(t) => t,
        None => infer_task(&df, &target, &o).await?,
    };
    let candidates = o.candidates(task)?;
    let sort = o.sort_metric(task)?;
    check_features(&df, &target, span)?;
    let data = Materialised::new(s, df, span).await?;
    check_rows(&data.frame, &target, task, &o, span).await?;
    // The units: every candidate on every fold, `batch_size` candidates per
    // unit, the slowest classes first (a long unit started last would
    // leave the other cores idle at the end).
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(cost_rank(candidates[i].class)));
    let mut units = Vec::new();
    for batch in order.chunks(o.batch_size) {
        for fold in 0..o.folds {
            units.push(Unit {
                candidates: batch.to_vec(),
                fold: Some(fold),
            });
        }
    }
    let deadline_ms = o.budget_seconds.map(|b| now_ms() + (b * 1000.0) as u64);
    let signals = data.signals_dir(s, span)?;
    let job = Job {
        data: data.key.clone(),
        target: target.clone(),
        impute: o.impute,
        task,
        seed: o.seed,
        folds: o.folds,
        train_size: o.train_size,
        candidates: candidates.clone(),
        units,
        deadline_ms,
        signals: signals.as_ref().map(|p| p.to_string_lossy().into_owned()),
    };
    let names: Vec<String> = candidates
        .iter()
        .map(|c| c.class.sklearn_name().to_string())
        .collect();
    let metrics = compare::metric_names(task);
    let sort_at = metrics.iter().position(|m| *m == sort);
    let watch = progress::Watch {
        title: format!(
            "COMPARE MODELS: {} models x {} folds",
            candidates.len(),
            o.folds
        ),
        total: candidates.len() * o.folds,
        names: names.clone(),
        sort_at,
        higher_is_better: compare::higher_is_better(sort),
        metric: sort.to_string(),
    };
    let results = run_job(s, &job, signals.as_ref(), Some(watch), span).await?;
    // scores[candidate][fold]
    let mut scores: Vec<Vec<Option<std::result::Result<FoldScore, String>>>> =
        vec![vec![None; o.folds]; candidates.len()];
    for r in results {
        let fold = job.units[r.unit].fold.unwrap_or(0);
        for (c, outcome) in r.outcomes {
            scores[c][fold] = Some(match outcome {
                Outcome::Scored(s) => Ok(s),
                Outcome::Failed(e) | Outcome::Skipped(e) => Err(e),
                Outcome::Model(_) => Err("unexpected model".to_string()),
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
    let rows = compare::leaderboard(task, &names, &scores, sort);
    // The best `top` fitted on all rows, stored as <into>_1 .. <into>_n.
    if o.top > 0 {
        let best: Vec<usize> = rows
            .iter()
            .filter(|r| r.error.is_none())
            .take(o.top)
            .filter_map(|r| names.iter().position(|n| *n == r.model))
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
            ..job.clone()
        };
        let fitted = run_job(s, &fit, signals.as_ref(), None, span).await?;
        let mut by_unit: Vec<(usize, Vec<u8>)> = Vec::new();
        for r in fitted {
            for (c, outcome) in r.outcomes {
                match outcome {
                    Outcome::Model(bytes) => by_unit.push((r.unit, bytes)),
                    Outcome::Failed(e) | Outcome::Skipped(e) => {
                        return Err(Error::at(
                            o.top_span,
                            format!("fitting {} on all rows: {e}", names[c]),
                        ));
                    }
                    Outcome::Scored(_) => {}
                }
            }
        }
        by_unit.sort_by_key(|(u, _)| *u);
        for (rank, (_, bytes)) in by_unit.into_iter().enumerate() {
            let name = format!("{}_{}", o.into, rank + 1);
            let model = fsql_ml::Model::from_bytes(&bytes)
                .map_err(|e| Error::at(span, e.to_string()))?
                .renamed(&name);
            let bytes = model
                .to_bytes()
                .map_err(|e| Error::at(span, e.to_string()))?;
            s.models
                .put(&name, &bytes)
                .map_err(|e| Error::at(span, e.to_string()))?;
        }
    }
    data.release();
    if let Some(path) = &o.chart {
        chart::write(std::path::Path::new(path), &rows, sort, sort_at, o.folds)
            .map_err(|e| Error::at(o.chart_span, format!("chart: {e}")))?;
    }
    let batch = board::batch(metrics, &rows, o.round).at(span)?;
    crate::lower::batch_frame(s, batch, span)
}

/// The target column's name in `df`, or an error listing the columns.
fn target_column(df: &DataFrame, o: &CompareOptions) -> Result<String> {
    crate::lower::resolve_column(
        df.schema(),
        &Name {
            value: o.target.clone(),
            quoted: false,
            span: o.target_span,
        },
    )
    .map_err(|_| {
        let columns: Vec<&str> = df
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        Error::at(
            o.target_span,
            format!(
                "target '{}' is not a column of the compared rows (columns: {})",
                o.target,
                columns.join(", ")
            ),
        )
    })
}

/// Classification for text and boolean targets and integers with at most
/// 20 distinct values; regression for other numbers.
async fn infer_task(df: &DataFrame, target: &str, o: &CompareOptions) -> Result<Task> {
    let t = df
        .schema()
        .field_with_unqualified_name(target)
        .map(|f| f.data_type().clone())
        .at(o.target_span)?;
    match (Kind::of(&t), &t) {
        (_, DataType::Boolean) | (Some(Kind::Text), _) => Ok(Task::Classification),
        (Some(Kind::Numeric), t) if t.is_integer() => {
            let distinct = df
                .clone()
                .select(vec![col(ident_name(target))])
                .and_then(|d| d.distinct())
                .and_then(|d| d.limit(0, Some(21)))
                .at(o.target_span)?
                .count()
                .await
                .at(o.target_span)?;
            Ok(if distinct <= 20 {
                Task::Classification
            } else {
                Task::Regression
            })
        }
        (Some(Kind::Numeric), _) => Ok(Task::Regression),
        _ => Err(Error::at(
            o.target_span,
            format!(
                "target '{target}' has type {t}, which no model predicts; cast it to a number or a string"
            ),
        )),
    }
}

fn ident_name(name: &str) -> datafusion::common::Column {
    datafusion::common::Column::new_unqualified(name)
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
async fn check_rows(
    df: &DataFrame,
    target: &str,
    task: Task,
    o: &CompareOptions,
    span: Span,
) -> Result<()> {
    let counts = df
        .clone()
        .aggregate(
            vec![col(ident_name(target)).alias("t")],
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
    if nulls > 0 && o.impute != Impute::Drop {
        return Err(Error::at(
            o.target_span,
            format!(
                "target '{target}' has {nulls} NULL values; filter them out or add impute = 'drop'"
            ),
        ));
    }
    let share = |n: usize| -> usize {
        if o.train_size >= 1.0 {
            n
        } else {
            ((n as f64 * o.train_size).round() as usize).clamp(1.min(n), n)
        }
    };
    match task {
        Task::Classification => {
            if classes.len() < 2 {
                return Err(Error::at(
                    o.target_span,
                    format!(
                        "target '{target}' has {} class; a comparison of classifiers needs at least 2",
                        classes.len()
                    ),
                ));
            }
            classes.sort();
            for (label, n) in &classes {
                if share(*n) < o.folds {
                    return Err(Error::at(
                        span,
                        format!(
                            "folds = {} needs at least {} training rows of every class; class '{label}' has {} (of {n} rows, train_size = {})",
                            o.folds,
                            o.folds,
                            share(*n),
                            o.train_size
                        ),
                    ));
                }
            }
        }
        _ => {
            let rows: usize = classes.iter().map(|(_, n)| n).sum();
            if share(rows) < o.folds {
                return Err(Error::at(
                    span,
                    format!(
                        "folds = {} needs at least {} training rows; there are {} (of {rows} rows, train_size = {})",
                        o.folds,
                        o.folds,
                        share(rows),
                        o.train_size
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The compared rows, materialised once.
struct Materialised {
    /// The job's data key: `mem:<id>` or a Parquet folder.
    key: String,
    /// A dataframe over the materialised rows (for the checks).
    frame: DataFrame,
    /// The comparison's own scratch folder (cluster), removed at the end.
    folder: Option<PathBuf>,
}

impl Materialised {
    async fn new(s: &mut Session, df: DataFrame, span: Span) -> Result<Materialised> {
        let id = format!("compare-{}", crate::session::unique_suffix());
        if s.engine() == crate::Engine::Cluster {
            let folder = s.scratch_path(span)?.join(&id);
            let data = folder.join("data");
            let frame = crate::lower::checkpoint(&s.ctx, df, &data, span).await?;
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
    fn signals_dir(&self, s: &mut Session, span: Span) -> Result<Option<PathBuf>> {
        let dir = match &self.folder {
            Some(f) => f.join("signals"),
            None => s
                .scratch_path(span)?
                .join(format!("{}-signals", self.key.trim_start_matches("mem:"))),
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::at(span, format!("cannot create {}: {e}", dir.display())))?;
        Ok(Some(dir))
    }

    fn release(self) {
        task::forget(&self.key);
        if let Some(f) = &self.folder {
            let _ = std::fs::remove_dir_all(f);
        }
    }
}

/// Runs `job`'s units as a plan on the session's engine and returns their
/// results; with `watch`, shows live progress from the units' markers.
async fn run_job(
    s: &Session,
    job: &Job,
    signals: Option<&PathBuf>,
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
    let mut cancel = CancelOnDrop(signals.cloned());
    let reporter = match (watch, signals, s.sink.progress()) {
        (Some(w), Some(dir), Some(p)) => Some(progress::start(w, dir.clone(), p)),
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

fn now_ms() -> u64 {
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

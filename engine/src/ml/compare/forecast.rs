//! COMPARE MODELS with `task = 'forecast'` (PyCaret's time-series
//! `compare_models`): each series (one, or one per `PREPARTITION BY` key)
//! is ordered by `time_column`; its last `fh` points are held out and the
//! rest cut into expanding-window folds (see `fsql_ml::forecast`). Every
//! (series, model, fold) is a unit of work spread by the engine like any
//! comparison (`race.rs`, `task.rs`). The leaderboard has a row per
//! (series, model): the key columns first, then the model and the metrics,
//! each series' models sorted by the sort metric (default MASE). The best
//! `top` are stored as forecast models (`crate::ml::forecast`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::Column;
use datafusion::dataframe::DataFrame;
use datafusion::functions_aggregate::count::count;
use datafusion::logical_expr::{SortExpr, col, lit};
use fsql_ml::compare::{self, BoardRow, FoldScore};
use fsql_ml::forecast::{self, FORECAST_METRICS, Forecaster, show_key};
use fsql_sql::{Name, Span};

use super::options::{CompareOptions, ForecastOptions};
use super::race::{Materialised, now_ms, run_job};
use super::task::{ForecastJob, Job, Outcome, Unit};
use super::{board, progress};
use crate::error::{AtSpan, Error, Result};
use crate::session::Session;

/// The most units a forecast comparison makes (more series x models x
/// folds are batched into these).
const MOST_UNITS: usize = 256;

pub(super) async fn compare(
    s: &mut Session,
    df: DataFrame,
    by: &[Name],
    o: &CompareOptions,
    f: &ForecastOptions,
    span: Span,
) -> Result<DataFrame> {
    let target = super::target_column(&df, &o.target, o.target_span)?;
    let time = super::target_column(&df, &f.time_column, span).map_err(|_| {
        Error::at(
            span,
            format!(
                "time_column '{}' is not a column of the compared rows",
                f.time_column
            ),
        )
    })?;
    let keys: Vec<String> = by
        .iter()
        .map(|k| crate::lower::resolve_column(df.schema(), k))
        .collect::<Result<_>>()?;
    let t = df
        .schema()
        .field_with_unqualified_name(&target)
        .map(|x| x.data_type().clone())
        .at(o.target_span)?;
    if !t.is_numeric() {
        return Err(Error::at(
            o.target_span,
            format!("a forecast needs a numeric target; '{target}' is {t}"),
        ));
    }
    let models = forecasters(o)?;
    if o.top > models.len() {
        return Err(Error::at(
            o.top_span,
            format!(
                "top = {} but only {} models are compared",
                o.top,
                models.len()
            ),
        ));
    }
    let sort = match &o.sort {
        Some((m, at)) => compare::resolve_metric_in(FORECAST_METRICS, "forecast", m)
            .map_err(|e| Error::at(*at, e.to_string()))?,
        None => "MASE",
    };
    // The series and their lengths, checked against the folds first.
    let mut columns: Vec<String> = keys.clone();
    columns.push(time.clone());
    columns.push(target.clone());
    let df = df
        .select(
            columns
                .iter()
                .map(|c| col(Column::new_unqualified(c)))
                .collect::<Vec<_>>(),
        )
        .at(span)?;
    let data = Materialised::new(s, df, span).await?;
    let outcome = run(s, &data, &keys, &time, &target, &models, sort, o, f, span).await;
    data.release();
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn run(
    s: &mut Session,
    data: &Materialised,
    keys: &[String],
    time: &str,
    target: &str,
    models: &[Forecaster],
    sort: &'static str,
    o: &CompareOptions,
    f: &ForecastOptions,
    span: Span,
) -> Result<DataFrame> {
    let series = series_keys(&data.frame, keys, target, span).await?;
    for (key, n) in &series {
        forecast::cutoffs(*n, f.fh, o.folds).map_err(|e| {
            Error::at(
                span,
                if key.is_empty() {
                    e.to_string()
                } else {
                    format!("series {}: {e}", show_key(key))
                },
            )
        })?;
    }
    let pairs: Vec<(usize, Forecaster)> = (0..series.len())
        .flat_map(|s| models.iter().map(move |m| (s, *m)))
        .collect();
    let batch = (pairs.len() * o.folds).div_ceil(MOST_UNITS).max(1);
    let order: Vec<usize> = (0..pairs.len()).collect();
    let mut units = Vec::new();
    for chunk in order.chunks(batch) {
        for fold in 0..o.folds {
            units.push(Unit {
                candidates: chunk.to_vec(),
                fold: Some(fold),
            });
        }
    }
    let signals = data.signals_dir(s, span)?;
    let job = Job {
        data: data.key.clone(),
        target: target.to_string(),
        impute: fsql_ml::Impute::None,
        task: fsql_ml::Task::Regression,
        seed: o.seed,
        folds: o.folds,
        train_size: 1.0,
        candidates: Vec::new(),
        units,
        deadline_ms: o.budget_seconds.map(|b| now_ms() + (b * 1000.0) as u64),
        signals: Some(signals.to_string_lossy().into_owned()),
        forecast: Some(ForecastJob {
            time_column: time.to_string(),
            by: keys.to_vec(),
            keys: series.iter().map(|(k, _)| k.clone()).collect(),
            fh: f.fh,
            sp: f.sp,
            candidates: pairs.clone(),
        }),
    };
    let names: Vec<String> = pairs
        .iter()
        .map(|(sr, m)| {
            if keys.is_empty() {
                m.name().to_string()
            } else {
                format!("{} {}", show_key(&series[*sr].0), m.name())
            }
        })
        .collect();
    let watch = progress::Watch {
        title: format!(
            "COMPARE MODELS (forecast): {} series x {} models x {} folds",
            series.len(),
            models.len(),
            o.folds
        ),
        total: pairs.len() * o.folds,
        names,
        sort_at: FORECAST_METRICS.iter().position(|m| *m == sort),
        higher_is_better: compare::higher_is_better(sort),
        metric: sort.to_string(),
    };
    let results = run_job(s, &job, &signals, Some(watch), span).await?;
    let mut scores: Vec<Vec<std::result::Result<FoldScore, String>>> =
        vec![vec![Err("the fold did not run".to_string()); o.folds]; pairs.len()];
    for u in results {
        let fold = job.units[u.unit].fold.unwrap_or(0);
        for (c, outcome) in u.outcomes {
            scores[c][fold] = match outcome {
                Outcome::Scored(s) => Ok(s),
                Outcome::Failed(e) | Outcome::Skipped(e) => Err(e),
                Outcome::Model(_) | Outcome::ModelFile(_) => Err("unexpected model".to_string()),
            };
        }
    }
    // A leaderboard per series, in series order.
    let model_names: Vec<String> = models.iter().map(|m| m.name().to_string()).collect();
    let mut rows: Vec<BoardRow> = Vec::new();
    let mut row_keys: Vec<&Vec<Option<String>>> = Vec::new();
    // Each series' models that scored, best first.
    let mut ranked: Vec<Vec<Forecaster>> = Vec::new();
    for (sr, (key, _)) in series.iter().enumerate() {
        let own: Vec<_> = scores[sr * models.len()..(sr + 1) * models.len()].to_vec();
        let mut order = Vec::new();
        for r in compare::leaderboard(FORECAST_METRICS, &model_names, &own, sort) {
            if r.error.is_none()
                && let Some(at) = model_names.iter().position(|m| *m == r.model)
            {
                order.push(models[at]);
            }
            rows.push(r);
            row_keys.push(key);
        }
        ranked.push(order);
    }
    if o.top > 0 {
        store_best(s, data, keys, time, target, &series, &ranked, o, f, span).await?;
    }
    let board = board::batch(FORECAST_METRICS, &rows, o.round).at(span)?;
    let mut fields: Vec<Field> = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        fields.push(Field::new(k, DataType::Utf8, true));
        arrays.push(Arc::new(StringArray::from_iter(
            row_keys.iter().map(|key| key[i].clone()),
        )));
    }
    for (field, array) in board.schema().fields().iter().zip(board.columns()) {
        fields.push(field.as_ref().clone());
        arrays.push(array.clone());
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).at(span)?;
    crate::lower::batch_frame(s, batch, span)
}

/// The best `top` fitted on every point of their series and stored as
/// `<into>_1` .. `<into>_n`: model k forecasts each series with that
/// series' k-th best model (its last one that scored when fewer did).
#[allow(clippy::too_many_arguments)]
async fn store_best(
    s: &mut Session,
    data: &Materialised,
    keys: &[String],
    time: &str,
    target: &str,
    series: &[(Vec<Option<String>>, usize)],
    ranked: &[Vec<Forecaster>],
    o: &CompareOptions,
    f: &ForecastOptions,
    span: Span,
) -> Result<()> {
    let layout = crate::ml::forecast::Layout {
        target,
        time,
        by: keys,
        sp: f.sp,
    };
    let (time_type, points) = crate::ml::forecast::collect_series(
        &data.frame,
        &layout,
        series.iter().map(|(k, _)| k.clone()).collect(),
        f.fh,
        span,
    )
    .await?;
    for k in 0..o.top {
        let mut chosen = Vec::with_capacity(points.len());
        for ((key, sr), order) in points.iter().zip(ranked) {
            let Some(m) = order.get(k).or(order.last()) else {
                return Err(Error::at(
                    o.top_span,
                    if key.is_empty() {
                        "no model scored on every fold; there is none to store".to_string()
                    } else {
                        format!(
                            "no model scored on every fold of series {}; there is none to store",
                            show_key(key)
                        )
                    },
                ));
            };
            chosen.push((key.clone(), sr.clone(), *m));
        }
        let name = format!("{}_{}", o.into, k + 1);
        let bytes = crate::ml::forecast::model(&name, &layout, &time_type, chosen, span)?;
        s.models
            .put(&name, &bytes)
            .map_err(|e| Error::at(span, e.to_string()))?;
    }
    Ok(())
}

/// The models of a forecast comparison: `models` (default all), without
/// `exclude`.
fn forecasters(o: &CompareOptions) -> Result<Vec<Forecaster>> {
    let mut out: Vec<Forecaster> = match &o.models {
        Some((names, at)) => {
            let mut v = Vec::new();
            for n in names {
                let m = Forecaster::parse(n).map_err(|e| Error::at(*at, e.to_string()))?;
                if !v.contains(&m) {
                    v.push(m);
                }
            }
            v
        }
        None => Forecaster::ALL.to_vec(),
    };
    for (n, at) in &o.exclude {
        let m = Forecaster::parse(n).map_err(|e| Error::at(*at, e.to_string()))?;
        out.retain(|x| *x != m);
    }
    if out.is_empty() {
        return Err(Error::at(o.target_span, "no models left to compare"));
    }
    Ok(out)
}

/// Each series' key (as text) and number of points, sorted by key; NULL
/// targets are an error.
async fn series_keys(
    df: &DataFrame,
    keys: &[String],
    target: &str,
    span: Span,
) -> Result<Vec<(Vec<Option<String>>, usize)>> {
    let group: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            datafusion::logical_expr::cast(col(Column::new_unqualified(k)), DataType::Utf8)
                .alias(format!("k{i}"))
        })
        .collect();
    let sort: Vec<SortExpr> = (0..keys.len())
        .map(|i| col(format!("k{i}")).sort(true, true))
        .collect();
    let batches = df
        .clone()
        .aggregate(
            group,
            vec![
                count(lit(1)).alias("n"),
                count(col(Column::new_unqualified(target))).alias("valued"),
            ],
        )
        .and_then(|d| if sort.is_empty() { Ok(d) } else { d.sort(sort) })
        .at(span)?
        .collect()
        .await
        .at(span)?;
    let mut out = Vec::new();
    for b in &batches {
        let n = cast(b.column(keys.len()), &DataType::Int64).at(span)?;
        let n = n.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let valued = cast(b.column(keys.len() + 1), &DataType::Int64).at(span)?;
        let valued = valued.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        for row in 0..b.num_rows() {
            let key: Vec<Option<String>> = (0..keys.len())
                .map(|i| {
                    let k = b.column(i).as_string::<i32>();
                    (!k.is_null(row)).then(|| k.value(row).to_string())
                })
                .collect();
            if valued.value(row) < n.value(row) {
                return Err(Error::at(
                    span,
                    format!(
                        "target '{target}' has NULL values{}; a forecast needs every point",
                        if key.is_empty() {
                            String::new()
                        } else {
                            format!(" in series {}", show_key(&key))
                        }
                    ),
                ));
            }
            out.push((key, n.value(row) as usize));
        }
    }
    Ok(out)
}

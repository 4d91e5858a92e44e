//! COMPARE MODELS, PyCaret's `compare_models` as one statement: every
//! candidate class is cross-validated on the same folds and ranked by a
//! metric; the best `top` are fitted on all rows and stored.
//!
//! The options are checked first (see `options.rs`); the race itself (rows
//! materialised once, units of work spread by the engine, leaderboard, best
//! fitted) is `race.rs`, shared with CREATE EXPERIMENT (`experiment.rs`).
//! The leaderboard is a dataframe; `chart` draws it (`chart.rs`).

mod board;
mod chart;
mod experiment;
mod forecast;
mod options;
pub(crate) mod progress;
mod race;
pub(crate) mod task;
mod unit_env;

use datafusion::arrow::datatypes::DataType;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::col;
use fsql_ml::Task;
use fsql_ml::compare;
use fsql_sql::{CompareModels, Name, Span};

use crate::error::{AtSpan, Error, Result};
use crate::ml::convert::Kind;
use crate::session::Session;
use options::CompareOptions;
use race::Race;

pub(crate) use experiment::create_experiment;

pub(crate) async fn compare_models(
    s: &mut Session,
    c: &CompareModels,
    span: Span,
) -> Result<DataFrame> {
    let o = CompareOptions::parse(&c.options, span)?;
    if o.forecast.is_none() && !c.partition.is_empty() {
        return Err(Error::at(
            c.partition[0].span,
            "PREPARTITION BY splits a forecast into series; it needs task = 'forecast'",
        ));
    }
    let df = match &c.input {
        Some(st) => Box::pin(crate::lower::statement(s, st, span))
            .await?
            .ok_or_else(|| Error::at(span, "COMPARE MODELS needs a query that produces rows"))?,
        None => s.input(None, span).await?,
    };
    if let Some(f) = &o.forecast {
        return forecast::compare(s, df, &c.partition, &o, f, span).await;
    }
    let target = target_column(&df, &o.target, o.target_span)?;
    let task = match o.task {
        Some(t) => t,
        None => infer_task(&df, &target, o.target_span).await?,
    };
    let candidates = o.candidates(task)?;
    let sort = o.sort_metric(task)?;
    let names: Vec<String> = candidates
        .iter()
        .map(|c| c.class.sklearn_name().to_string())
        .collect();
    let r = Race {
        title: format!(
            "COMPARE MODELS: {} models x {} folds",
            candidates.len(),
            o.folds
        ),
        target,
        target_span: o.target_span,
        task,
        candidates,
        names,
        folds: o.folds,
        seed: o.seed,
        train_size: o.train_size,
        impute: o.impute,
        batch_size: o.batch_size,
        budget_seconds: o.budget_seconds,
        sort,
    };
    let (rows, fitted) = race::run(s, df, &r, o.top, span).await?;
    // The best `top` fitted on all rows, stored as <into>_1 .. <into>_n.
    for (rank, bytes) in fitted.into_iter().enumerate() {
        store(s, &format!("{}_{}", o.into, rank + 1), &bytes, span)?;
    }
    let metrics = compare::metric_names(task);
    if let Some(path) = &o.chart {
        let sort_at = metrics.iter().position(|m| *m == sort);
        chart::write(std::path::Path::new(path), &rows, sort, sort_at, o.folds)
            .map_err(|e| Error::at(o.chart_span, format!("chart: {e}")))?;
    }
    let batch = board::batch(metrics, &rows, o.round).at(span)?;
    crate::lower::batch_frame(s, batch, span)
}

/// Stores a fitted model's bytes under `name`.
pub(crate) fn store(s: &mut Session, name: &str, bytes: &[u8], span: Span) -> Result<()> {
    let model = fsql_ml::Model::from_bytes(bytes)
        .map_err(|e| Error::at(span, e.to_string()))?
        .renamed(name);
    let bytes = model
        .to_bytes()
        .map_err(|e| Error::at(span, e.to_string()))?;
    s.models
        .put(name, &bytes)
        .map_err(|e| Error::at(span, e.to_string()))
}

/// The target column's name in `df`, or an error listing the columns.
pub(crate) fn target_column(df: &DataFrame, target: &str, at: Span) -> Result<String> {
    crate::lower::resolve_column(
        df.schema(),
        &Name {
            value: target.to_string(),
            quoted: false,
            span: at,
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
            at,
            format!(
                "target '{target}' is not a column of the compared rows (columns: {})",
                columns.join(", ")
            ),
        )
    })
}

/// Classification for text and boolean targets and integers with at most
/// 20 distinct values; regression for other numbers.
pub(super) async fn infer_task(df: &DataFrame, target: &str, at: Span) -> Result<Task> {
    let t = df
        .schema()
        .field_with_unqualified_name(target)
        .map(|f| f.data_type().clone())
        .at(at)?;
    match (Kind::of(&t), &t) {
        (_, DataType::Boolean) | (Some(Kind::Text), _) => Ok(Task::Classification),
        (Some(Kind::Numeric), t) if t.is_integer() => {
            let distinct = df
                .clone()
                .select(vec![col(datafusion::common::Column::new_unqualified(
                    target,
                ))])
                .and_then(|d| d.distinct())
                .and_then(|d| d.limit(0, Some(21)))
                .at(at)?
                .count()
                .await
                .at(at)?;
            Ok(if distinct <= 20 {
                Task::Classification
            } else {
                Task::Regression
            })
        }
        (Some(Kind::Numeric), _) => Ok(Task::Regression),
        _ => Err(Error::at(
            at,
            format!(
                "target '{target}' has type {t}, which no model predicts; cast it to a number or a string"
            ),
        )),
    }
}

//! CREATE EXPERIMENT, Dask-SQL's hyper-parameter search: every combination
//! of `tune_parameters` (a grid, as scikit-learn's GridSearchCV) is a
//! candidate of a race (see `race.rs`) on the same folds, spread over the
//! engine like COMPARE MODELS. The statement's result is the table of
//! trials, best first; the best setting, fitted on all rows, is stored as
//! the experiment's name.

use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::dataframe::DataFrame;
use fsql_ml::compare::{self, Candidate};
use fsql_ml::{Impute, ModelClass, Value};
use fsql_sql::{CreateExperiment, Literal, Name, Span};
use std::sync::Arc;

use super::options::{impute, integer, number, round, text, train_size};
use super::race::{self, Race};
use super::{board, infer_task, store, target_column};
use crate::error::{AtSpan, Error, Result};
use crate::session::Session;

/// The most trials a grid may have.
const MAX_TRIALS: usize = 10_000;

const OPTIONS: &[&str] = &[
    "model_class",
    "experiment_class",
    "tune_parameters",
    "target_column",
    "folds",
    "sort",
    "scoring",
    "seed",
    "train_size",
    "round",
    "impute",
    "batch_size",
    "budget_time",
    "experiment_kwargs",
];

pub(crate) async fn create_experiment(
    s: &mut Session,
    e: &CreateExperiment,
    span: Span,
) -> Result<DataFrame> {
    let name = e.name.normalized();
    if s.models.exists(&name) && !e.or_replace {
        return Err(Error::at(
            e.name.span,
            format!(
                "model '{name}' already exists; use CREATE OR REPLACE EXPERIMENT to replace it"
            ),
        ));
    }
    let o = ExperimentOptions::parse(&e.options, span)?;
    let df = Box::pin(crate::lower::statement(s, &e.query, span))
        .await?
        .ok_or_else(|| Error::at(span, "CREATE EXPERIMENT needs a query that produces rows"))?;
    let target = target_column(&df, &o.target, o.target_span)?;
    let task = o.class.task();
    if task == fsql_ml::Task::Clustering {
        return Err(Error::at(
            o.class_span,
            "CREATE EXPERIMENT tunes classifiers and regressors (KMeans has no score to rank by)",
        ));
    }
    let inferred = infer_task(&df, &target, o.target_span).await?;
    if task == fsql_ml::Task::Regression && inferred == fsql_ml::Task::Classification {
        // A regressor on an integer target is fine; on text it is not.
        let t = df
            .schema()
            .field_with_unqualified_name(&target)
            .map(|f| f.data_type().clone())
            .at(o.target_span)?;
        if !t.is_numeric() {
            return Err(Error::at(
                o.target_span,
                format!(
                    "{} is a regression model; target '{target}' is not numeric",
                    o.class.sklearn_name()
                ),
            ));
        }
    }
    let sort = match &o.sort {
        Some((m, at)) => {
            compare::resolve_metric(task, m).map_err(|e| Error::at(*at, e.to_string()))?
        }
        None => match task {
            fsql_ml::Task::Classification => "Accuracy",
            _ => "R2",
        },
    };
    let trials = o.grid();
    let names: Vec<String> = trials.iter().map(|t| setting_name(t)).collect();
    let candidates: Vec<Candidate> = trials
        .iter()
        .map(|t| Candidate {
            class: o.class,
            params: o.fixed.iter().cloned().chain(t.iter().cloned()).collect(),
        })
        .collect();
    let r = Race {
        title: format!(
            "CREATE EXPERIMENT {name}: {} trials x {} folds",
            candidates.len(),
            o.folds
        ),
        target,
        target_span: o.target_span,
        task,
        candidates,
        names: names.clone(),
        folds: o.folds,
        seed: o.seed,
        train_size: o.train_size,
        impute: o.impute,
        batch_size: o.batch_size,
        budget_seconds: o.budget_seconds,
        sort,
    };
    let (rows, fitted) = race::run(s, df, &r, 1, span).await?;
    if let Some(bytes) = fitted.first() {
        store(s, &name, bytes, span)?;
    } else {
        return Err(Error::at(
            span,
            format!(
                "every trial of experiment '{name}' failed: {}",
                rows.first()
                    .and_then(|r| r.error.clone())
                    .unwrap_or_default()
            ),
        ));
    }
    // The trials table: the tuned parameters, then the leaderboard columns.
    let order: Vec<usize> = rows
        .iter()
        .filter_map(|r| names.iter().position(|n| *n == r.model))
        .collect();
    let board = board::batch(compare::metric_names(task), &rows, o.round).at(span)?;
    let mut fields: Vec<Field> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (k, (param, _)) in o.grid.iter().enumerate() {
        let values: Vec<&Value> = order.iter().map(|&t| &trials[t][k].1).collect();
        let (field, column) = parameter_column(param, &values);
        fields.push(field);
        columns.push(column);
    }
    // Without `model` (the setting is in the parameter columns).
    for (f, c) in board.schema().fields().iter().zip(board.columns()).skip(1) {
        fields.push(f.as_ref().clone());
        columns.push(c.clone());
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).at(span)?;
    crate::lower::batch_frame(s, batch, span)
}

/// A trial's name: `alpha=0.1, max_depth=4`.
fn setting_name(trial: &[(String, Value)]) -> String {
    trial
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A tuned parameter's column: numbers as double, booleans as boolean,
/// anything else (or a mix) as text; NULL stays NULL.
fn parameter_column(name: &str, values: &[&Value]) -> (Field, ArrayRef) {
    let all = |f: fn(&Value) -> bool| values.iter().all(|v| matches!(v, Value::Null) || f(v));
    if all(|v| matches!(v, Value::Number(_))) {
        let a = Float64Array::from_iter(values.iter().map(|v| match v {
            Value::Number(n) => Some(*n),
            _ => None,
        }));
        (Field::new(name, DataType::Float64, true), Arc::new(a))
    } else if all(|v| matches!(v, Value::Bool(_))) {
        let a = BooleanArray::from_iter(values.iter().map(|v| match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        }));
        (Field::new(name, DataType::Boolean, true), Arc::new(a))
    } else {
        let a = StringArray::from_iter(values.iter().map(|v| match v {
            Value::Null => None,
            Value::Text(t) => Some(t.clone()),
            other => Some(other.to_string()),
        }));
        (Field::new(name, DataType::Utf8, true), Arc::new(a))
    }
}

struct ExperimentOptions {
    class: ModelClass,
    class_span: Span,
    /// `(parameter, values)` to try, in the order written.
    grid: Vec<(String, Vec<Value>)>,
    /// Hyper-parameters given outside tune_parameters (every trial has them).
    fixed: Vec<(String, Value)>,
    target: String,
    target_span: Span,
    folds: usize,
    sort: Option<(String, Span)>,
    seed: u64,
    train_size: f64,
    round: Option<u32>,
    impute: Impute,
    batch_size: usize,
    budget_seconds: Option<f64>,
}

impl ExperimentOptions {
    fn parse(options: &[(Name, Literal)], at: Span) -> Result<ExperimentOptions> {
        let mut class = None;
        let mut grid_literal = None;
        let mut target = None;
        let mut o = ExperimentOptions {
            class: ModelClass::Ridge,
            class_span: at,
            grid: Vec::new(),
            fixed: Vec::new(),
            target: String::new(),
            target_span: at,
            // GridSearchCV's cv = 5, on every row (no hold-out).
            folds: 5,
            sort: None,
            seed: 42,
            train_size: 1.0,
            round: Some(4),
            impute: Impute::None,
            batch_size: 1,
            budget_seconds: None,
        };
        let mut params: Vec<(&Name, &Literal)> = Vec::new();
        for (key, value) in options {
            match key.value.to_ascii_lowercase().as_str() {
                "model_class" => {
                    class = Some(
                        ModelClass::parse(&text(key, value)?)
                            .map_err(|e| Error::at(key.span, e.to_string()))?,
                    );
                    o.class_span = key.span;
                }
                "experiment_class" => {
                    let c = text(key, value)?;
                    let last = c.rsplit('.').next().unwrap_or(&c);
                    if !last.eq_ignore_ascii_case("GridSearchCV") {
                        return Err(Error::at(
                            key.span,
                            format!(
                                "experiment_class '{c}' is not supported; fsql searches the whole grid (GridSearchCV)"
                            ),
                        ));
                    }
                }
                "automl_class" | "automl_kwargs" => {
                    return Err(Error::at(
                        key.span,
                        "AutoML (tpot) is not supported; use COMPARE MODELS to race model classes",
                    ));
                }
                "experiment_kwargs" => match value {
                    Literal::Object(entries) => {
                        for (k, v) in entries {
                            match k.to_ascii_lowercase().as_str() {
                                "cv" => o.folds = integer(key, v, 2, 1000, "cv")?,
                                "scoring" => o.sort = Some((text(key, v)?, key.span)),
                                "n_jobs" | "refit" | "verbose" => {}
                                other => {
                                    return Err(Error::at(
                                        key.span,
                                        format!(
                                            "experiment_kwargs: '{other}' is not supported (cv, scoring)"
                                        ),
                                    ));
                                }
                            }
                        }
                    }
                    other => {
                        return Err(Error::at(
                            key.span,
                            format!("experiment_kwargs must be (k = v, ...), not {other}"),
                        ));
                    }
                },
                "tune_parameters" => grid_literal = Some((key, value)),
                "target_column" | "target" => {
                    target = Some(text(key, value)?);
                    o.target_span = key.span;
                }
                "folds" | "cv" => o.folds = integer(key, value, 2, 1000, "folds")?,
                "sort" | "scoring" => o.sort = Some((text(key, value)?, key.span)),
                "seed" => o.seed = integer(key, value, 0, u32::MAX as usize, "seed")? as u64,
                "train_size" => o.train_size = train_size(key, value)?,
                "round" => o.round = round(key, value)?,
                "impute" => o.impute = impute(key, value)?,
                "batch_size" => o.batch_size = integer(key, value, 1, 1000, "batch_size")?,
                "budget_time" => {
                    let b = number(key, value)?;
                    if b <= 0.0 {
                        return Err(Error::at(
                            key.span,
                            "budget_time must be a positive number of seconds",
                        ));
                    }
                    o.budget_seconds = Some(b);
                }
                _ => params.push((key, value)),
            }
        }
        o.class = class
            .ok_or_else(|| Error::at(at, "CREATE EXPERIMENT needs WITH (model_class = '...')"))?;
        o.target = target
            .ok_or_else(|| Error::at(at, "CREATE EXPERIMENT needs WITH (target_column = '...')"))?;
        // Fixed hyper-parameters (every other key), checked now.
        for (key, literal) in params {
            let v = value(key, literal)?;
            check(o.class, &key.value, &v, key.span, options)?;
            o.fixed.push((key.value.clone(), v));
        }
        let Some((key, grid)) = grid_literal else {
            return Err(Error::at(
                at,
                "CREATE EXPERIMENT needs WITH (tune_parameters = (name = ARRAY[...], ...))",
            ));
        };
        let Literal::Object(entries) = grid else {
            return Err(Error::at(
                key.span,
                format!("tune_parameters must be (name = ARRAY[...], ...), not {grid}"),
            ));
        };
        let mut trials = 1usize;
        for (param, values) in entries {
            let list: Vec<&Literal> = match values {
                Literal::List(items) => items.iter().collect(),
                one => vec![one],
            };
            if list.is_empty() {
                return Err(Error::at(
                    key.span,
                    format!("tune_parameters: {param} has no values"),
                ));
            }
            let name = Name {
                value: param.clone(),
                quoted: false,
                span: key.span,
            };
            let mut vals = Vec::new();
            for l in list {
                let v = value(&name, l)?;
                check(o.class, param, &v, key.span, options)?;
                vals.push(v);
            }
            trials = trials.saturating_mul(vals.len());
            o.grid.push((param.clone(), vals));
        }
        if o.grid.is_empty() {
            return Err(Error::at(key.span, "tune_parameters names no parameter"));
        }
        if trials > MAX_TRIALS {
            return Err(Error::at(
                key.span,
                format!("the grid has {trials} settings; at most {MAX_TRIALS} are tried"),
            ));
        }
        Ok(o)
    }

    /// Every combination of the grid's values, the first parameter
    /// varying slowest (as scikit-learn's ParameterGrid over sorted keys
    /// would, but in the order written).
    fn grid(&self) -> Vec<Vec<(String, Value)>> {
        let mut out: Vec<Vec<(String, Value)>> = vec![Vec::new()];
        for (param, values) in &self.grid {
            out = out
                .into_iter()
                .flat_map(|prefix| {
                    values.iter().map(move |v| {
                        let mut t = prefix.clone();
                        t.push((param.clone(), v.clone()));
                        t
                    })
                })
                .collect();
        }
        out
    }
}

/// A hyper-parameter of `class` with value `v`, checked (an unknown name or
/// a bad value is an error at `at`).
fn check(
    class: ModelClass,
    name: &str,
    v: &Value,
    at: Span,
    _options: &[(Name, Literal)],
) -> Result<()> {
    fsql_ml::check_params(class, &[(name.to_string(), v.clone())]).map_err(|e| {
        let mut msg = e.to_string();
        if msg.starts_with("unknown hyper-parameter") {
            msg.push_str(&format!("; other options: {}", OPTIONS.join(", ")));
        }
        Error::at(at, msg)
    })
}

fn value(key: &Name, literal: &Literal) -> Result<Value> {
    Ok(match literal {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::String(s) => Value::Text(s.clone()),
        Literal::Number(n) => Value::Number(
            n.parse()
                .map_err(|_| Error::at(key.span, format!("{} = {n} is not a number", key.value)))?,
        ),
        other => {
            return Err(Error::at(
                key.span,
                format!("{} takes a single value, not {other}", key.value),
            ));
        }
    })
}

//! The options of COMPARE MODELS, read and checked before any data is read
//! or any model trained: unknown options, models and metrics, `folds` below
//! 2, `top` above the number of models are errors that point at the option.

use fsql_ml::compare::{self, Candidate};
use fsql_ml::{Impute, ModelClass, Task};
use fsql_sql::{Literal, Name, Span};

use crate::error::{Error, Result};

/// Every option, with what it does (for the error that lists them).
const OPTIONS: &[&str] = &[
    "target",
    "task",
    "folds",
    "models",
    "exclude",
    "sort",
    "top",
    "seed",
    "batch_size",
    "budget_time",
    "train_size",
    "round",
    "impute",
    "into",
    "chart",
    "time_column",
    "fh",
    "sp",
];

/// COMPARE MODELS' settings.
#[derive(Debug, Clone)]
pub(crate) struct CompareOptions {
    pub target: String,
    pub target_span: Span,
    /// None: inferred from the target column.
    pub task: Option<Task>,
    pub forecast: Option<ForecastOptions>,
    pub folds: usize,
    /// As written (resolved once the task is known).
    pub models: Option<(Vec<String>, Span)>,
    pub exclude: Vec<(String, Span)>,
    /// As written (resolved once the task is known).
    pub sort: Option<(String, Span)>,
    pub top: usize,
    pub top_span: Span,
    /// Whether `top` or `into` was written (a forecast refuses them).
    pub stores: bool,
    pub seed: u64,
    pub batch_size: usize,
    pub budget_seconds: Option<f64>,
    pub train_size: f64,
    pub round: Option<u32>,
    pub impute: Impute,
    pub into: String,
    pub chart: Option<String>,
    pub chart_span: Span,
}

/// `task = 'forecast'`'s own settings.
#[derive(Debug, Clone)]
pub(crate) struct ForecastOptions {
    pub time_column: String,
    pub fh: usize,
    pub sp: Option<usize>,
}

impl CompareOptions {
    pub(crate) fn parse(options: &[(Name, Literal)], at: Span) -> Result<CompareOptions> {
        let mut o = CompareOptions {
            target: String::new(),
            target_span: at,
            task: None,
            forecast: None,
            folds: 10,
            models: None,
            exclude: Vec::new(),
            sort: None,
            top: 1,
            top_span: at,
            stores: false,
            seed: 42,
            batch_size: 1,
            budget_seconds: None,
            train_size: 0.7,
            round: Some(4),
            impute: Impute::None,
            into: "compare".to_string(),
            chart: None,
            chart_span: at,
        };
        let mut target = None;
        let mut time_column = None;
        let mut fh = None;
        let mut sp = None;
        let mut folds_given = false;
        for (key, value) in options {
            let k = key.value.to_ascii_lowercase();
            match k.as_str() {
                "target" | "target_column" => {
                    target = Some(text(key, value)?);
                    o.target_span = key.span;
                }
                "task" => {
                    let t = text(key, value)?.to_ascii_lowercase();
                    o.task = Some(match t.as_str() {
                        "classification" => Task::Classification,
                        "regression" => Task::Regression,
                        "forecast" | "forecasting" | "time_series" => {
                            o.forecast = Some(ForecastOptions {
                                time_column: String::new(),
                                fh: 1,
                                sp: None,
                            });
                            Task::Regression
                        }
                        other => {
                            return Err(Error::at(
                                key.span,
                                format!(
                                    "task must be 'classification', 'regression' or 'forecast', not '{other}'"
                                ),
                            ));
                        }
                    });
                }
                "folds" | "fold" => {
                    o.folds = integer(key, value, 2, 1000, "folds")?;
                    folds_given = true;
                }
                "models" | "include" => o.models = Some((names(key, value)?, key.span)),
                "exclude" => {
                    o.exclude = names(key, value)?
                        .into_iter()
                        .map(|n| (n, key.span))
                        .collect()
                }
                "sort" => o.sort = Some((text(key, value)?, key.span)),
                "top" | "n_select" => {
                    o.top = integer(key, value, 0, 1000, "top")?;
                    o.top_span = key.span;
                    o.stores = true;
                }
                "seed" | "session_id" => {
                    o.seed = integer(key, value, 0, u32::MAX as usize, "seed")? as u64
                }
                "batch_size" => o.batch_size = integer(key, value, 1, 1000, "batch_size")?,
                "budget_time" => {
                    let s = number(key, value)?;
                    if s <= 0.0 {
                        return Err(Error::at(
                            key.span,
                            "budget_time must be a positive number of seconds",
                        ));
                    }
                    o.budget_seconds = Some(s);
                }
                "train_size" => o.train_size = train_size(key, value)?,
                "round" => o.round = round(key, value)?,
                "impute" => o.impute = impute(key, value)?,
                "into" => {
                    let prefix = text(key, value)?;
                    if prefix.is_empty() {
                        return Err(Error::at(key.span, "into must name a model prefix"));
                    }
                    o.into = prefix;
                    o.top_span = key.span;
                    o.stores = true;
                }
                "chart" => {
                    o.chart = Some(text(key, value)?);
                    o.chart_span = key.span;
                }
                "time_column" => time_column = Some(text(key, value)?),
                "fh" => fh = Some(integer(key, value, 1, 100_000, "fh")?),
                "sp" => sp = Some(integer(key, value, 1, 100_000, "sp")?),
                _ => {
                    return Err(Error::at(
                        key.span,
                        format!(
                            "unknown option '{}' of COMPARE MODELS (valid: {})",
                            key.value,
                            OPTIONS.join(", ")
                        ),
                    ));
                }
            }
        }
        o.target = target.ok_or_else(|| {
            Error::at(
                at,
                "COMPARE MODELS needs WITH (target = 'column'), the column to predict",
            )
        })?;
        match &mut o.forecast {
            Some(f) => {
                f.time_column = time_column.ok_or_else(|| {
                    Error::at(
                        at,
                        "a forecast needs WITH (time_column = '...'), the column that orders the points",
                    )
                })?;
                if let Some(h) = fh {
                    f.fh = h;
                }
                f.sp = sp;
                if !folds_given {
                    o.folds = 3;
                }
            }
            None => {
                if time_column.is_some() || fh.is_some() || sp.is_some() {
                    let key = options
                        .iter()
                        .find(|(k, _)| {
                            ["time_column", "fh", "sp"]
                                .contains(&k.value.to_ascii_lowercase().as_str())
                        })
                        .map_or(at, |(k, _)| k.span);
                    return Err(Error::at(
                        key,
                        "time_column, fh and sp are options of task = 'forecast'",
                    ));
                }
            }
        }
        Ok(o)
    }

    /// The candidates for `task`: `models` (default every class of the
    /// task) without `exclude`, each class once, in the order given.
    pub(crate) fn candidates(&self, task: Task) -> Result<Vec<Candidate>> {
        let mut classes: Vec<ModelClass> = match &self.models {
            Some((names, span)) => {
                let mut v = Vec::new();
                for n in names {
                    let c = compare::parse_model(n, task)
                        .map_err(|e| Error::at(*span, e.to_string()))?;
                    if !v.contains(&c) {
                        v.push(c);
                    }
                }
                v
            }
            None => compare::default_models(task),
        };
        for (n, span) in &self.exclude {
            let c = compare::parse_model(n, task).map_err(|e| Error::at(*span, e.to_string()))?;
            classes.retain(|k| *k != c);
        }
        if classes.is_empty() {
            let span = self.models.as_ref().map_or(self.target_span, |(_, s)| *s);
            return Err(Error::at(span, "no models left to compare"));
        }
        if self.top > classes.len() {
            return Err(Error::at(
                self.top_span,
                format!(
                    "top = {} but only {} models are compared",
                    self.top,
                    classes.len()
                ),
            ));
        }
        Ok(classes
            .into_iter()
            .map(|class| Candidate {
                class,
                params: Vec::new(),
            })
            .collect())
    }

    /// The leaderboard column to sort by (default Accuracy / R2).
    pub(crate) fn sort_metric(&self, task: Task) -> Result<&'static str> {
        match &self.sort {
            None => Ok(match task {
                Task::Classification => "Accuracy",
                _ => "R2",
            }),
            Some((name, span)) => {
                compare::resolve_metric(task, name).map_err(|e| Error::at(*span, e.to_string()))
            }
        }
    }
}

/// `train_size`: the share of rows the folds cut, in (0, 1].
pub(super) fn train_size(key: &Name, v: &Literal) -> Result<f64> {
    let t = number(key, v)?;
    if !(t > 0.0 && t <= 1.0) {
        return Err(Error::at(
            key.span,
            format!("train_size must be in (0, 1], not {t}"),
        ));
    }
    Ok(t)
}

/// `round`: decimals shown in the leaderboard (NULL: unrounded).
pub(super) fn round(key: &Name, v: &Literal) -> Result<Option<u32>> {
    Ok(match v {
        Literal::Null => None,
        _ => Some(integer(key, v, 0, 15, "round")? as u32),
    })
}

/// `impute`: how NULL features are filled.
pub(super) fn impute(key: &Name, v: &Literal) -> Result<Impute> {
    Impute::parse(&text(key, v)?).map_err(|e| Error::at(key.span, e.to_string()))
}

pub(super) fn text(key: &Name, v: &Literal) -> Result<String> {
    match v {
        Literal::String(s) => Ok(s.clone()),
        other => Err(Error::at(
            key.span,
            format!("{} must be a string, not {other}", key.value),
        )),
    }
}

pub(super) fn number(key: &Name, v: &Literal) -> Result<f64> {
    match v {
        Literal::Number(n) => n
            .parse()
            .map_err(|_| Error::at(key.span, format!("{} = {n} is not a number", key.value))),
        other => Err(Error::at(
            key.span,
            format!("{} must be a number, not {other}", key.value),
        )),
    }
}

pub(super) fn integer(
    key: &Name,
    v: &Literal,
    min: usize,
    max: usize,
    what: &str,
) -> Result<usize> {
    let x = number(key, v)?;
    if x.fract() != 0.0 || x < min as f64 || x > max as f64 {
        return Err(Error::at(
            key.span,
            format!("{what} must be a whole number from {min} to {max}, not {x}"),
        ));
    }
    Ok(x as usize)
}

/// A list of names: `('lr', 'rf')`, `ARRAY['lr']`, or one string.
fn names(key: &Name, v: &Literal) -> Result<Vec<String>> {
    match v {
        Literal::String(s) => Ok(vec![s.clone()]),
        Literal::List(items) => items
            .iter()
            .map(|i| match i {
                Literal::String(s) => Ok(s.clone()),
                other => Err(Error::at(
                    key.span,
                    format!("{} lists model names, not {other}", key.value),
                )),
            })
            .collect(),
        other => Err(Error::at(
            key.span,
            format!(
                "{} must be a list of model names, like ('lr', 'rf'), not {other}",
                key.value
            ),
        )),
    }
}

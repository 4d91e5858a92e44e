//! Forecast models in the engine: made from a series by CREATE MODEL with
//! a forecaster class, or by COMPARE MODELS' `top` with task = 'forecast'
//! (each series with its own ranked model), and used by PREDICT.
//!
//! PREDICT with a forecast model: the input rows name the times to
//! forecast (and, for a model of several series, the series by its key
//! columns). Per series, the distinct times of the input, in order, are the
//! next points after the series' last one: the first is one step ahead, the
//! second two, and so on, whatever their spacing. A time at or before the
//! series' last point, or a key the model has no series for, is an error;
//! a NULL time gets a NULL target. The rows keep their order and gain a
//! `target` column. Forecasts are few rows: they are computed in this
//! process from the model's stored series, on every engine.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::make_comparator;
use datafusion::arrow::array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::{SortOptions, cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::dataframe::DataFrame;
use fsql_ml::forecast::{ForecastFit, Forecaster, SeriesFit, show_key};
use fsql_ml::{Model, ModelClass, Value};
use fsql_sql::{Name, Span};

use super::compare::task::ForecastJob;
use super::series::{Series, key_at, series};
use crate::error::{AtSpan, Error, Result};
use crate::lower::{batch_frame, resolve_column};
use crate::session::Session;

pub(crate) async fn predict(
    s: &mut Session,
    model: &Model,
    fit: &ForecastFit,
    df: DataFrame,
    span: Span,
) -> Result<DataFrame> {
    let name = &model.info.name;
    let column = |c: &str| {
        resolve_column(
            df.schema(),
            &Name {
                value: c.to_string(),
                quoted: false,
                span,
            },
        )
        .map_err(|_| {
            let mut wanted = fit.keys.clone();
            wanted.push(fit.time_column.clone());
            Error::at(
                span,
                format!(
                    "PREDICT: the input has no column '{c}'; forecast model '{name}' needs {}",
                    wanted.join(", ")
                ),
            )
        })
    };
    let time_name = column(&fit.time_column)?;
    let key_names: Vec<String> = fit.keys.iter().map(|k| column(k)).collect::<Result<_>>()?;
    if df.schema().fields().iter().any(|f| f.name() == "target") {
        return Err(Error::at(
            span,
            "PREDICT adds a column 'target' but its input already has one; rename it first",
        ));
    }
    let time_type: DataType = fit.time_type.parse().map_err(|_| {
        Error::at(
            span,
            format!(
                "forecast model '{name}' has a time type fsql cannot read: {}",
                fit.time_type
            ),
        )
    })?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await.at(span)?;
    let batch = concat_batches(&schema, &batches).at(span)?;
    let time = batch.column_by_name(&time_name).expect("resolved");
    let time = cast(time, &time_type).map_err(|_| {
        Error::at(
            span,
            format!(
                "PREDICT: column '{time_name}' has type {} but forecast model '{name}' was trained on a {time_type} time",
                time.data_type()
            ),
        )
    })?;
    let keys: Vec<ArrayRef> = key_names
        .iter()
        .map(|k| cast(batch.column_by_name(k).expect("resolved"), &DataType::Utf8))
        .collect::<std::result::Result<_, _>>()
        .at(span)?;
    // The rows of each series, by the model's series number.
    let index: HashMap<&[Option<String>], usize> = fit
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| (s.key.as_slice(), i))
        .collect();
    let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); fit.series.len()];
    for row in 0..batch.num_rows() {
        if time.is_null(row) {
            continue;
        }
        let key = key_at(&keys, row);
        let Some(&i) = index.get(key.as_slice()) else {
            let known: Vec<String> = fit
                .series
                .iter()
                .take(10)
                .map(|s| show_key(&s.key))
                .collect();
            return Err(Error::at(
                span,
                format!(
                    "PREDICT: forecast model '{name}' has no series {} = {} (its series: {}{})",
                    fit.keys.join("/"),
                    show_key(&key),
                    known.join(", "),
                    if fit.series.len() > 10 { ", ..." } else { "" }
                ),
            ));
        };
        rows_of[i].push(row);
    }
    let mut target: Vec<Option<f64>> = vec![None; batch.num_rows()];
    let time_text = cast(&time, &DataType::Utf8).at(span)?;
    let time_text = time_text
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8");
    for (series, rows) in fit.series.iter().zip(&mut rows_of) {
        if rows.is_empty() {
            continue;
        }
        let cmp = make_comparator(&time, &time, SortOptions::default()).at(span)?;
        rows.sort_by(|a, b| cmp(*a, *b));
        let last = cast(
            &(Arc::new(StringArray::from(vec![series.last_time.clone()])) as ArrayRef),
            &time_type,
        )
        .at(span)?;
        let after = make_comparator(&time, &last, SortOptions::default()).at(span)?;
        let first = rows[0];
        if after(first, 0) != Ordering::Greater {
            let which = if series.key.is_empty() {
                String::new()
            } else {
                format!(" of series {}", show_key(&series.key))
            };
            return Err(Error::at(
                span,
                format!(
                    "PREDICT: {time_name} = {} is not after the last point{which} of forecast model '{name}' ({}); forecasts start after it",
                    time_text.value(first),
                    series.last_time
                ),
            ));
        }
        // Distinct times in order: step 1, 2, ...
        let mut steps = Vec::with_capacity(rows.len());
        let mut step = 0;
        for (i, row) in rows.iter().enumerate() {
            if i == 0 || cmp(rows[i - 1], *row) != Ordering::Equal {
                step += 1;
            }
            steps.push(step);
        }
        let values = series
            .forecast(step)
            .map_err(|e| Error::at(span, format!("PREDICT with forecast model '{name}': {e}")))?;
        for (row, step) in rows.iter().zip(steps) {
            target[*row] = Some(values[step - 1]);
        }
    }
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("target", DataType::Float64, true));
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns.push(Arc::new(Float64Array::from(target)));
    let out = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).at(span)?;
    batch_frame(s, out, span)
}

/// What a forecast model is made of: the target, the time column, the
/// series key columns and the seasonal period (None: each series' own).
pub(crate) struct Layout<'a> {
    pub target: &'a str,
    pub time: &'a str,
    pub by: &'a [String],
    pub sp: Option<usize>,
}

/// The series of `df` (its key columns, time column and target), for the
/// keys `keys` (as text; `[[]]` for one series), each with the layout's
/// seasonal period or its own found before its last `fh` points (as the
/// comparison found it); and the time column's type.
pub(crate) async fn collect_series(
    df: &DataFrame,
    layout: &Layout<'_>,
    keys: Vec<Vec<Option<String>>>,
    fh: usize,
    span: Span,
) -> Result<(DataType, Vec<(Vec<Option<String>>, Series)>)> {
    let Layout {
        target,
        time,
        by,
        sp,
    } = *layout;
    let time_type = df
        .schema()
        .field_with_unqualified_name(time)
        .at(span)?
        .data_type()
        .clone();
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.clone().collect().await.at(span)?;
    let batch = concat_batches(&schema, &batches).at(span)?;
    let job = ForecastJob {
        time_column: time.to_string(),
        by: by.to_vec(),
        keys,
        fh,
        sp,
        candidates: Vec::new(),
    };
    let found = series(&batch, target, &job).map_err(|e| Error::at(span, e))?;
    Ok((time_type, job.keys.into_iter().zip(found).collect()))
}

/// A forecast model named `name`: each series with its forecaster (the
/// model's class is the one most series use).
pub(crate) fn model(
    name: &str,
    layout: &Layout<'_>,
    time_type: &DataType,
    series: Vec<(Vec<Option<String>>, Series, Forecaster)>,
    span: Span,
) -> Result<Vec<u8>> {
    let Layout {
        target,
        time,
        by,
        sp,
    } = *layout;
    let mut counts: Vec<(Forecaster, usize)> = Vec::new();
    for (_, _, f) in &series {
        match counts.iter_mut().find(|(g, _)| g == f) {
            Some((_, n)) => *n += 1,
            None => counts.push((*f, 1)),
        }
    }
    let class = counts
        .iter()
        .fold(None::<(Forecaster, usize)>, |best, (f, n)| match best {
            Some((_, m)) if m >= *n => best,
            _ => Some((*f, *n)),
        })
        .map(|(f, _)| f)
        .ok_or_else(|| Error::at(span, "a forecast model needs a series"))?;
    let mut fits = Vec::with_capacity(series.len());
    for (key, s, forecaster) in series {
        let Some(last_time) = s.last_time else {
            return Err(Error::at(
                span,
                format!("series {} has no points", show_key(&key)),
            ));
        };
        fits.push(SeriesFit {
            key,
            forecaster,
            sp: s.sp,
            history: s.y,
            last_time,
        });
    }
    let fit = ForecastFit {
        time_column: time.to_string(),
        time_type: time_type.to_string(),
        keys: by.to_vec(),
        series: fits,
    };
    let params = vec![(
        "sp".to_string(),
        sp.map_or(Value::Null, |p| Value::Number(p as f64)),
    )];
    Model::forecaster(name, ModelClass::Forecast(class), &params, target, fit)
        .and_then(|m| m.to_bytes())
        .map_err(|e| Error::at(span, e.to_string()))
}

/// CREATE MODEL with a forecaster class: one series (`time_column` orders
/// it), fitted on all its points. Returns the model's bytes.
pub(crate) async fn create(
    name: &str,
    forecaster: Forecaster,
    params: &[(String, Value)],
    target: &str,
    time: &str,
    df: DataFrame,
    span: Span,
) -> Result<Vec<u8>> {
    let t = df
        .schema()
        .field_with_unqualified_name(target)
        .at(span)?
        .data_type()
        .clone();
    if !t.is_numeric() {
        return Err(Error::at(
            span,
            format!("a forecaster needs a numeric target; '{target}' is {t}"),
        ));
    }
    let sp = params.iter().find_map(|(k, v)| match v {
        Value::Number(n) if k.eq_ignore_ascii_case("sp") => Some(*n as usize),
        _ => None,
    });
    let layout = Layout {
        target,
        time,
        by: &[],
        sp,
    };
    let (time_type, mut found) = collect_series(&df, &layout, vec![vec![]], 0, span).await?;
    let (key, s) = found.pop().expect("one series");
    if s.y.is_empty() {
        return Err(Error::at(
            span,
            "CREATE MODEL: the training query has no rows",
        ));
    }
    model(name, &layout, &time_type, vec![(key, s, forecaster)], span)
}

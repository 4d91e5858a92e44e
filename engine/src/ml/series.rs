//! A forecast's series from rows: grouped by their key, ordered by the time
//! column, with their seasonal periods and last times. Used where series
//! are scored (a comparison's units), stored (COMPARE's `top`, CREATE
//! MODEL with a forecaster) and where they are forecast from (PREDICT).

use std::collections::HashMap;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::{cast, sort_to_indices};
use datafusion::arrow::datatypes::{DataType, Float64Type};

use super::compare::task::ForecastJob;

/// One series' points in time order.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub y: Vec<f64>,
    /// The seasonal period: the job's, else found on the points before the
    /// hold-out.
    pub sp: usize,
    /// The last time value as text (None: no points).
    pub last_time: Option<String>,
}

/// The series of `batch` for the keys of `f` (rows of other keys are
/// skipped). A NULL time or target, or a time repeated in one series, is
/// an error.
pub(crate) fn series(
    batch: &RecordBatch,
    target: &str,
    f: &ForecastJob,
) -> std::result::Result<Vec<Series>, String> {
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .cloned()
            .ok_or_else(|| format!("no column '{name}'"))
    };
    let keys: Vec<ArrayRef> =
        f.by.iter()
            .map(|k| cast(&column(k)?, &DataType::Utf8).map_err(|e| e.to_string()))
            .collect::<std::result::Result<_, _>>()?;
    let values = cast(&column(target)?, &DataType::Float64).map_err(|e| e.to_string())?;
    let values = values.as_primitive::<Float64Type>();
    let time = column(&f.time_column)?;
    let order = sort_to_indices(&time, None, None).map_err(|e| e.to_string())?;
    let index: HashMap<&Vec<Option<String>>, usize> =
        f.keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let mut out: Vec<Vec<f64>> = vec![Vec::new(); f.keys.len()];
    let mut last_time: Vec<Option<usize>> = vec![None; f.keys.len()];
    let time_text = cast(&time, &DataType::Utf8).map_err(|e| e.to_string())?;
    let time_text = time_text.as_string::<i32>();
    for row in order.values().iter().map(|r| *r as usize) {
        let key = key_at(&keys, row);
        let Some(&s) = index.get(&key) else {
            continue;
        };
        if time.is_null(row) {
            return Err(format!("time column '{}' has NULL values", f.time_column));
        }
        if let Some(prev) = last_time[s]
            && time_text.value(prev) == time_text.value(row)
        {
            return Err(format!(
                "time column '{}' repeats {} in one series; a series has one value per time",
                f.time_column,
                time_text.value(row)
            ));
        }
        if values.is_null(row) {
            return Err(format!(
                "target '{target}' is NULL at {} = {}",
                f.time_column,
                time_text.value(row)
            ));
        }
        last_time[s] = Some(row);
        out[s].push(values.value(row));
    }
    Ok(out
        .into_iter()
        .zip(last_time)
        .map(|(y, last)| {
            let sp = f.sp.unwrap_or_else(|| {
                fsql_ml::forecast::detect_sp(&y[..y.len().saturating_sub(f.fh)])
            });
            Series {
                y,
                sp,
                last_time: last.map(|r| time_text.value(r).to_string()),
            }
        })
        .collect())
}

/// The key of `row` (each key column already cast to text).
pub(crate) fn key_at(keys: &[ArrayRef], row: usize) -> Vec<Option<String>> {
    keys.iter()
        .map(|k| {
            let k = k.as_string::<i32>();
            (!k.is_null(row)).then(|| k.value(row).to_string())
        })
        .collect()
}

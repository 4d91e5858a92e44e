//! The leaderboard as a table: `model`, PyCaret's metric columns and
//! `TT (Sec)` (means over the folds), a `<metric> SD` column per metric
//! (standard deviation over the folds), and `error` (NULL unless the model
//! failed or was skipped), in leaderboard order.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use fsql_ml::compare::{BoardRow, TIME_COLUMN};

/// The SD column of `metric`.
pub(crate) fn sd_column(metric: &str) -> String {
    format!("{metric} SD")
}

/// The leaderboard's rows as a batch, values rounded to `round` decimals
/// (PyCaret's `round = 4`; None keeps every digit).
pub(crate) fn batch(
    names: &[&str],
    rows: &[BoardRow],
    round: Option<u32>,
) -> datafusion::common::Result<RecordBatch> {
    let rounded = |v: Option<f64>| {
        v.map(|x| match round {
            Some(d) => {
                let scale = 10f64.powi(d as i32);
                let r = (x * scale).round() / scale;
                if r == 0.0 { 0.0 } else { r }
            }
            None => x,
        })
    };
    let metrics = names;
    let mut fields = vec![Field::new("model", DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(
        rows.iter().map(|r| r.model.as_str()),
    ))];
    for (m, name) in metrics.iter().enumerate() {
        fields.push(Field::new(*name, DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from_iter(
            rows.iter()
                .map(|r| rounded(r.means.get(m).copied().flatten())),
        )));
    }
    fields.push(Field::new(TIME_COLUMN, DataType::Float64, true));
    columns.push(Arc::new(Float64Array::from_iter(
        rows.iter().map(|r| rounded(r.seconds)),
    )));
    for (m, name) in metrics.iter().enumerate() {
        fields.push(Field::new(sd_column(name), DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from_iter(
            rows.iter()
                .map(|r| rounded(r.stds.get(m).copied().flatten())),
        )));
    }
    fields.push(Field::new("error", DataType::Utf8, true));
    columns.push(Arc::new(StringArray::from_iter(
        rows.iter().map(|r| r.error.as_deref()),
    )));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(Into::into)
}

//! Built-in transformers: per-group operations that are awkward in SQL but
//! common in the pandas code TRANSFORM replaces. Each runs in fsql on every
//! group (in presort order) and keeps every input column:
//!
//! - `row_number [PARAMS column:'rn']`: adds `row_number:long` (or the named
//!   column), 1, 2, ... within the group.
//! - `fill_forward [PARAMS columns:['a','b']]`: replaces each NULL by the
//!   last non-NULL value above it in the group (all non-key columns when no
//!   list is given); pandas' `ffill`.
//! - `cumsum PARAMS column:'x' [, as:'total']`: adds the running total of
//!   `x` (`x_cumsum` by default): long for integers, double for floats. A
//!   NULL row stays NULL and adds nothing (pandas' `cumsum`).
//! - `diff PARAMS column:'x' [, as:'d']`: adds `x` minus the previous row's
//!   `x` (`x_diff` by default); NULL on the group's first row or next to a
//!   NULL (pandas' `diff`).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, UInt32Array,
};
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

/// The names `USING` accepts for built-ins.
pub const NAMES: [&str; 4] = ["row_number", "fill_forward", "cumsum", "diff"];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Serialize, Deserialize)]
pub enum Builtin {
    RowNumber { column: String },
    FillForward { columns: Vec<String> },
    CumSum { column: String, output: String },
    Diff { column: String, output: String },
}

/// What a numeric built-in computes in.
fn numeric_kind(t: &DataType) -> Option<DataType> {
    if t.is_integer() {
        Some(DataType::Int64)
    } else if t.is_floating() {
        Some(DataType::Float64)
    } else {
        None
    }
}

impl Builtin {
    /// The schema the built-in produces from `input`, or why it cannot run
    /// on it.
    pub fn output_schema(&self, input: &Schema) -> Result<Schema, String> {
        let mut fields: Vec<Arc<Field>> = input.fields().iter().cloned().collect();
        let added = match self {
            Builtin::FillForward { .. } => None,
            Builtin::RowNumber { column } => Some((column, DataType::Int64)),
            Builtin::CumSum { column, output } | Builtin::Diff { column, output } => {
                let field = input
                    .field_with_name(column)
                    .map_err(|_| format!("unknown column '{column}'"))?;
                let kind = numeric_kind(field.data_type()).ok_or_else(|| {
                    format!(
                        "column '{column}' is {}; {} needs integers or floats",
                        field.data_type(),
                        self.name()
                    )
                })?;
                Some((output, kind))
            }
        };
        if let Some((name, t)) = added {
            if input.field_with_name(name).is_ok() {
                return Err(format!(
                    "the input already has a column '{name}'; name the new one with PARAMS {}:'...'",
                    if matches!(self, Builtin::RowNumber { .. }) {
                        "column"
                    } else {
                        "as"
                    }
                ));
            }
            fields.push(Arc::new(Field::new(name, t, true)));
        }
        Ok(Schema::new(fields))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Builtin::RowNumber { .. } => "row_number",
            Builtin::FillForward { .. } => "fill_forward",
            Builtin::CumSum { .. } => "cumsum",
            Builtin::Diff { .. } => "diff",
        }
    }

    /// Runs on one group (rows in presort order).
    pub fn apply(&self, group: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, String> {
        let n = group.num_rows();
        let mut columns: Vec<ArrayRef> = group.columns().to_vec();
        match self {
            Builtin::RowNumber { .. } => {
                columns.push(Arc::new(Int64Array::from_iter_values(1..=n as i64)));
            }
            Builtin::FillForward { columns: names } => {
                for name in names {
                    let i = group.schema().index_of(name).map_err(|e| e.to_string())?;
                    columns[i] = fill_forward(&columns[i])?;
                }
            }
            Builtin::CumSum { column, .. } | Builtin::Diff { column, .. } => {
                let col = group.column_by_name(column).ok_or("missing column")?;
                let running = matches!(self, Builtin::CumSum { .. });
                columns.push(numeric(col, running)?);
            }
        }
        RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
    }
}

/// Each NULL replaced by the last non-NULL value above it.
fn fill_forward(col: &ArrayRef) -> Result<ArrayRef, String> {
    if col.null_count() == 0 {
        return Ok(col.clone());
    }
    let mut last: Option<u32> = None;
    let indices: UInt32Array = (0..col.len() as u32)
        .map(|i| {
            if col.is_valid(i as usize) {
                last = Some(i);
            }
            last.or(Some(i))
        })
        .collect();
    take(col.as_ref(), &indices, None).map_err(|e| e.to_string())
}

/// Running totals (`running`) or differences from the previous row.
fn numeric(col: &ArrayRef, running: bool) -> Result<ArrayRef, String> {
    let kind = numeric_kind(col.data_type()).ok_or("not a numeric column")?;
    let values = cast(col, &kind).map_err(|e| e.to_string())?;
    if kind == DataType::Int64 {
        let v = values.as_any().downcast_ref::<Int64Array>().expect("cast");
        let overflow = || "integer overflow; cast the column to double first".to_string();
        let mut out = Vec::with_capacity(v.len());
        let mut total = 0i64;
        for i in 0..v.len() {
            out.push(match (v.is_valid(i), running) {
                (false, _) => None,
                (true, true) => {
                    total = total.checked_add(v.value(i)).ok_or_else(overflow)?;
                    Some(total)
                }
                (true, false) if i > 0 && v.is_valid(i - 1) => Some(
                    v.value(i)
                        .checked_sub(v.value(i - 1))
                        .ok_or_else(overflow)?,
                ),
                (true, false) => None,
            });
        }
        return Ok(Arc::new(Int64Array::from(out)));
    }
    let v = values
        .as_any()
        .downcast_ref::<Float64Array>()
        .expect("cast");
    let mut total = 0.0;
    let out: Float64Array = (0..v.len())
        .map(|i| match (v.is_valid(i), running) {
            (false, _) => None,
            (true, true) => {
                total += v.value(i);
                Some(total)
            }
            (true, false) if i > 0 && v.is_valid(i - 1) => Some(v.value(i) - v.value(i - 1)),
            (true, false) => None,
        })
        .collect();
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("x", DataType::Int32, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(datafusion::arrow::array::Int32Array::from(vec![
                    Some(1),
                    None,
                    Some(4),
                    Some(10),
                ])),
                Arc::new(StringArray::from(vec![None, Some("a"), None, Some("b")])),
            ],
        )
        .unwrap()
    }

    fn run(b: &Builtin) -> RecordBatch {
        let input = batch();
        let schema = Arc::new(b.output_schema(&input.schema()).unwrap());
        b.apply(&input, &schema).unwrap()
    }

    fn ints(b: &RecordBatch, i: usize) -> Vec<Option<i64>> {
        let c = cast(b.column(i), &DataType::Int64).unwrap();
        c.as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .iter()
            .collect()
    }

    #[test]
    fn each_builtin() {
        let out = run(&Builtin::RowNumber {
            column: "rn".into(),
        });
        assert_eq!(ints(&out, 2), vec![Some(1), Some(2), Some(3), Some(4)]);
        let out = run(&Builtin::CumSum {
            column: "x".into(),
            output: "t".into(),
        });
        assert_eq!(ints(&out, 2), vec![Some(1), None, Some(5), Some(15)]);
        let out = run(&Builtin::Diff {
            column: "x".into(),
            output: "d".into(),
        });
        assert_eq!(ints(&out, 2), vec![None, None, None, Some(6)]);
        let out = run(&Builtin::FillForward {
            columns: vec!["x".into(), "s".into()],
        });
        assert_eq!(ints(&out, 0), vec![Some(1), Some(1), Some(4), Some(10)]);
        let s = out
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let s: Vec<Option<&str>> = s.iter().collect();
        assert_eq!(s, vec![None, Some("a"), Some("a"), Some("b")]);
    }

    #[test]
    fn bad_inputs_say_why() {
        let input = batch();
        let e = Builtin::CumSum {
            column: "s".into(),
            output: "t".into(),
        }
        .output_schema(&input.schema())
        .unwrap_err();
        assert!(e.contains("integers or floats"), "{e}");
        let e = Builtin::RowNumber { column: "x".into() }
            .output_schema(&input.schema())
            .unwrap_err();
        assert!(e.contains("already has a column 'x'"), "{e}");
        let overflow = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)])),
            vec![Arc::new(Int64Array::from(vec![i64::MAX, 1]))],
        )
        .unwrap();
        let b = Builtin::CumSum {
            column: "x".into(),
            output: "t".into(),
        };
        let schema = Arc::new(b.output_schema(&overflow.schema()).unwrap());
        assert!(
            b.apply(&overflow, &schema)
                .unwrap_err()
                .contains("overflow")
        );
    }
}

//! Arrow columns to `fsql-ml` columns and back: numbers (integers, floats,
//! decimals, booleans as 0/1) and strings are features; a classifier's
//! target keeps its type (integer, string, boolean) through PREDICT.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use fsql_ml::{Column, Label, Predictions, Target, TargetKind, Task};

/// What a column can be for a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Numeric,
    Text,
}

impl Kind {
    pub(crate) fn of(t: &DataType) -> Option<Kind> {
        match t {
            t if t.is_numeric() => Some(Kind::Numeric),
            DataType::Boolean | DataType::Null => Some(Kind::Numeric),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(Kind::Text),
            DataType::Dictionary(_, v) => Kind::of(v).filter(|k| *k == Kind::Text),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Numeric => "numeric",
            Kind::Text => "text",
        }
    }
}

/// A feature column, or why the column cannot be one.
pub(crate) fn feature(name: &str, array: &ArrayRef) -> Result<Column, String> {
    match Kind::of(array.data_type()) {
        Some(Kind::Numeric) => {
            let f = cast(array, &DataType::Float64).map_err(|e| e.to_string())?;
            let f = f.as_primitive::<Float64Type>();
            let valid = f
                .nulls()
                .filter(|n| n.null_count() > 0)
                .map(|n| n.iter().collect());
            Ok(Column::Numeric(f.values().to_vec(), valid))
        }
        Some(Kind::Text) => {
            let s = cast(array, &DataType::Utf8).map_err(|e| e.to_string())?;
            let s = s.as_string::<i32>();
            Ok(Column::Text(
                s.iter().map(|v| v.map(String::from)).collect(),
            ))
        }
        None => Err(format!(
            "column '{name}' has type {} which a model cannot use; cast it to a number or a string",
            array.data_type()
        )),
    }
}

/// The target column for a model of `task`.
pub(crate) fn target(name: &str, array: &ArrayRef, task: Task) -> Result<Target, String> {
    let t = array.data_type();
    if task == Task::Regression {
        return match Kind::of(t) {
            Some(Kind::Numeric) if *t != DataType::Boolean => match feature(name, array)? {
                c @ Column::Numeric(..) => {
                    Ok(Target::Numbers((0..c.len()).map(|i| c.number(i)).collect()))
                }
                Column::Text(_) => unreachable!("numeric columns convert to numbers"),
            },
            _ => Err(format!(
                "a regression model needs a numeric target, but '{name}' has type {t}"
            )),
        };
    }
    if t.is_integer() {
        let i = cast(array, &DataType::Int64).map_err(|e| e.to_string())?;
        let i = i.as_primitive::<Int64Type>();
        return Ok(Target::Labels(
            TargetKind::Int,
            i.iter().map(|v| v.map(Label::Int)).collect(),
        ));
    }
    match (t, Kind::of(t)) {
        (DataType::Boolean, _) => {
            let b = array.as_boolean();
            Ok(Target::Labels(
                TargetKind::Bool,
                b.iter().map(|v| v.map(Label::Bool)).collect(),
            ))
        }
        (_, Some(Kind::Text)) => match feature(name, array)? {
            Column::Text(v) => Ok(Target::Labels(
                TargetKind::Text,
                v.into_iter().map(|s| s.map(Label::Text)).collect(),
            )),
            Column::Numeric(..) => unreachable!("text columns convert to text"),
        },
        (_, Some(Kind::Numeric)) => {
            // Float classes are fine when they are whole numbers (1.0, 2.0).
            let c = feature(name, array)?;
            if !matches!(c, Column::Numeric(..)) {
                unreachable!("numeric columns convert to numbers")
            }
            let v: Vec<Option<f64>> = (0..c.len()).map(|i| c.number(i)).collect();
            let mut labels = Vec::with_capacity(v.len());
            for x in v {
                match x {
                    Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => {
                        labels.push(Some(Label::Int(x as i64)))
                    }
                    Some(x) => {
                        return Err(format!(
                            "a classifier needs class labels, but target '{name}' holds {x}; use a regression model or cast the target to a string"
                        ));
                    }
                    None => labels.push(None),
                }
            }
            Ok(Target::Labels(TargetKind::Int, labels))
        }
        _ => Err(format!(
            "target column '{name}' has type {t}, which cannot be a class label"
        )),
    }
}

/// The Arrow type of PREDICT's `target` column.
pub(crate) fn target_type(task: Task, kind: Option<TargetKind>) -> DataType {
    match (task, kind) {
        (Task::Regression | Task::Forecast, _) => DataType::Float64,
        (Task::Clustering, _) => DataType::Int64,
        (Task::Classification, Some(TargetKind::Bool)) => DataType::Boolean,
        (Task::Classification, Some(TargetKind::Text)) => DataType::Utf8,
        (Task::Classification, _) => DataType::Int64,
    }
}

/// PREDICT's `target` column and, for classifiers that have one, the
/// `probability` column.
pub(crate) fn predictions(p: Predictions) -> (ArrayRef, Option<ArrayRef>) {
    match p {
        Predictions::Numbers(v) => (Arc::new(Float64Array::from(v)), None),
        Predictions::Clusters(v) => (Arc::new(Int64Array::from(v)), None),
        Predictions::Labels {
            kind,
            values,
            probability,
        } => {
            let target: ArrayRef = match kind {
                TargetKind::Bool => Arc::new(
                    values
                        .iter()
                        .map(|l| match l {
                            Some(Label::Bool(b)) => Some(*b),
                            _ => None,
                        })
                        .collect::<BooleanArray>(),
                ),
                TargetKind::Text => Arc::new(
                    values
                        .iter()
                        .map(|l| l.as_ref().map(|l| l.to_string()))
                        .collect::<StringArray>(),
                ),
                TargetKind::Int | TargetKind::Float => Arc::new(
                    values
                        .iter()
                        .map(|l| match l {
                            Some(Label::Int(i)) => Some(*i),
                            _ => None,
                        })
                        .collect::<Int64Array>(),
                ),
            };
            let probability = probability.map(|p| Arc::new(Float64Array::from(p)) as ArrayRef);
            (target, probability)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_map_to_features_and_targets() {
        let ints: ArrayRef = Arc::new(datafusion::arrow::array::Int32Array::from(vec![
            Some(1),
            None,
        ]));
        assert!(
            matches!(feature("a", &ints), Ok(c @ Column::Numeric(..)) if c.number(0) == Some(1.0) && c.number(1).is_none())
        );
        let strs: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        assert!(matches!(
            target("t", &strs, Task::Classification),
            Ok(Target::Labels(TargetKind::Text, _))
        ));
        let err = target("t", &strs, Task::Regression).unwrap_err();
        assert!(
            err.contains("regression model needs a numeric target"),
            "{err}"
        );
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![1.5]));
        let err = target("t", &floats, Task::Classification).unwrap_err();
        assert!(err.contains("holds 1.5"), "{err}");
        let dates: ArrayRef = Arc::new(datafusion::arrow::array::Date32Array::from(vec![1]));
        let err = feature("d", &dates).unwrap_err();
        assert!(err.contains("column 'd' has type Date32"), "{err}");
    }
}

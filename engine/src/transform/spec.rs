//! What a transform does, independent of where it runs: the partition keys,
//! the presort, the transformer (built-in or external program) and the
//! output schema. The logical node, the physical node and both Ballista
//! codecs carry this one value; it serializes to bytes for the cluster.

use std::io::Cursor;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, new_null_array};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::util::display::FormatOptions;
use datafusion::common::{DataFusionError, Result};
use serde::{Deserialize, Serialize};

use super::builtin::Builtin;
use crate::python::PyFunction;

/// How ZIP matches the key groups of its dataframes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Serialize, Deserialize)]
pub enum ZipHow {
    /// Keys present in every dataframe.
    Inner,
    /// Keys present in the first.
    LeftOuter,
    /// Keys present in the last.
    RightOuter,
    /// Keys present in any.
    FullOuter,
    /// No keys: every dataframe whole, as one group.
    Cross,
}

/// An external program: argv (no shell), its PARAMS as a JSON object, and
/// how long one run may take.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Serialize, Deserialize)]
pub struct Program {
    pub args: Vec<String>,
    pub params_json: String,
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Serialize, Deserialize)]
pub enum Transformer {
    Builtin(Builtin),
    Program(Program),
    /// A Python function (fugue's interfaces), run by a pooled worker.
    Python(PyFunction),
}

/// Everything a transform node needs besides its inputs and output schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Serialize, Deserialize)]
pub struct TransformSpec {
    /// Partition key columns, by name, in every input. Empty: the whole
    /// dataframe is one group (or each of `chunks` physical partitions is).
    pub keys: Vec<String>,
    /// Per input: (column, ascending) inside each group. NULLs sort as the
    /// smallest value (first ascending, last descending).
    pub presort: Vec<Vec<(String, bool)>>,
    /// Several inputs (ZIP): how their groups are matched.
    pub how: Option<ZipHow>,
    /// `PREPARTITION n` without keys: n physical chunks, one group each.
    pub chunks: Option<usize>,
    pub transformer: Transformer,
    /// OUTTRANSFORM / OUTPUT: run for side effects, no rows out.
    pub discard: bool,
    /// The statement as written, for plans and error messages.
    pub label: String,
}

impl TransformSpec {
    /// One line for EXPLAIN: the statement, keys, presort, zip and
    /// transformer.
    pub fn describe(&self) -> String {
        let mut out = self.label.clone();
        if !self.keys.is_empty() {
            out.push_str(&format!(", keys=[{}]", self.keys.join(", ")));
        }
        let sorts: Vec<String> = self
            .presort
            .iter()
            .map(|p| {
                p.iter()
                    .map(|(c, asc)| format!("{c} {}", if *asc { "ASC" } else { "DESC" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty())
            .collect();
        if !sorts.is_empty() {
            out.push_str(&format!(", presort=[{}]", sorts.join("; ")));
        }
        if let Some(how) = self.how {
            out.push_str(&format!(", zip={how:?}"));
        }
        if let Some(n) = self.chunks {
            out.push_str(&format!(", chunks={n}"));
        }
        match &self.transformer {
            Transformer::Builtin(b) => out.push_str(&format!(", using={}", b.name())),
            Transformer::Program(p) => {
                out.push_str(&format!(", using={}", super::process::shown(&p.args)))
            }
            Transformer::Python(f) => out.push_str(&format!(", using={}", f.shown)),
        }
        out
    }
}

/// Magic that starts an encoded transform node in a Ballista plan.
const MAGIC: &[u8] = b"FSQLXFRM\0";

impl TransformSpec {
    /// The node as bytes: magic, spec as JSON, output schema as an Arrow
    /// IPC stream with no batches.
    pub fn encode(&self, schema: &Schema, buf: &mut Vec<u8>) -> Result<()> {
        let json = serde_json::to_vec(self).map_err(|e| DataFusionError::External(e.into()))?;
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&(json.len() as u32).to_le_bytes());
        buf.extend_from_slice(&json);
        let mut w = StreamWriter::try_new(&mut *buf, schema)?;
        w.finish()?;
        Ok(())
    }

    /// The spec and output schema `encode` wrote; None when `buf` is not a
    /// transform node.
    pub fn decode(buf: &[u8]) -> Option<Result<(TransformSpec, SchemaRef)>> {
        let rest = buf.strip_prefix(MAGIC)?;
        Some((|| {
            let bad = || DataFusionError::Internal("truncated transform node".into());
            let len = u32::from_le_bytes(rest.get(..4).ok_or_else(bad)?.try_into().unwrap());
            let json = rest.get(4..4 + len as usize).ok_or_else(bad)?;
            let spec: TransformSpec =
                serde_json::from_slice(json).map_err(|e| DataFusionError::External(e.into()))?;
            let reader = StreamReader::try_new(Cursor::new(&rest[4 + len as usize..]), None)?;
            Ok((spec, reader.schema()))
        })())
    }
}

/// Makes `batch` (what a transformer produced) have exactly `schema`:
/// columns are matched by name (exactly, else ignoring case), put in the
/// declared order and cast to the declared types. A missing or extra column,
/// or a value that does not fit its type, is an error.
pub fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, String> {
    if batch.schema().fields() == schema.fields() {
        // Same columns; the schema's metadata (pandas writes some) is fsql's.
        return RecordBatch::try_new(schema.clone(), batch.columns().to_vec())
            .map_err(|e| e.to_string());
    }
    let got = batch.schema();
    let names: Vec<&str> = got.fields().iter().map(|f| f.name().as_str()).collect();
    let find = |name: &str| {
        names.iter().position(|n| *n == name).or_else(|| {
            let m: Vec<usize> = (0..names.len())
                .filter(|&i| names[i].eq_ignore_ascii_case(name))
                .collect();
            (m.len() == 1).then(|| m[0])
        })
    };
    let mut used = vec![false; names.len()];
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    let options = CastOptions {
        safe: false,
        format_options: FormatOptions::default(),
    };
    for field in schema.fields() {
        let Some(i) = find(field.name()) else {
            return Err(format!(
                "the output has no column '{}' (it has: {}; SCHEMA declares: {})",
                field.name(),
                names.join(", "),
                declared(schema)
            ));
        };
        used[i] = true;
        let col = batch.column(i);
        let col = if col.data_type() == field.data_type() {
            col.clone()
        } else if col.null_count() == col.len() {
            new_null_array(field.data_type(), col.len())
        } else {
            cast_with_options(col, field.data_type(), &options).map_err(|e| {
                format!(
                    "column '{}' is {} in the output and cannot be cast to the declared {}: {e}",
                    field.name(),
                    col.data_type(),
                    field.data_type()
                )
            })?
        };
        columns.push(col);
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(format!(
            "the output has a column '{}' that SCHEMA does not declare (SCHEMA declares: {})",
            names[i],
            declared(schema)
        ));
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
}

fn declared(schema: &SchemaRef) -> String {
    schema
        .fields()
        .iter()
        .map(|f| format!("{}:{}", f.name(), crate::types::fugue_name(f.data_type())))
        .collect::<Vec<_>>()
        .join(",")
}

/// An empty batch of `schema`.
pub fn empty(schema: &SchemaRef) -> RecordBatch {
    RecordBatch::new_empty(Arc::clone(schema))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::builtin::Builtin;
    use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field};
    use std::collections::HashMap;

    fn declared() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("store", DataType::Int32, true),
            Field::new("slope", DataType::Float64, true),
        ]))
    }

    #[test]
    fn answers_are_matched_by_name_and_cast() {
        // pandas order, types and schema metadata.
        let got = Schema::new(vec![
            Field::new("Slope", DataType::Float32, true),
            Field::new("store", DataType::Int64, false),
        ])
        .with_metadata(HashMap::from([("pandas".into(), "{}".into())]));
        let batch = RecordBatch::try_new(
            Arc::new(got),
            vec![
                Arc::new(datafusion::arrow::array::Float32Array::from(vec![0.5])),
                Arc::new(Int64Array::from(vec![7])),
            ],
        )
        .unwrap();
        let out = conform(&batch, &declared()).unwrap();
        assert_eq!(out.schema(), declared());
        let slope = out
            .column(1)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(slope.value(0), 0.5);
    }

    #[test]
    fn missing_extra_and_unfit_columns_are_errors() {
        let one = |name: &str, col: ArrayRef| {
            RecordBatch::try_new(
                Arc::new(Schema::new(vec![Field::new(
                    name,
                    col.data_type().clone(),
                    true,
                )])),
                vec![col],
            )
            .unwrap()
        };
        let e = conform(
            &one("store", Arc::new(Int64Array::from(vec![1]))),
            &declared(),
        )
        .unwrap_err();
        assert!(
            e.contains("no column 'slope'") && e.contains("store:int,slope:double"),
            "{e}"
        );
        let store_only = Arc::new(Schema::new(vec![Field::new(
            "store",
            DataType::Int32,
            true,
        )]));
        let two = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("store", DataType::Int32, true),
                Field::new("extra", DataType::Int32, true),
            ])),
            vec![
                Arc::new(datafusion::arrow::array::Int32Array::from(vec![1])),
                Arc::new(datafusion::arrow::array::Int32Array::from(vec![2])),
            ],
        )
        .unwrap();
        let e = conform(&two, &store_only).unwrap_err();
        assert!(
            e.contains("column 'extra' that SCHEMA does not declare"),
            "{e}"
        );
        let text = one("store", Arc::new(StringArray::from(vec!["x"])));
        let e = conform(&text, &store_only).unwrap_err();
        assert!(e.contains("cannot be cast to the declared Int32"), "{e}");
        let big = one("store", Arc::new(Int64Array::from(vec![i64::MAX])));
        assert!(
            conform(&big, &store_only).is_err(),
            "overflow is an error, not NULL"
        );
    }

    #[test]
    fn spec_round_trips_through_bytes() {
        let spec = TransformSpec {
            keys: vec!["store".into()],
            presort: vec![vec![("day".into(), false)]],
            how: Some(ZipHow::LeftOuter),
            chunks: None,
            transformer: Transformer::Builtin(Builtin::RowNumber { column: "n".into() }),
            discard: false,
            label: "TRANSFORM at line 3".into(),
        };
        let mut buf = Vec::new();
        spec.encode(&declared(), &mut buf).unwrap();
        let (back, schema) = TransformSpec::decode(&buf).unwrap().unwrap();
        assert_eq!(back, spec);
        assert_eq!(schema, declared());
        assert!(TransformSpec::decode(b"other codec bytes").is_none());
        assert!(TransformSpec::decode(&buf[..12]).unwrap().is_err());
    }
}

//! `CREATE [[..],..] SCHEMA ...`: inline rows decoded into the declared Arrow
//! schema (arrow-json does the per-type decoding: numbers, strings to
//! dates/timestamps/decimals, nested lists and structs).

use std::io::Cursor;

use datafusion::arrow::json::ReaderBuilder;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use fsql_sql::{CreateData, Literal, Span};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::session::Session;
use crate::types::schema_to_arrow;

pub(crate) fn create_data(s: &Session, c: &CreateData, span: Span) -> Result<DataFrame> {
    let schema = schema_to_arrow(&c.schema);
    let width = schema.fields().len();
    let mut text = String::new();
    for (i, row) in c.rows.iter().enumerate() {
        if row.len() != width {
            return Err(Error::at(
                span,
                format!(
                    "row {} has {} values but the schema has {width} columns",
                    i + 1,
                    row.len()
                ),
            ));
        }
        let mut obj = Map::new();
        for (field, value) in schema.fields().iter().zip(row) {
            obj.insert(field.name().clone(), to_json(value));
        }
        text.push_str(&Value::Object(obj).to_string());
        text.push('\n');
    }
    let reader = ReaderBuilder::new(schema.clone())
        .with_coerce_primitive(true)
        .with_batch_size(c.rows.len().max(1))
        .build(Cursor::new(text.into_bytes()))
        .map_err(|e| Error::at(span, format!("inline data does not fit the schema: {e}")))?;
    let mut batches = Vec::new();
    for batch in reader {
        batches.push(
            batch.map_err(|e| {
                Error::at(span, format!("inline data does not fit the schema: {e}"))
            })?,
        );
    }
    let batch = if batches.is_empty() {
        RecordBatch::new_empty(schema)
    } else {
        datafusion::arrow::compute::concat_batches(&schema, &batches)
            .map_err(|e| Error::at(span, e.to_string()))?
    };
    super::batch_frame(s, batch, span)
}

pub(crate) fn to_json(l: &Literal) -> Value {
    match l {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Number(n) => serde_json::from_str(n).unwrap_or_else(|_| Value::String(n.clone())),
        Literal::String(s) => Value::String(s.clone()),
        Literal::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Literal::Object(items) => {
            Value::Object(items.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

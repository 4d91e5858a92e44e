//! Random tables: a schema of typed columns and rows with the values that
//! break engines (NULLs everywhere, NaN, ±0, ±inf, empty and non-ASCII
//! strings, decimals, dates and timestamps far apart), written as Parquet
//! files that fsql and DuckDB both read, so both see exactly the same data.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

/// A column's kind, as the query generator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Float,
    Decimal,
    Str,
    Bool,
    Date,
    Timestamp,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Int,
        Kind::Float,
        Kind::Decimal,
        Kind::Str,
        Kind::Bool,
        Kind::Date,
        Kind::Timestamp,
    ];

    fn arrow(self) -> DataType {
        match self {
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Decimal => DataType::Decimal128(10, 2),
            Kind::Str => DataType::Utf8,
            Kind::Bool => DataType::Boolean,
            Kind::Date => DataType::Date32,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        }
    }

    /// True for kinds arithmetic applies to.
    pub fn numeric(self) -> bool {
        matches!(self, Kind::Int | Kind::Float | Kind::Decimal)
    }
}

/// One value of a table (kept to shrink tables and write golden files).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    /// Hundredths.
    Decimal(i128),
    Str(String),
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01.
    Timestamp(i64),
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

const STRINGS: &[&str] = &[
    "", " ", "a", "A", "b", "ab", "abc", "é", "É", "日本", "🦀", "NULL", "null", "a b", "z", "Zz",
    "0", "10", "-1", "x'y", "tab\tin",
];

fn value(rng: &mut ChaCha8Rng, kind: Kind, nulls: f64) -> Value {
    if rng.random_bool(nulls) {
        return Value::Null;
    }
    match kind {
        Kind::Int => Value::Int(match rng.random_range(0..10) {
            0 => 0,
            1 => -1,
            2 => i64::from(rng.random_range(-1000..1000)),
            3 => 2_147_483_647,
            4 => -2_147_483_648,
            _ => rng.random_range(-5..6),
        }),
        // No ±inf: `inf - inf` makes a NaN with its sign bit set, which
        // DataFusion orders below every number (a known difference, see
        // crate::known), and it would drown everything else.
        Kind::Float => Value::Float(match rng.random_range(0..12) {
            0 => f64::NAN,
            1 => -0.0,
            2 => 0.0,
            3 => 1e300,
            4 => 0.1,
            5 => -2.5,
            _ => f64::from(rng.random_range(-50..50)) / 4.0,
        }),
        Kind::Decimal => Value::Decimal(match rng.random_range(0..6) {
            0 => 0,
            1 => -1,
            2 => 99_999_999,
            _ => i128::from(rng.random_range(-1000..1000)),
        }),
        Kind::Str => Value::Str(STRINGS.choose(rng).expect("strings").to_string()),
        Kind::Bool => Value::Bool(rng.random_bool(0.5)),
        Kind::Date => Value::Date(match rng.random_range(0..5) {
            0 => 0,
            1 => -719_162,  // 0001-01-01
            2 => 2_932_896, // 9999-12-31
            _ => rng.random_range(18_000..18_010),
        }),
        Kind::Timestamp => Value::Timestamp(match rng.random_range(0..4) {
            0 => 0,
            1 => -1_000_000,
            _ => 1_600_000_000_000_000 + rng.random_range(0..5) * 3_600_000_000,
        }),
    }
}

/// `count` random tables named t0, t1, ...; every table has an integer
/// key `k` with few distinct values (joins and groups meet), then 1–4
/// columns of random kinds.
pub fn tables(rng: &mut ChaCha8Rng, count: usize) -> Vec<Table> {
    (0..count)
        .map(|t| {
            let mut columns = vec![Column {
                name: "k".into(),
                kind: Kind::Int,
            }];
            for c in 0..rng.random_range(1..5) {
                let kind = *Kind::ALL.choose(rng).expect("kinds");
                columns.push(Column {
                    name: format!("c{c}"),
                    kind,
                });
            }
            let nulls = [0.0, 0.1, 0.3].choose(rng).copied().unwrap_or(0.1);
            let rows = (0..rng.random_range(0..25))
                .map(|_| {
                    columns
                        .iter()
                        .map(|c| {
                            if c.name == "k" {
                                if rng.random_bool(nulls) {
                                    Value::Null
                                } else {
                                    Value::Int(rng.random_range(0..4))
                                }
                            } else {
                                value(rng, c.kind, nulls)
                            }
                        })
                        .collect()
                })
                .collect();
            Table {
                name: format!("t{t}"),
                columns,
                rows,
            }
        })
        .collect()
}

impl Table {
    pub fn schema(&self) -> Arc<Schema> {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.kind.arrow(), true))
                .collect::<Vec<_>>(),
        ))
    }

    pub fn batch(&self) -> RecordBatch {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter()
            .enumerate()
            .map(|(j, c)| {
                let cells = self.rows.iter().map(|r| &r[j]);
                let array: ArrayRef = match c.kind {
                    Kind::Int => Arc::new(Int64Array::from_iter(cells.map(|v| match v {
                        Value::Int(i) => Some(*i),
                        _ => None,
                    }))),
                    Kind::Float => Arc::new(Float64Array::from_iter(cells.map(|v| match v {
                        Value::Float(f) => Some(*f),
                        _ => None,
                    }))),
                    Kind::Decimal => Arc::new(
                        Decimal128Array::from_iter(cells.map(|v| match v {
                            Value::Decimal(d) => Some(*d),
                            _ => None,
                        }))
                        .with_precision_and_scale(10, 2)
                        .expect("decimal(10,2)"),
                    ),
                    Kind::Str => Arc::new(StringArray::from_iter(cells.map(|v| match v {
                        Value::Str(s) => Some(s.clone()),
                        _ => None,
                    }))),
                    Kind::Bool => Arc::new(BooleanArray::from_iter(cells.map(|v| match v {
                        Value::Bool(b) => Some(*b),
                        _ => None,
                    }))),
                    Kind::Date => Arc::new(Date32Array::from_iter(cells.map(|v| match v {
                        Value::Date(d) => Some(*d),
                        _ => None,
                    }))),
                    Kind::Timestamp => Arc::new(TimestampMicrosecondArray::from_iter(cells.map(
                        |v| match v {
                            Value::Timestamp(t) => Some(*t),
                            _ => None,
                        },
                    ))),
                };
                array
            })
            .collect();
        RecordBatch::try_new(self.schema(), arrays).expect("columns match the schema")
    }

    /// Writes the table as `dir/<name>.parquet`.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join(format!("{}.parquet", self.name));
        let file = std::fs::File::create(&path)?;
        let mut writer =
            ArrowWriter::try_new(file, self.schema(), None).map_err(std::io::Error::other)?;
        writer.write(&self.batch()).map_err(std::io::Error::other)?;
        writer.close().map_err(std::io::Error::other)?;
        Ok(path)
    }

    /// The columns of a kind.
    pub fn of(&self, kind: Kind) -> Vec<&Column> {
        self.columns.iter().filter(|c| c.kind == kind).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn tables_are_seeded_and_write() {
        let a = tables(&mut ChaCha8Rng::seed_from_u64(7), 3);
        let b = tables(&mut ChaCha8Rng::seed_from_u64(7), 3);
        assert_eq!(a.len(), 3);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(format!("{:?}", x.rows), format!("{:?}", y.rows));
        }
        let dir = tempfile::tempdir().unwrap();
        for t in &a {
            assert!(t.write(dir.path()).unwrap().exists());
        }
    }
}

//! Fugue type names ↔ Arrow types: the one place the mapping lives.
//!
//! | fugue | Arrow |
//! |---|---|
//! | bool | Boolean |
//! | byte, short, int, long | Int8, Int16, Int32, Int64 |
//! | ubyte, ushort, uint, ulong | UInt8, UInt16, UInt32, UInt64 |
//! | float, double | Float32, Float64 |
//! | decimal(p,s) | Decimal128(p,s) |
//! | str | Utf8 |
//! | bytes | Binary |
//! | date | Date32 |
//! | datetime | Timestamp(µs, no time zone) |
//! | timestamp(unit[,tz]) | Timestamp(unit, tz) |
//! | [t] | List(t) |
//! | {a:t,...} | Struct |

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use fsql_sql::{Schema as FugueSchema, TypeName};

pub fn to_arrow(t: &TypeName) -> DataType {
    match t {
        TypeName::Bool => DataType::Boolean,
        TypeName::Byte => DataType::Int8,
        TypeName::Short => DataType::Int16,
        TypeName::Int => DataType::Int32,
        TypeName::Long => DataType::Int64,
        TypeName::UByte => DataType::UInt8,
        TypeName::UShort => DataType::UInt16,
        TypeName::UInt => DataType::UInt32,
        TypeName::ULong => DataType::UInt64,
        TypeName::Float => DataType::Float32,
        TypeName::Double => DataType::Float64,
        TypeName::Decimal(p, s) => DataType::Decimal128(*p, *s),
        TypeName::Str => DataType::Utf8,
        TypeName::Bytes => DataType::Binary,
        TypeName::Date => DataType::Date32,
        TypeName::Datetime => DataType::Timestamp(TimeUnit::Microsecond, None),
        TypeName::Timestamp(unit, tz) => {
            DataType::Timestamp(time_unit(*unit), tz.as_deref().map(Into::into))
        }
        TypeName::List(inner) => DataType::new_list(to_arrow(inner), true),
        TypeName::Struct(fields) => DataType::Struct(Fields::from(
            fields
                .iter()
                .map(|f| Field::new(f.name.value.clone(), to_arrow(&f.ty), true))
                .collect::<Vec<_>>(),
        )),
    }
}

fn time_unit(u: fsql_sql::TimeUnit) -> TimeUnit {
    match u {
        fsql_sql::TimeUnit::Second => TimeUnit::Second,
        fsql_sql::TimeUnit::Millisecond => TimeUnit::Millisecond,
        fsql_sql::TimeUnit::Microsecond => TimeUnit::Microsecond,
        fsql_sql::TimeUnit::Nanosecond => TimeUnit::Nanosecond,
    }
}

/// An Arrow schema from a Fugue schema; every column is nullable.
pub fn schema_to_arrow(schema: &FugueSchema) -> Arc<Schema> {
    Arc::new(Schema::new(
        schema
            .fields
            .iter()
            .map(|f| Field::new(f.name.value.clone(), to_arrow(&f.ty), true))
            .collect::<Vec<_>>(),
    ))
}

/// The Fugue name of an Arrow type, for messages and schema display.
pub fn fugue_name(t: &DataType) -> String {
    match t {
        DataType::Boolean => "bool".into(),
        DataType::Int8 => "byte".into(),
        DataType::Int16 => "short".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "long".into(),
        DataType::UInt8 => "ubyte".into(),
        DataType::UInt16 => "ushort".into(),
        DataType::UInt32 => "uint".into(),
        DataType::UInt64 => "ulong".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "str".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "bytes".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(TimeUnit::Microsecond, None) => "datetime".into(),
        DataType::Timestamp(unit, tz) => {
            let unit = match unit {
                TimeUnit::Second => "s",
                TimeUnit::Millisecond => "ms",
                TimeUnit::Microsecond => "us",
                TimeUnit::Nanosecond => "ns",
            };
            match tz {
                Some(tz) => format!("timestamp({unit},{tz})"),
                None => format!("timestamp({unit})"),
            }
        }
        DataType::List(f) | DataType::LargeList(f) => format!("[{}]", fugue_name(f.data_type())),
        DataType::Struct(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), fugue_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

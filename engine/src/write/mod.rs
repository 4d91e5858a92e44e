//! How fsql writes CSV and JSON files: one convention on every engine, in
//! `--format csv` too, with options that survive the trip to a cluster's
//! executors.
//!
//! The convention (docs/semantics.md): CSV fields are quoted only where
//! needed, dates are written `2024-03-01`, timestamps `2024-03-01 10:00:00`
//! (sub-seconds only when present, `+05:30` after a zoned one), NULL as an
//! empty field (or the `null_value` option), binary as hex. JSON lines keep
//! Arrow's forms (ISO dates and times) and write NaN and ±infinity as the
//! strings `"NaN"`, `"Infinity"`, `"-Infinity"` (Spark's convention), where
//! Arrow alone would write `null` and lose them.
//!
//! Why fsql has its own format and sink instead of DataFusion's: DataFusion
//! 55's writer options do not survive Ballista's plan serialization. For
//! CSV, its logical codec writes the quote style by its position in a
//! differently ordered enum (`Necessary` arrives as `Always`: every field
//! quoted), and its physical codec turns every unset date or time format
//! into an empty format string (every date and timestamp written as an
//! empty field) and drops the zoned-timestamp format. For Parquet, the
//! sorting columns a sorted write records in the file are dropped, so the
//! cluster's files differed from the other engines'. So SAVE writes through
//! [`WriteFormatFactory`] and [`sink::WriteSink`] (Parquet still by
//! DataFusion's Parquet writer), and both of fsql's codecs carry the whole
//! [`WriteSpec`].

mod sink;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::config::TableParquetOptions;
use datafusion::common::{DataFusionError, GetExt, Result, Statistics, not_impl_err};
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::{ParquetFormat, ParquetFormatFactory};
use datafusion::datasource::file_format::write::get_writer_schema;
use datafusion::datasource::file_format::{FileFormat, FileFormatFactory};
use datafusion::datasource::physical_plan::{FileScanConfig, FileSinkConfig, FileSource};
use datafusion::datasource::sink::DataSinkExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::object_store::{ObjectMeta, ObjectStore};
use datafusion::physical_expr::LexRequirement;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::protobuf;
use prost::Message;
use serde::{Deserialize, Serialize};

pub(crate) use sink::WriteSink;

/// Dates in CSV.
pub const DATE_FORMAT: &str = "%Y-%m-%d";
/// Timestamps without a time zone in CSV: sub-seconds only when present
/// (3, 6 or 9 digits, as the value's precision needs).
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";
/// Timestamps with a time zone in CSV: local time and the zone's offset.
pub const TIMESTAMP_TZ_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f%:z";
/// Times of day in CSV.
pub const TIME_FORMAT: &str = "%H:%M:%S%.f";

/// Everything a CSV or JSON write needs, as it travels in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteSpec {
    Csv(CsvSpec),
    Json,
    Parquet(ParquetSpec),
}

/// A Parquet write: DataFusion's Parquet options, and the sorting columns
/// the files record (known once the write is planned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParquetSpec {
    /// `TableParquetOptions` as DataFusion's protobuf message.
    options: Vec<u8>,
    /// (column index in the files, descending, nulls first).
    pub(crate) sorting: Option<Vec<(i32, bool, bool)>>,
}

impl ParquetSpec {
    pub fn new(options: &TableParquetOptions) -> Self {
        let factory = ParquetFormatFactory::new_with_options(options.clone());
        let proto = protobuf::TableParquetOptions::from(&factory);
        Self {
            options: proto.encode_to_vec(),
            sorting: None,
        }
    }

    pub(crate) fn options(&self) -> Result<TableParquetOptions> {
        let proto = protobuf::TableParquetOptions::decode(self.options.as_slice())
            .map_err(|e| DataFusionError::External(e.into()))?;
        TableParquetOptions::try_from(&proto)
    }
}

/// The CSV options SAVE takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvSpec {
    pub header: bool,
    pub delimiter: u8,
    pub quote: u8,
    /// Quotes inside fields are escaped with this instead of doubled.
    pub escape: Option<u8>,
    /// How NULL is written (default: an empty field).
    pub null_value: Option<String>,
}

impl Default for CsvSpec {
    fn default() -> Self {
        Self {
            header: false,
            delimiter: b',',
            quote: b'"',
            escape: None,
            null_value: None,
        }
    }
}

impl CsvSpec {
    /// Arrow's CSV writer set up with fsql's convention.
    pub fn writer(&self) -> WriterBuilder {
        let mut b = WriterBuilder::new()
            .with_header(self.header)
            .with_delimiter(self.delimiter)
            .with_quote(self.quote)
            .with_date_format(DATE_FORMAT.into())
            .with_datetime_format(TIMESTAMP_FORMAT.into())
            .with_timestamp_format(TIMESTAMP_FORMAT.into())
            .with_timestamp_tz_format(TIMESTAMP_TZ_FORMAT.into())
            .with_time_format(TIME_FORMAT.into());
        if let Some(e) = self.escape {
            b = b.with_escape(e).with_double_quote(false);
        }
        if let Some(n) = &self.null_value {
            b = b.with_null(n.clone());
        }
        b
    }
}

/// Marks an encoded [`WriteSpec`] in a plan (logical file format or
/// physical sink). A protobuf message never starts with these bytes.
const MAGIC: &[u8] = b"FSQLWRITE\0";

impl WriteSpec {
    pub(crate) fn extension(&self) -> &'static str {
        match self {
            WriteSpec::Csv(_) => "csv",
            WriteSpec::Json => "json",
            WriteSpec::Parquet(_) => "parquet",
        }
    }

    /// Appends the marked spec to `buf`.
    pub(crate) fn encode(&self, buf: &mut Vec<u8>) -> Result<()> {
        buf.extend_from_slice(MAGIC);
        serde_json::to_writer(&mut *buf, self).map_err(|e| DataFusionError::External(e.into()))
    }

    /// The spec at the start of `buf` and the bytes after it; None when
    /// `buf` does not start with one.
    pub(crate) fn decode(buf: &[u8]) -> Option<Result<(WriteSpec, &[u8])>> {
        let rest = buf.strip_prefix(MAGIC)?;
        let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<WriteSpec>();
        Some(match stream.next() {
            Some(Ok(spec)) => Ok((spec, &rest[stream.byte_offset()..])),
            Some(Err(e)) => Err(DataFusionError::External(e.into())),
            None => Err(DataFusionError::Internal("an empty write spec".into())),
        })
    }

    /// DataFusion's own format for reading the same files (schema
    /// inference and scans go there).
    fn reader(&self) -> Arc<dyn FileFormat> {
        match self {
            WriteSpec::Csv(c) => Arc::new(
                CsvFormat::default()
                    .with_has_header(c.header)
                    .with_delimiter(c.delimiter)
                    .with_quote(c.quote),
            ),
            WriteSpec::Json => Arc::new(JsonFormat::default()),
            WriteSpec::Parquet(_) => Arc::new(ParquetFormat::default()),
        }
    }
}

/// The file type a SAVE's copy plan names; it plans [`WriteSink`]s.
#[derive(Debug)]
pub(crate) struct WriteFormatFactory {
    pub spec: WriteSpec,
}

impl GetExt for WriteFormatFactory {
    fn get_ext(&self) -> String {
        self.spec.extension().to_string()
    }
}

impl FileFormatFactory for WriteFormatFactory {
    fn create(
        &self,
        _state: &dyn Session,
        _format_options: &HashMap<String, String>,
    ) -> Result<Arc<dyn FileFormat>> {
        Ok(self.default())
    }

    fn default(&self) -> Arc<dyn FileFormat> {
        Arc::new(WriteFormat {
            reader: self.spec.reader(),
            spec: self.spec.clone(),
        })
    }
}

#[derive(Debug)]
struct WriteFormat {
    spec: WriteSpec,
    reader: Arc<dyn FileFormat>,
}

#[async_trait]
impl FileFormat for WriteFormat {
    fn get_ext(&self) -> String {
        self.spec.extension().to_string()
    }

    fn get_ext_with_compression(&self, _c: &FileCompressionType) -> Result<String> {
        Ok(self.get_ext())
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        None
    }

    async fn infer_schema(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        self.reader.infer_schema(state, store, objects).await
    }

    async fn infer_stats(
        &self,
        state: &dyn Session,
        store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        object: &ObjectMeta,
    ) -> Result<Statistics> {
        self.reader
            .infer_stats(state, store, table_schema, object)
            .await
    }

    async fn create_physical_plan(
        &self,
        state: &dyn Session,
        conf: FileScanConfig,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.reader.create_physical_plan(state, conf).await
    }

    async fn create_writer_physical_plan(
        &self,
        input: Arc<dyn ExecutionPlan>,
        _state: &dyn Session,
        conf: FileSinkConfig,
        order_requirements: Option<LexRequirement>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if conf.insert_op != InsertOp::Append {
            return not_impl_err!("fsql writes new files only (InsertOp::Append)");
        }
        let mut spec = self.spec.clone();
        if let (WriteSpec::Parquet(p), Some(order)) = (&mut spec, &order_requirements) {
            p.sorting = sorting_columns(order, &conf);
        }
        let sink = Arc::new(WriteSink::new(conf, spec));
        Ok(Arc::new(DataSinkExec::new(input, sink, order_requirements)))
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        self.reader.file_source(table_schema)
    }
}

/// The Parquet sorting columns of a write whose input is ordered by
/// `order`, as DataFusion's Parquet writer records them: only while the
/// order is by plain columns the files hold.
fn sorting_columns(
    order: &LexRequirement,
    conf: &FileSinkConfig,
) -> Option<Vec<(i32, bool, bool)>> {
    let input = conf.output_schema();
    let writer = get_writer_schema(conf);
    let mut out = Vec::new();
    for r in order.iter() {
        let column = r.expr.downcast_ref::<Column>()?;
        let name = input.fields().get(column.index())?.name();
        let Some((index, _)) = writer.column_with_name(name) else {
            continue;
        };
        let options = r.options.unwrap_or_default();
        out.push((
            i32::try_from(index).ok()?,
            options.descending,
            options.nulls_first,
        ));
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_round_trips_with_trailing_bytes() {
        let spec = WriteSpec::Csv(CsvSpec {
            header: true,
            delimiter: b';',
            quote: b'\'',
            escape: Some(b'\\'),
            null_value: Some("NA".into()),
        });
        let mut buf = Vec::new();
        spec.encode(&mut buf).unwrap();
        buf.extend_from_slice(b"rest");
        let (back, rest) = WriteSpec::decode(&buf).unwrap().unwrap();
        assert_eq!(back, spec);
        assert_eq!(rest, b"rest");
        assert!(WriteSpec::decode(b"\x08\x01").is_none());
    }

    #[test]
    fn parquet_options_survive_the_spec() {
        let mut options = TableParquetOptions::default();
        options.global.compression = Some("gzip(6)".into());
        options.global.max_row_group_size = 1234;
        let spec = ParquetSpec::new(&options);
        assert_eq!(spec.options().unwrap(), options);
    }
}

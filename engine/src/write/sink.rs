//! The sink that writes SAVE's files (on whichever process runs the write:
//! CSV and JSON by fsql's serializers, Parquet by DataFusion's Parquet
//! sink), and how it travels in a plan.

use std::fmt;
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, FieldRef, Float32Type, Float64Type, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::writer::{
    Encoder, EncoderFactory, EncoderOptions, LineDelimitedWriter, NullableEncoder,
    WriterBuilder as JsonWriterBuilder, make_encoder,
};
use datafusion::common::runtime::SpawnedTask;
use datafusion::common::{DataFusionError, Result, internal_err};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::parquet::ParquetSink;
use datafusion::datasource::file_format::write::BatchSerializer;
use datafusion::datasource::file_format::write::demux::DemuxedStreamReceiver;
use datafusion::datasource::file_format::write::orchestration::spawn_writer_tasks_and_join;
use datafusion::datasource::physical_plan::{FileSink, FileSinkConfig};
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::object_store::ObjectStore;
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};
use datafusion_proto::protobuf;
use prost::Message;

use super::WriteSpec;

/// Writes a SAVE's files with fsql's CSV or JSON convention.
pub(crate) struct WriteSink {
    config: FileSinkConfig,
    spec: WriteSpec,
}

impl WriteSink {
    pub(crate) fn new(config: FileSinkConfig, spec: WriteSpec) -> Self {
        Self { config, spec }
    }

    /// `exec` (a DataSinkExec) as the bytes fsql's physical codec ships,
    /// when its sink is a [`WriteSink`]: the spec, then the sink's file
    /// configuration as DataFusion's protobuf message. Its input travels as
    /// the extension node's child.
    pub(crate) fn encode_exec(exec: &dyn ExecutionPlan, buf: &mut Vec<u8>) -> Option<Result<()>> {
        let sink = exec
            .downcast_ref::<DataSinkExec>()?
            .sink()
            .downcast_ref::<WriteSink>()?;
        // The sink's input-order requirement is not shipped: the scheduler
        // already planned the sorts it asks for, and executors only run.
        Some((|| {
            sink.spec.encode(buf)?;
            let config = protobuf::FileSinkConfig::try_from(&sink.config)?;
            config
                .encode(buf)
                .map_err(|e| DataFusionError::External(e.into()))
        })())
    }

    /// The DataSinkExec [`WriteSink::encode_exec`] wrote, over `inputs`;
    /// None when `buf` is not one.
    pub(crate) fn decode_exec(
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
    ) -> Option<Result<Arc<dyn ExecutionPlan>>> {
        let (spec, rest) = match WriteSpec::decode(buf)? {
            Ok(decoded) => decoded,
            Err(e) => return Some(Err(e)),
        };
        Some((|| {
            let proto = protobuf::FileSinkConfig::decode(rest)
                .map_err(|e| DataFusionError::External(e.into()))?;
            let config = FileSinkConfig::try_from(&proto)?;
            let [input] = inputs else {
                return internal_err!("a SAVE sink has one input");
            };
            let sink = Arc::new(WriteSink::new(config, spec));
            Ok(Arc::new(DataSinkExec::new(Arc::clone(input), sink, None)) as _)
        })())
    }
}

impl fmt::Debug for WriteSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteSink")
            .field("spec", &self.spec)
            .finish()
    }
}

impl DisplayAs for WriteSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fsql {} writer: {}",
            self.spec.extension(),
            self.config.original_url
        )
    }
}

#[async_trait]
impl DataSink for WriteSink {
    fn schema(&self) -> &SchemaRef {
        self.config.output_schema()
    }

    async fn write_all(
        &self,
        data: SendableRecordBatchStream,
        context: &Arc<TaskContext>,
    ) -> Result<u64> {
        match &self.spec {
            WriteSpec::Parquet(p) => {
                let sorting = p.sorting.as_ref().map(|columns| {
                    columns
                        .iter()
                        .map(|&(column_idx, descending, nulls_first)| SortingColumn {
                            column_idx,
                            descending,
                            nulls_first,
                        })
                        .collect()
                });
                let parquet = ParquetSink::new(self.config.clone(), p.options()?)
                    .with_sorting_columns(sorting);
                DataSink::write_all(&parquet, data, context).await
            }
            _ => FileSink::write_all(self, data, context).await,
        }
    }
}

#[async_trait]
impl FileSink for WriteSink {
    fn config(&self) -> &FileSinkConfig {
        &self.config
    }

    async fn spawn_writer_tasks_and_join(
        &self,
        context: &Arc<TaskContext>,
        demux_task: SpawnedTask<Result<()>>,
        file_stream_rx: DemuxedStreamReceiver,
        object_store: Arc<dyn ObjectStore>,
    ) -> Result<u64> {
        let serializer: Arc<dyn BatchSerializer> = match &self.spec {
            WriteSpec::Csv(c) => Arc::new(CsvSerializer { spec: c.clone() }),
            WriteSpec::Json => Arc::new(JsonSerializer),
            WriteSpec::Parquet(_) => {
                return internal_err!("Parquet files are written by DataFusion's Parquet sink");
            }
        };
        spawn_writer_tasks_and_join(
            context,
            serializer,
            FileCompressionType::UNCOMPRESSED,
            None,
            object_store,
            demux_task,
            file_stream_rx,
        )
        .await
    }
}

struct CsvSerializer {
    spec: super::CsvSpec,
}

impl BatchSerializer for CsvSerializer {
    fn serialize(&self, batch: RecordBatch, initial: bool) -> Result<Bytes> {
        let mut buffer = Vec::with_capacity(4096);
        let header = self.spec.header && initial;
        let mut writer = self.spec.writer().with_header(header).build(&mut buffer);
        writer.write(&batch)?;
        drop(writer);
        Ok(Bytes::from(buffer))
    }
}

struct JsonSerializer;

impl BatchSerializer for JsonSerializer {
    fn serialize(&self, batch: RecordBatch, _initial: bool) -> Result<Bytes> {
        let mut buffer = Vec::with_capacity(4096);
        let mut writer: LineDelimitedWriter<_> = JsonWriterBuilder::new()
            .with_encoder_factory(Arc::new(NonFiniteAsStrings))
            .build(&mut buffer);
        writer.write(&batch)?;
        writer.finish()?;
        drop(writer);
        Ok(Bytes::from(buffer))
    }
}

/// JSON has no NaN or infinity; Arrow writes them as `null`, which loses
/// them. fsql writes them as strings, which Arrow's reader parses back into
/// a float column (and Spark reads and writes the same way).
#[derive(Debug)]
struct NonFiniteAsStrings;

/// Options for the encoders [`NonFiniteAsStrings`] falls back to (without
/// the factory, so they do not come back to it).
static PLAIN: LazyLock<EncoderOptions> = LazyLock::new(EncoderOptions::default);

impl EncoderFactory for NonFiniteAsStrings {
    fn make_default_encoder<'a>(
        &self,
        field: &'a FieldRef,
        array: &'a dyn Array,
        _options: &'a EncoderOptions,
    ) -> std::result::Result<Option<NullableEncoder<'a>>, ArrowError> {
        let value: Box<dyn Fn(usize) -> f64 + 'a> = match array.data_type() {
            DataType::Float64 => {
                let a = array.as_primitive::<Float64Type>();
                Box::new(move |i| a.value(i))
            }
            DataType::Float32 => {
                let a = array.as_primitive::<Float32Type>();
                Box::new(move |i| f64::from(a.value(i)))
            }
            _ => return Ok(None),
        };
        let finite = make_encoder(field, array, &PLAIN)?;
        let encoder = FloatEncoder { value, finite };
        Ok(Some(NullableEncoder::new(
            Box::new(encoder),
            array.nulls().cloned(),
        )))
    }
}

struct FloatEncoder<'a> {
    value: Box<dyn Fn(usize) -> f64 + 'a>,
    finite: NullableEncoder<'a>,
}

impl Encoder for FloatEncoder<'_> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        let v = (self.value)(idx);
        if v.is_nan() {
            out.extend_from_slice(b"\"NaN\"");
        } else if v == f64::INFINITY {
            out.extend_from_slice(b"\"Infinity\"");
        } else if v == f64::NEG_INFINITY {
            out.extend_from_slice(b"\"-Infinity\"");
        } else {
            self.finite.encode(idx, out);
        }
    }
}

//! fsql's logical extension codec for Ballista: what fsql puts in a logical
//! plan beyond DataFusion's own nodes, in a form the scheduler can decode.
//! The client, the embedded cluster and `fsql cluster` processes all use
//! this one codec (everything else goes to Ballista's).
//!
//! Table functions: `generate_series(..)` and `range(..)` scan a table
//! provider that DataFusion cannot serialize. It is shipped as its physical
//! plan (a lazy generator node, which datafusion-proto does serialize) and
//! decoded into a provider that returns that plan.
//!
//! TRANSFORM: its logical node (for the scheduler, which plans it) and its
//! physical node (for the executors, which run it) travel as the node's
//! spec and output schema (`transform::spec`).
//!
//! TAKE per group: the top-n node (logical and both physical phases) as
//! its spec (`topn`).
//!
//! SAVE to CSV or JSON: fsql's own file format (logical) and sink
//! (physical) as their write spec (`write`), because DataFusion's codecs
//! lose CSV writer options on the way.
//!
//! PREDICT: its function carries a model, which a function name alone
//! cannot; both codecs (logical for the scheduler, physical for the
//! executors) ship the model's bytes with the function.

use std::sync::Arc;

use async_trait::async_trait;
use ballista_core::serde::BallistaLogicalExtensionCodec;
use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Result, TableReference, internal_err, plan_err};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::functions_table::generate_series::GenerateSeriesTable;
use datafusion::logical_expr::ScalarUDF;
use datafusion::logical_expr::{Expr, Extension, LogicalPlan};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::memory::LazyMemoryExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{
    AsExecutionPlan, DefaultPhysicalExtensionCodec, PhysicalExtensionCodec,
    PhysicalProtoConverterExtension,
};

use crate::ml::predict::{Output, PredictUdf};
use crate::topn::exec::{Phase, TopNExec};
use crate::topn::{TopNNode, TopNSpec};
use crate::transform::exec::TransformExec;
use crate::transform::node::{TransformNode, ZipNode};
use crate::transform::spec::TransformSpec;
use crate::write::{WriteFormatFactory, WriteSink, WriteSpec};
use datafusion_proto::protobuf::PhysicalPlanNode;

/// First byte of an encoded table: which codec wrote the rest.
const BALLISTA: u8 = 0;
const GENERATED: u8 = 1;

/// Rows per batch of a shipped generator (DataFusion's default batch size).
const GENERATOR_BATCH: usize = 8192;

#[derive(Debug, Default)]
pub struct FsqlLogicalCodec {
    inner: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for FsqlLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        if let Some(decoded) = TransformSpec::decode(buf) {
            let (spec, schema) = decoded?;
            let node = TransformNode::new(inputs.to_vec(), spec, &schema)?;
            return Ok(Extension {
                node: Arc::new(node),
            });
        }
        if let Some(decoded) = TopNSpec::decode(buf) {
            let (spec, _) = decoded?;
            let [input] = inputs else {
                return internal_err!("a top-n node has one input");
            };
            let node = TopNNode {
                input: input.clone(),
                spec: Arc::new(spec),
            };
            return Ok(Extension {
                node: Arc::new(node),
            });
        }
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        if let Some(t) = node.node.as_any().downcast_ref::<TransformNode>() {
            return t.spec.encode(t.schema.as_arrow(), buf);
        }
        if let Some(t) = node.node.as_any().downcast_ref::<TopNNode>() {
            return t.spec.encode(Phase::Final, buf);
        }
        if node.node.as_any().downcast_ref::<ZipNode>().is_some() {
            return plan_err!(
                "a zipped dataframe (ZIP) can only be read by TRANSFORM, OUTTRANSFORM or OUTPUT"
            );
        }
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match buf.split_first() {
            Some((&GENERATED, rest)) => {
                let node = PhysicalPlanNode::try_decode(rest)?;
                let plan = node.try_into_physical_plan(ctx, &DefaultPhysicalExtensionCodec {})?;
                Ok(Arc::new(PlanTable { schema, plan }))
            }
            Some((&BALLISTA, rest)) => self
                .inner
                .try_decode_table_provider(rest, table_ref, schema, ctx),
            _ => internal_err!("unknown table encoding for '{table_ref}'"),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(series) = node.downcast_ref::<GenerateSeriesTable>() {
            let generator = series.as_generator(GENERATOR_BATCH)?;
            let plan = Arc::new(LazyMemoryExec::try_new(series.schema(), vec![generator])?);
            let proto =
                PhysicalPlanNode::try_from_physical_plan(plan, &DefaultPhysicalExtensionCodec {})?;
            buf.push(GENERATED);
            return proto.try_encode(buf);
        }
        buf.push(BALLISTA);
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        match decode_udf(name, buf) {
            Some(udf) => udf,
            None => self.inner.try_decode_udf(name, buf),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        if !encode_udf(node, buf) {
            self.inner.try_encode_udf(node, buf)?;
        }
        Ok(())
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        if let Some(decoded) = WriteSpec::decode(buf) {
            let (spec, _) = decoded?;
            return Ok(Arc::new(WriteFormatFactory { spec }));
        }
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        if let Some(f) = node.downcast_ref::<WriteFormatFactory>() {
            return f.spec.encode(buf);
        }
        self.inner.try_encode_file_format(buf, node)
    }
}

/// fsql's physical extension codec: Ballista's, plus TRANSFORM, TAKE per
/// group, SAVE's CSV and JSON sinks and the PREDICT function.
#[derive(Debug, Default)]
pub struct FsqlPhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for FsqlPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(decoded) = TransformSpec::decode(buf) {
            let (spec, schema) = decoded?;
            let exec = TransformExec::try_new(inputs.to_vec(), Arc::new(spec), schema)?;
            return Ok(Arc::new(exec));
        }
        if let Some(decoded) = TopNSpec::decode(buf) {
            let (spec, phase) = decoded?;
            let [input] = inputs else {
                return internal_err!("a top-n node has one input");
            };
            let exec = TopNExec::try_new(Arc::clone(input), Arc::new(spec), phase)?;
            return Ok(Arc::new(exec));
        }
        if let Some(exec) = WriteSink::decode_exec(buf, inputs) {
            return exec;
        }
        self.inner.try_decode(buf, inputs, ctx, proto)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(t) = node.downcast_ref::<TransformExec>() {
            return t.spec().encode(&t.schema(), buf);
        }
        if let Some(t) = node.downcast_ref::<TopNExec>() {
            return t.spec().encode(t.phase(), buf);
        }
        if let Some(done) = WriteSink::encode_exec(node.as_ref(), buf) {
            return done;
        }
        self.inner.try_encode(node, buf, proto)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        match decode_udf(name, buf) {
            Some(udf) => udf,
            None => self.inner.try_decode_udf(name, buf),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        if !encode_udf(node, buf) {
            self.inner.try_encode_udf(node, buf)?;
        }
        Ok(())
    }
}

/// Writes a PREDICT function's model into `buf`; false for other functions.
fn encode_udf(node: &ScalarUDF, buf: &mut Vec<u8>) -> bool {
    // COMPARE MODELS' function carries nothing: its job is an argument.
    if crate::ml::compare::task::CompareUdf::is(node) {
        return true;
    }
    match PredictUdf::of(node) {
        Some(p) => {
            buf.extend_from_slice(p.bytes());
            true
        }
        None => false,
    }
}

/// A PREDICT function rebuilt from its model's bytes; None for other names.
fn decode_udf(name: &str, buf: &[u8]) -> Option<Result<Arc<ScalarUDF>>> {
    if name == crate::ml::compare::task::COMPARE {
        return Some(Ok(Arc::new(crate::ml::compare::task::CompareUdf::udf())));
    }
    Output::of_name(name)
        .map(|output| PredictUdf::from_bytes(buf, output).map(|p| Arc::new(p.into_udf())))
}

/// A table whose scan is a fixed physical plan (a decoded generator).
#[derive(Debug)]
struct PlanTable {
    schema: SchemaRef,
    plan: Arc<dyn ExecutionPlan>,
}

#[async_trait]
impl TableProvider for PlanTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(columns) = projection else {
            return Ok(self.plan.clone());
        };
        let exprs: Vec<(Arc<dyn datafusion::physical_expr::PhysicalExpr>, String)> = columns
            .iter()
            .map(|&i| {
                let name = self.schema.field(i).name().clone();
                (Arc::new(Column::new(&name, i)) as _, name)
            })
            .collect();
        Ok(Arc::new(ProjectionExec::try_new(exprs, self.plan.clone())?))
    }
}

//! [`TransformExec`]: the physical transform. It asks DataFusion for its
//! inputs partitioned by the keys (co-partitioned when zipped) and sorted by
//! keys then presort, so every key group is whole and contiguous inside one
//! partition. Each partition then runs on its own (a thread on `threads`, a
//! task on a cluster executor): it splits its rows into groups, matches the
//! groups of zipped inputs, and hands them to the transformer — a built-in
//! in this process, or one run of the external program.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, internal_err};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{
    EquivalenceProperties, LexRequirement, OrderingRequirements, PhysicalSortRequirement,
};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, Distribution, ExecutionPlan,
    ExecutionPlanProperties, InputDistributionRequirements, Partitioning, PhysicalExpr,
    PlanProperties, ReplaceChildrenOptions, SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};

use super::group::{groups, has_presort, sort_options};
use super::process;
use super::spec::{TransformSpec, Transformer, conform};
use crate::python::{self, Op};

#[derive(Debug)]
pub struct TransformExec {
    inputs: Vec<Arc<dyn ExecutionPlan>>,
    spec: Arc<TransformSpec>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl TransformExec {
    pub fn try_new(
        inputs: Vec<Arc<dyn ExecutionPlan>>,
        spec: Arc<TransformSpec>,
        schema: SchemaRef,
    ) -> Result<Self> {
        if inputs.is_empty() {
            return internal_err!("a transform needs an input");
        }
        let partitions = inputs[0].output_partitioning().partition_count();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Ok(Self {
            inputs,
            spec,
            schema,
            properties: Arc::new(properties),
        })
    }

    pub fn spec(&self) -> &TransformSpec {
        &self.spec
    }

    /// The key columns of input `i`.
    fn keys(&self, i: usize) -> Result<Vec<Arc<dyn PhysicalExpr>>> {
        let schema = self.inputs[i].schema();
        self.spec
            .keys
            .iter()
            .map(|k| Ok(Arc::new(Column::new(k, schema.index_of(k)?)) as _))
            .collect()
    }
}

impl DisplayAs for TransformExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "TransformExec: {}", self.spec.describe())
    }
}

impl ExecutionPlan for TransformExec {
    fn name(&self) -> &str {
        "TransformExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        self.input_distribution_requirements().into_per_child()
    }

    fn input_distribution_requirements(&self) -> InputDistributionRequirements {
        let n = self.inputs.len();
        if self.spec.keys.is_empty() {
            let d = if self.spec.chunks.is_some() {
                Distribution::UnspecifiedDistribution
            } else {
                Distribution::SinglePartition
            };
            return InputDistributionRequirements::new(vec![d; n]);
        }
        let per_child: Vec<Distribution> = (0..n)
            .map(|i| match self.keys(i) {
                Ok(k) => Distribution::KeyPartitioned(k),
                Err(_) => Distribution::SinglePartition,
            })
            .collect();
        if n > 1 {
            InputDistributionRequirements::co_partitioned(per_child)
        } else {
            InputDistributionRequirements::new(per_child)
        }
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        (0..self.inputs.len())
            .map(|i| {
                if !has_presort(&self.spec, i) {
                    // Key groups are formed by hashing (see `grouped`).
                    return None;
                }
                let schema = self.inputs[i].schema();
                let keys = self.spec.keys.iter().map(|k| (k.as_str(), true));
                let presort = self
                    .spec
                    .presort
                    .get(i)
                    .into_iter()
                    .flatten()
                    .map(|(c, asc)| (c.as_str(), *asc));
                let reqs = keys.chain(presort).filter_map(|(c, asc)| {
                    let idx = schema.index_of(c).ok()?;
                    Some(PhysicalSortRequirement::new(
                        Arc::new(Column::new(c, idx)),
                        Some(sort_options(asc)),
                    ))
                });
                LexRequirement::new(reqs).map(OrderingRequirements::new)
            })
            .collect()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![false; self.inputs.len()]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![!self.spec.keys.is_empty(); self.inputs.len()]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        self.inputs.iter().collect()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(TransformExec::try_new(
            children,
            Arc::clone(&self.spec),
            Arc::clone(&self.schema),
        )?))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let counts: Vec<usize> = self
            .inputs
            .iter()
            .map(|i| i.output_partitioning().partition_count())
            .collect();
        if counts.iter().any(|&c| c != counts[0]) {
            return internal_err!("zipped inputs are not co-partitioned: {counts:?} partitions");
        }
        let streams = self
            .inputs
            .iter()
            .map(|i| i.execute(partition, Arc::clone(&context)))
            .collect::<Result<Vec<_>>>()?;
        let spec = Arc::clone(&self.spec);
        let schema = Arc::clone(&self.schema);
        let out_schema = Arc::clone(&schema);
        // Dropping the stream (a cancelled or finished query) stops the program.
        let cancelled = Arc::new(AtomicBool::new(false));
        let on_drop = CancelOnDrop(Arc::clone(&cancelled));
        let fut = async move {
            let _on_drop = on_drop;
            let n_inputs = streams.len();
            let mut inputs = Vec::with_capacity(n_inputs);
            // A program starts with the partition's first row, so its
            // start-up (an interpreter, imports) overlaps reading the rest.
            let mut started = None;
            for mut s in streams {
                let s_schema = s.schema();
                let mut batches = Vec::new();
                while let Some(batch) = s.next().await {
                    let batch = batch?;
                    if batch.num_rows() > 0
                        && started.is_none()
                        && let Transformer::Program(p) = &spec.transformer
                    {
                        let st = process::start(p, &keys_json(&spec), n_inputs, !spec.discard)
                            .map_err(|e| {
                                DataFusionError::Execution(format!("{}: {e}", spec.label))
                            })?;
                        started = Some(st);
                    }
                    batches.push(batch);
                }
                let batch = concat_batches(&s_schema, &batches)?;
                inputs.push(match spec.transformer {
                    Transformer::Program(_) | Transformer::Python(_) => portable(batch)?,
                    Transformer::Builtin(_) => batch,
                });
            }
            let out = tokio::task::spawn_blocking(move || {
                run(&spec, inputs, &out_schema, &cancelled, started)
            })
            .await
            .map_err(|e| DataFusionError::External(e.into()))??;
            Ok::<_, DataFusionError>(futures::stream::iter(out.into_iter().map(Ok)))
        };
        let stream = futures::stream::once(fut).try_flatten().boxed();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// String and binary view columns (DataFusion's in-memory layout for text
/// read from files) as plain Utf8 / Binary, which every Arrow library reads.
pub(crate) fn portable(batch: RecordBatch) -> Result<RecordBatch> {
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| is_view(f.data_type())) {
        return Ok(batch);
    }
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        let t = base_type(f.data_type());
        columns.push(cast(c, &t)?);
        fields.push(f.as_ref().clone().with_data_type(t));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

fn is_view(t: &DataType) -> bool {
    matches!(t, DataType::Utf8View | DataType::BinaryView)
}

/// `schema` with plain text and binary types, every column nullable: what
/// a Python function is asked to return.
pub(crate) fn portable_schema(schema: &Schema) -> Schema {
    Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                f.as_ref()
                    .clone()
                    .with_data_type(base_type(f.data_type()))
                    .with_nullable(true)
            })
            .collect::<Vec<_>>(),
    )
}

/// The type a view type is a layout of (others unchanged).
pub(crate) fn base_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        other => other.clone(),
    }
}

/// Sets its flag when dropped.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, AtomicOrdering::Relaxed);
    }
}

/// One partition: groups, transformer, output in the declared schema.
fn run(
    spec: &TransformSpec,
    inputs: Vec<RecordBatch>,
    schema: &SchemaRef,
    cancelled: &AtomicBool,
    started: Option<process::Started>,
) -> Result<Vec<RecordBatch>> {
    let fail = |m: String| DataFusionError::Execution(format!("{}: {m}", spec.label));
    let (inputs, groups) = groups(spec, inputs)?;
    match &spec.transformer {
        Transformer::Builtin(b) => {
            let natural = Arc::new(b.output_schema(&inputs[0].schema()).map_err(&fail)?);
            let mut out = Vec::with_capacity(groups.len());
            for g in &groups {
                let at = |e: String| fail(format!("{e} (group {})", g.key));
                let batch = b.apply(&g.frames[0], &natural).map_err(at)?;
                if !spec.discard {
                    out.push(conform(&batch, schema).map_err(at)?);
                }
            }
            Ok(out)
        }
        Transformer::Program(_) | Transformer::Python(_) => {
            let keys: Vec<String> = groups.iter().map(|g| g.key.clone()).collect();
            let answers = match (&spec.transformer, started) {
                (Transformer::Python(f), _) => {
                    let (op, wanted) = if spec.discard {
                        (Op::OutTransform, None)
                    } else {
                        (Op::Transform, Some(portable_schema(schema)))
                    };
                    python::run(f, op, wanted.as_ref(), groups, cancelled)
                }
                (_, Some(st)) => st.finish(groups, cancelled),
                (Transformer::Program(p), None) => {
                    process::run(p, &keys_json(spec), groups, !spec.discard, cancelled)
                }
                (Transformer::Builtin(_), None) => unreachable!("handled above"),
            }
            .map_err(fail)?;
            let mut out = Vec::new();
            for (batches, key) in answers.into_iter().zip(keys) {
                for b in batches {
                    let at = |e: String| {
                        fail(if key.is_empty() {
                            e
                        } else {
                            format!("{e} (group {key})")
                        })
                    };
                    out.push(conform(&b, schema).map_err(at)?);
                }
            }
            Ok(out)
        }
    }
}

/// The key columns as JSON, for the program's environment.
fn keys_json(spec: &TransformSpec) -> String {
    serde_json::to_string(&spec.keys).expect("strings serialize")
}

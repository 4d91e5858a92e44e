//! Compact string-view columns before an executor writes them to a shuffle
//! file.
//!
//! A `Utf8View` column made by a join or a filter points into the data
//! buffers of the batch it came from, often the whole build side of a join.
//! Arrow IPC writes every buffer a column references, so each output batch
//! carried all of them: the 1.5 million rows of customer ⋈ orders in TPC-H
//! q18 became 1.7 GB of shuffle files, written once and read by every task
//! that broadcast them. Ballista's sort shuffle compacts the batches it
//! writes; its pass-through writer (`ShuffleWriterExec`, used for broadcast
//! build sides, the last stage and every stage that keeps its partitioning)
//! does not. [`CompactingEngine`] puts [`CompactViewsExec`] under that
//! writer on the executor, where the plan is no longer shipped anywhere.

use std::fmt;
use std::sync::Arc;

use ballista_core::JobId;
use ballista_core::execution_plans::ShuffleWriterExec;
use ballista_executor::execution_engine::{ExecutionEngine, QueryStageExecutor};
use datafusion::arrow::array::{Array, ArrayRef, BinaryViewArray, StringViewArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, internal_err};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, PhysicalExpr,
    PlanProperties, ReplaceChildrenOptions, SendableRecordBatchStream,
};
use datafusion::prelude::SessionConfig;
use futures::StreamExt;

/// An executor's [`ExecutionEngine`] that compacts view columns under every
/// pass-through shuffle writer, then runs the stage as `inner` would.
pub(crate) struct CompactingEngine {
    inner: Arc<dyn ExecutionEngine>,
}

impl CompactingEngine {
    pub(crate) fn new(inner: Arc<dyn ExecutionEngine>) -> Self {
        Self { inner }
    }
}

impl ExecutionEngine for CompactingEngine {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> Result<Arc<dyn QueryStageExecutor>> {
        self.inner.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            compact_writer_input(plan)?,
            work_dir,
            config,
        )
    }
}

/// `plan` with [`CompactViewsExec`] under its root when the root is a
/// pass-through shuffle writer whose rows have view columns.
fn compact_writer_input(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    if plan.downcast_ref::<ShuffleWriterExec>().is_none() {
        return Ok(plan);
    }
    let [input] = plan.children()[..] else {
        return Ok(plan);
    };
    if !input
        .schema()
        .fields()
        .iter()
        .any(|f| is_view(f.data_type()))
    {
        return Ok(plan);
    }
    let compact = Arc::new(CompactViewsExec::new(Arc::clone(input)));
    plan.replace_children(
        vec![compact],
        ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
    )
}

fn is_view(t: &DataType) -> bool {
    matches!(t, DataType::Utf8View | DataType::BinaryView)
}

/// Passes its input through, with each view column copied into buffers of
/// its own when it references much more data than it uses.
#[derive(Debug)]
pub(crate) struct CompactViewsExec {
    input: Arc<dyn ExecutionPlan>,
}

impl CompactViewsExec {
    pub(crate) fn new(input: Arc<dyn ExecutionPlan>) -> Self {
        Self { input }
    }
}

impl DisplayAs for CompactViewsExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "CompactViewsExec")
    }
}

impl ExecutionPlan for CompactViewsExec {
    fn name(&self) -> &str {
        "CompactViewsExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return internal_err!("CompactViewsExec has one input");
        }
        Ok(Arc::new(Self::new(children.swap_remove(0))))
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
        let input = self.input.execute(partition, context)?;
        let schema = input.schema();
        let stream = input.map(|batch| compact(batch?));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// `batch` with every sparse view column compacted.
fn compact(batch: RecordBatch) -> Result<RecordBatch> {
    let mut changed = false;
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| {
            let compacted: Option<ArrayRef> =
                if let Some(a) = c.as_any().downcast_ref::<StringViewArray>() {
                    sparse(a.views(), a.data_buffers()).then(|| Arc::new(a.gc()) as _)
                } else if let Some(a) = c.as_any().downcast_ref::<BinaryViewArray>() {
                    sparse(a.views(), a.data_buffers()).then(|| Arc::new(a.gc()) as _)
                } else {
                    None
                };
            changed |= compacted.is_some();
            compacted.unwrap_or_else(|| Arc::clone(c))
        })
        .collect();
    if !changed {
        return Ok(batch);
    }
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// Whether the data buffers hold more than twice the bytes the views use
/// (strings of up to 12 bytes live in the view itself). Null slots may
/// still point at data, which only makes compaction less likely.
fn sparse(views: &[u128], buffers: &[datafusion::arrow::buffer::Buffer]) -> bool {
    let held: usize = buffers.iter().map(|b| b.len()).sum();
    if held == 0 {
        return false;
    }
    let used: usize = views
        .iter()
        .map(|v| *v as u32 as usize)
        .filter(|&len| len > 12)
        .sum();
    held > 2 * used.max(1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringViewArray;
    use datafusion::arrow::array::UInt32Array;
    use datafusion::arrow::compute::take;
    use datafusion::arrow::datatypes::{Field, Schema};

    fn batch_of(column: ArrayRef) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8View, true)]));
        RecordBatch::try_new(schema, vec![column]).unwrap()
    }

    fn held(batch: &RecordBatch) -> usize {
        let a = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringViewArray>()
            .unwrap();
        a.data_buffers().iter().map(|b| b.len()).sum()
    }

    #[test]
    fn a_few_rows_taken_from_a_big_column_are_copied_out() {
        let big: StringViewArray = (0..10_000)
            .map(|i| Some(format!("a string longer than twelve bytes {i}")))
            .collect();
        let few = take(&big, &UInt32Array::from(vec![3, 9_999, 42]), None).unwrap();
        let before = batch_of(few);
        let after = compact(before.clone()).unwrap();
        assert!(held(&before) > 300_000);
        assert!(held(&after) < 200, "still holds {} bytes", held(&after));
        assert_eq!(before, after);
    }

    #[test]
    fn dense_and_inline_columns_are_left_as_they_are() {
        let dense: StringViewArray = (0..1_000)
            .map(|i| Some(format!("a string longer than twelve bytes {i}")))
            .collect();
        let batch = batch_of(Arc::new(dense));
        let after = compact(batch.clone()).unwrap();
        assert!(Arc::ptr_eq(batch.column(0), after.column(0)));

        let short: StringViewArray = (0..1_000).map(|i| Some(format!("s{i}"))).collect();
        let batch = batch_of(Arc::new(short));
        let after = compact(batch.clone()).unwrap();
        assert!(Arc::ptr_eq(batch.column(0), after.column(0)));
    }
}

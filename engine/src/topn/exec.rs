//! [`TopNExec`]: one phase (partial or final) of the top-n-per-group
//! operator. Each partition feeds its rows to an
//! [`Accumulator`](super::accumulate::Accumulator) and emits what it kept.

use std::fmt;
use std::sync::Arc;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, internal_err};
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::MemoryConsumer;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, Distribution, ExecutionPlan,
    ExecutionPlanProperties, PhysicalExpr, PlanProperties, ReplaceChildrenOptions,
    SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::TopNSpec;
use super::accumulate::Accumulator;

/// Partial runs on each input partition as it comes; final on the rows
/// repartitioned by the keys, so each group is whole in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Partial,
    Final,
}

#[derive(Debug)]
pub struct TopNExec {
    input: Arc<dyn ExecutionPlan>,
    spec: Arc<TopNSpec>,
    phase: Phase,
    properties: Arc<PlanProperties>,
}

impl TopNExec {
    pub fn try_new(
        input: Arc<dyn ExecutionPlan>,
        spec: Arc<TopNSpec>,
        phase: Phase,
    ) -> Result<Self> {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(input.schema()),
            // Rows stay in their partition, so a partitioning by keys holds.
            input.output_partitioning().clone(),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Ok(Self {
            input,
            spec,
            phase,
            properties: Arc::new(properties),
        })
    }

    pub fn spec(&self) -> &TopNSpec {
        &self.spec
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }
}

impl DisplayAs for TopNExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "TopNPerGroupExec: {:?} {}",
            self.phase,
            self.spec.describe()
        )
    }
}

impl ExecutionPlan for TopNExec {
    fn name(&self) -> &str {
        "TopNPerGroupExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        if self.phase == Phase::Partial {
            return vec![Distribution::UnspecifiedDistribution];
        }
        let schema = self.input.schema();
        let keys: Result<Vec<Arc<dyn PhysicalExpr>>> = self
            .spec
            .keys
            .iter()
            .map(|k| Ok(Arc::new(Column::new(k, schema.index_of(k)?)) as _))
            .collect();
        match keys {
            Ok(k) => vec![Distribution::KeyPartitioned(k)],
            Err(_) => vec![Distribution::SinglePartition],
        }
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![false]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
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
            return internal_err!("TopNPerGroupExec has one input");
        }
        Ok(Arc::new(TopNExec::try_new(
            children.swap_remove(0),
            Arc::clone(&self.spec),
            self.phase,
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
        let mut input = self.input.execute(partition, Arc::clone(&context))?;
        let schema = self.input.schema();
        let batch_size = context.session_config().batch_size();
        let reservation = MemoryConsumer::new(format!("TopNPerGroupExec[{partition}]"))
            .register(context.memory_pool());
        let mut acc = Accumulator::try_new(&self.spec, &schema, reservation)?;
        let fut = async move {
            while let Some(batch) = input.next().await {
                acc.push(batch?)?;
            }
            let out = acc.finish(batch_size)?;
            Ok::<_, DataFusionError>(futures::stream::iter(out.into_iter().map(Ok)))
        };
        let stream = futures::stream::once(fut).try_flatten().boxed();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

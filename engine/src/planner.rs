//! fsql's query planner: DataFusion's physical planner plus fsql's own plan
//! nodes (TRANSFORM and ZIP from `transform`, the top-n-per-group TAKE from
//! `topn`). Every fsql state plans with it: the local engines and the
//! cluster's scheduler.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::{Result, plan_err};
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::{LogicalPlan, UserDefinedLogicalNode};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};

use crate::topn::{self, TopNNode};
use crate::transform::exec::TransformExec;
use crate::transform::node::{TransformNode, ZipNode};

#[derive(Debug, Default)]
pub(crate) struct FsqlQueryPlanner;

#[async_trait]
impl QueryPlanner for FsqlQueryPlanner {
    async fn create_physical_plan(
        &self,
        plan: &LogicalPlan,
        session: &dyn datafusion::catalog::Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalPlanner::with_extension_planners(vec![Arc::new(FsqlNodes)])
            .create_physical_plan(plan, session)
            .await
    }
}

struct FsqlNodes;

#[async_trait]
impl ExtensionPlanner for FsqlNodes {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        session: &dyn datafusion::catalog::Session,
        _ctx: &datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        if let Some(t) = node.as_any().downcast_ref::<TransformNode>() {
            let schema = Arc::new(t.schema.as_arrow().clone());
            let exec =
                TransformExec::try_new(physical_inputs.to_vec(), Arc::clone(&t.spec), schema)?;
            return Ok(Some(Arc::new(exec)));
        }
        if let Some(t) = node.as_any().downcast_ref::<TopNNode>() {
            let partitions = session.config().target_partitions();
            return topn::plan(t, Arc::clone(&physical_inputs[0]), partitions).map(Some);
        }
        if node.as_any().downcast_ref::<ZipNode>().is_some() {
            return plan_err!(
                "a zipped dataframe (ZIP) can only be read by TRANSFORM, OUTTRANSFORM or OUTPUT"
            );
        }
        Ok(None)
    }
}

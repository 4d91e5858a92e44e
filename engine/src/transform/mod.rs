//! Partition-wise user code: TRANSFORM, OUTTRANSFORM, OUTPUT and ZIP.
//!
//! A TRANSFORM is a logical plan node ([`node::TransformNode`]) over its
//! input(s), planned by [`FsqlQueryPlanner`] into [`exec::TransformExec`],
//! which DataFusion feeds partitioned by the keys and sorted by keys and
//! presort. Every engine runs the same node: `local` in one partition,
//! `threads` one partition per core, `cluster` on the executors (both
//! Ballista codecs carry the node; see `cluster/codec.rs`).
//!
//! - `spec`: what to run, serializable; output conformance.
//! - `builtin`: the built-in transformers.
//! - `process`: the external-program protocol (Arrow IPC over pipes).
//! - `node`, `exec`: the logical and physical nodes.
//! - `group`: a partition's rows as key groups; matching zipped groups.

pub(crate) mod builtin;
pub(crate) mod exec;
pub(crate) mod group;
pub(crate) mod node;
pub(crate) mod process;
pub(crate) mod spec;

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::{Result, plan_err};
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::{LogicalPlan, UserDefinedLogicalNode};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};

use exec::TransformExec;
use node::{TransformNode, ZipNode};

/// DataFusion's planner plus fsql's plan nodes. Every fsql state (local
/// engines, the cluster's scheduler) plans with it.
#[derive(Debug, Default)]
pub(crate) struct FsqlQueryPlanner;

#[async_trait]
impl QueryPlanner for FsqlQueryPlanner {
    async fn create_physical_plan(
        &self,
        plan: &LogicalPlan,
        session: &dyn datafusion::catalog::Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalPlanner::with_extension_planners(vec![Arc::new(TransformPlanner)])
            .create_physical_plan(plan, session)
            .await
    }
}

struct TransformPlanner;

#[async_trait]
impl ExtensionPlanner for TransformPlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        _session: &dyn datafusion::catalog::Session,
        _ctx: &datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        if let Some(t) = node.as_any().downcast_ref::<TransformNode>() {
            let schema = Arc::new(t.schema.as_arrow().clone());
            let exec =
                TransformExec::try_new(physical_inputs.to_vec(), Arc::clone(&t.spec), schema)?;
            return Ok(Some(Arc::new(exec)));
        }
        if node.as_any().downcast_ref::<ZipNode>().is_some() {
            return plan_err!(
                "a zipped dataframe (ZIP) can only be read by TRANSFORM, OUTTRANSFORM or OUTPUT"
            );
        }
        Ok(None)
    }
}

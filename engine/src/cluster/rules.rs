//! Physical rules for plans that run on Ballista, run after DataFusion's
//! own on the scheduler. Each works around a way a plan that is right in one
//! process goes wrong once Ballista cuts it into stages.
//!
//! - [`KeepMemoryLimits`]: DataFusion pushes `LIMIT n` into an in-memory
//!   scan (VALUES, inline CREATE data) as the scan's `fetch`. On Ballista 55
//!   that fetch is lost on the way to the executors and every row comes back
//!   (`SELECT * FROM (VALUES (1),(2),(3)) LIMIT 1` returned 3 rows). The rule
//!   moves the fetch back out into a limit operator, which is kept.
//! - [`SortWindowPartitions`]: when a filter makes the PARTITION BY key of a
//!   window constant (`WHERE name = 'a' ... PARTITION BY name`), DataFusion
//!   sorts only by the ORDER BY columns. After a shuffle the executor no
//!   longer knows the key is constant and the window fails ("Expects
//!   PARTITION BY expression to be ordered"). The rule sorts by the key too,
//!   which changes no result.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::source::{DataSource, DataSourceExec};
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::execution_plan::replace_children_if_necessary;
use datafusion::physical_plan::limit::LocalLimitExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::windows::BoundedWindowAggExec;

#[derive(Debug)]
pub(crate) struct KeepMemoryLimits;

impl PhysicalOptimizerRule for KeepMemoryLimits {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(scan) = node.downcast_ref::<DataSourceExec>() else {
                return Ok(Transformed::no(node));
            };
            let Some(memory) = scan.data_source().downcast_ref::<MemorySourceConfig>() else {
                return Ok(Transformed::no(node));
            };
            let Some(fetch) = memory.fetch() else {
                return Ok(Transformed::no(node));
            };
            // The scan's fetch limits each partition: so does a local limit.
            let unlimited = DataSourceExec::from_data_source(memory.clone().with_limit(None));
            Ok(Transformed::yes(Arc::new(LocalLimitExec::new(
                unlimited, fetch,
            ))))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "fsql_keep_memory_limits"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[derive(Debug)]
pub(crate) struct SortWindowPartitions;

impl PhysicalOptimizerRule for SortWindowPartitions {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(window) = node.downcast_ref::<BoundedWindowAggExec>() else {
                return Ok(Transformed::no(node));
            };
            let Some(sort) = window.input().downcast_ref::<SortExec>() else {
                return Ok(Transformed::no(node));
            };
            let keys = window.partition_keys();
            let sorted: Vec<_> = sort.expr().iter().map(|e| e.expr.clone()).collect();
            let missing: Vec<_> = keys
                .iter()
                .filter(|k| !sorted.iter().any(|s| s.eq(*k)))
                .cloned()
                .collect();
            if missing.is_empty() {
                return Ok(Transformed::no(node));
            }
            let mut exprs: Vec<PhysicalSortExpr> = missing
                .into_iter()
                .map(PhysicalSortExpr::new_default)
                .collect();
            exprs.extend(sort.expr().iter().cloned());
            let Some(ordering) = LexOrdering::new(exprs) else {
                return Ok(Transformed::no(node));
            };
            let new_sort = SortExec::new(ordering, sort.input().clone())
                .with_preserve_partitioning(sort.preserve_partitioning())
                .with_fetch(sort.fetch());
            let rebuilt = replace_children_if_necessary(node.clone(), vec![Arc::new(new_sort)])?;
            Ok(Transformed::yes(rebuilt))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "fsql_sort_window_partitions"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

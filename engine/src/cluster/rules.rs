//! Physical rules for plans that run on Ballista, run after DataFusion's
//! own on the scheduler. Each works around a way a plan that is right in one
//! process goes wrong once Ballista cuts it into stages.
//!
//! - [`KeepMemoryLimits`]: DataFusion pushes `LIMIT n` into an in-memory
//!   scan (VALUES, inline CREATE data) as the scan's `fetch`. On Ballista 55
//!   that fetch is lost on the way to the executors and every row comes back
//!   (`SELECT * FROM (VALUES (1),(2),(3)) LIMIT 1` returned 3 rows). The rule
//!   moves the fetch back out into a limit operator, which is kept.
//! - [`SortWindowPartitions`]: when a filter makes the PARTITION BY (or
//!   ORDER BY) key of a window constant (`WHERE name = 'a' ... PARTITION BY
//!   name`), DataFusion sorts only by the other keys, or not at all. After a
//!   shuffle the executor no longer knows the key is constant and the window
//!   fails ("Expects PARTITION BY expression to be ordered", "All partition
//!   by columns should have an ordering"). The rule sorts by every key the
//!   window requires that the input's own order does not give, which
//!   changes no result.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::source::{DataSource, DataSourceExec};
use datafusion::physical_expr::{EquivalenceProperties, LexOrdering, PhysicalSortExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::execution_plan::replace_children_if_necessary;
use datafusion::physical_plan::limit::LocalLimitExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::windows::{BoundedWindowAggExec, WindowAggExec};
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};

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
            if !(node.is::<BoundedWindowAggExec>() || node.is::<WindowAggExec>()) {
                return Ok(Transformed::no(node));
            }
            let Some(required) = node.required_input_ordering().into_iter().next().flatten() else {
                return Ok(Transformed::no(node));
            };
            let input = node.children()[0].clone();
            // What the input's own sort order gives, without the constants
            // a filter below may have made (they do not cross a shuffle).
            let explicit = EquivalenceProperties::new_with_orderings(
                input.schema(),
                input.output_ordering().into_iter().cloned(),
            );
            let required = required.into_single();
            if explicit.ordering_satisfy_requirement(required.clone())? {
                return Ok(Transformed::no(node));
            }
            let exprs: Vec<PhysicalSortExpr> = required
                .into_iter()
                .map(|r| PhysicalSortExpr::new(r.expr, r.options.unwrap_or_default()))
                .collect();
            let Some(ordering) = LexOrdering::new(exprs) else {
                return Ok(Transformed::no(node));
            };
            // An existing sort is replaced by one by every key; otherwise a
            // sort goes on top of the input, in each partition.
            let new_sort = match input.downcast_ref::<SortExec>() {
                Some(sort) => SortExec::new(ordering, sort.input().clone())
                    .with_preserve_partitioning(sort.preserve_partitioning())
                    .with_fetch(sort.fetch()),
                None => SortExec::new(ordering, input.clone())
                    .with_preserve_partitioning(input.output_partitioning().partition_count() > 1),
            };
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

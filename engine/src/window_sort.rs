//! Windows get the sort they require, even on a key a filter made constant.
//!
//! When a filter fixes a window's PARTITION BY (or ORDER BY) key to one
//! value (`WHERE name = 'a' ... PARTITION BY name`, `WHERE k + k = k`),
//! DataFusion sorts by the other keys only, or not at all, trusting the
//! constant. The window then failed: on the cluster after a shuffle, where
//! the executor no longer knows the key is constant ("Expects PARTITION BY
//! expression to be ordered"), and on every engine for some filters
//! ("All partition by columns should have an ordering"; both found by the
//! differential fuzzer). [`SortWindowPartitions`] sorts by every key the
//! window requires that its input's own order does not give, which changes
//! no result.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::physical_expr::{EquivalenceProperties, LexOrdering, PhysicalSortExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::InputOrderMode;
use datafusion::physical_plan::execution_plan::replace_children_if_necessary;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::windows::{
    BoundedWindowAggExec, WindowAggExec, get_ordered_partition_by_indices,
};
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};

#[derive(Debug)]
pub(crate) struct SortWindowPartitions;

impl PhysicalOptimizerRule for SortWindowPartitions {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            // The partition keys, and whether the window needs them in order.
            let (partition_by, sorted) = if let Some(w) = node.downcast_ref::<WindowAggExec>() {
                (w.window_expr()[0].partition_by().to_vec(), true)
            } else if let Some(w) = node.downcast_ref::<BoundedWindowAggExec>() {
                (
                    w.window_expr()[0].partition_by().to_vec(),
                    matches!(w.input_order_mode, InputOrderMode::Sorted),
                )
            } else {
                return Ok(Transformed::no(node));
            };
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
            // At stake: a key the input holds constant (equivalences and
            // orderings DataFusion relies on otherwise stay true across a
            // shuffle), or partition keys the window itself will not find
            // in order when it runs (a sort on `k + k` where a filter made
            // `k + k = k`: "All partition by columns should have an
            // ordering" on every engine).
            let properties = input.equivalence_properties();
            let constant = required
                .iter()
                .any(|r| properties.is_expr_constant(&r.expr).is_some());
            let unordered = sorted
                && get_ordered_partition_by_indices(&partition_by, &input)?.len()
                    < partition_by.len();
            if !constant && !unordered {
                return Ok(Transformed::no(node));
            }
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

//! Which hash joins the cluster broadcasts, decided before DataFusion places
//! its exchanges.
//!
//! Ballista broadcasts a join's build side when it is under
//! `ballista.optimizer.broadcast_join_threshold_bytes`, but it decides while
//! cutting the finished plan into stages: by then DataFusion has already
//! hash-partitioned both inputs for a partitioned join. Ballista keeps those
//! exchanges, so a broadcast join cost two extra stages: the build side was
//! shuffled by key and then written again for the broadcast, and the probe
//! side (often the biggest table) was shuffled for nothing. TPC-H q02 had 26
//! stages.
//!
//! [`PlanBroadcastJoins`] runs right after DataFusion's join selection and
//! makes the same decision with the same statistics and threshold, so the
//! exchanges DataFusion then inserts are the ones a broadcast join needs:
//! none on the probe side and one collect on the build side. Ballista's
//! planner finds each join already in the mode it would pick and leaves it
//! alone. That matters for correctness too: when Ballista changes a join's
//! mode itself it does not replan the operators above it (see
//! `crate::cluster::config`).

use std::sync::Arc;

use ballista_core::config::BallistaConfig;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::JoinType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, Statistics};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::StatisticsArgs;
use datafusion::physical_plan::joins::{HashJoinExec, PartitionMode};
use datafusion::physical_plan::statistics::StatisticsContext;

/// Chooses broadcast (`CollectLeft`) or partitioned for every hash join the
/// way Ballista's distributed planner would, before exchanges are placed.
#[derive(Debug)]
pub(crate) struct PlanBroadcastJoins;

impl PhysicalOptimizerRule for PlanBroadcastJoins {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let threshold = config
            .extensions
            .get::<BallistaConfig>()
            .map(|c| c.broadcast_join_threshold_bytes())
            .unwrap_or_else(|| BallistaConfig::default().broadcast_join_threshold_bytes());
        plan.transform_up(|node| {
            let Some(join) = node.downcast_ref::<HashJoinExec>() else {
                return Ok(Transformed::no(node));
            };
            // Ballista runs these as one task whatever their mode.
            if join.null_aware {
                return Ok(Transformed::no(node));
            }
            let new = match choose(join, threshold) {
                Choice::SwapAndBroadcast => join.swap_inputs(PartitionMode::CollectLeft)?,
                Choice::Keep(mode) if mode == *join.partition_mode() => {
                    return Ok(Transformed::no(node));
                }
                Choice::Keep(mode) => Arc::new(join.builder().with_partition_mode(mode).build()?),
            };
            Ok(Transformed::yes(new))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "fsql_plan_broadcast_joins"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Choice {
    /// Keep the inputs where they are, in this mode: `CollectLeft`
    /// broadcasts the left (build) side, `Partitioned` hash-partitions both.
    Keep(PartitionMode),
    /// Swap the inputs, then broadcast the new left side.
    SwapAndBroadcast,
}

/// Ballista's choice for a partitioned join, applied to every join: the
/// smaller of the sides under the threshold is the build side, and only if
/// the join type lets each probe task join against a copy of it.
fn choose(join: &HashJoinExec, threshold: usize) -> Choice {
    let partitioned = Choice::Keep(PartitionMode::Partitioned);
    if threshold == 0 {
        return partitioned;
    }
    let (left, right) = (join.left(), join.right());
    // Each side's statistics once; a side without them is not broadcast.
    let args = StatisticsArgs::new();
    let left_stats = StatisticsContext::new().compute(&**left, &args).ok();
    let right_stats = StatisticsContext::new().compute(&**right, &args).ok();
    let under = |stats: &Option<Arc<Statistics>>, plan: &Arc<dyn ExecutionPlan>| {
        stats
            .as_deref()
            .and_then(|s| under_threshold(s, plan, threshold))
            == Some(true)
    };
    let swap = match (under(&left_stats, left), under(&right_stats, right)) {
        (false, false) => return partitioned,
        (true, true) => match (left_stats.as_deref(), right_stats.as_deref()) {
            (Some(l), Some(r)) => bigger(l, r),
            _ => false,
        },
        (_, right_under) => right_under,
    };
    let join_type = *join.join_type();
    if !swap && broadcast_safe(join_type) {
        Choice::Keep(PartitionMode::CollectLeft)
    } else if swap && join_type.supports_swap() && broadcast_safe(join_type.swap()) {
        Choice::SwapAndBroadcast
    } else {
        partitioned
    }
}

/// Join types whose output comes from the probe side only, so each probe
/// task can join against a copy of the whole build side (Ballista's rule).
fn broadcast_safe(join_type: JoinType) -> bool {
    matches!(
        join_type,
        JoinType::Inner
            | JoinType::Right
            | JoinType::RightSemi
            | JoinType::RightAnti
            | JoinType::RightMark
    )
}

/// Whether `plan`'s output is known to be under `threshold` bytes: Ballista's
/// own test (byte statistics, else rows times an estimated row width), so
/// both planners agree on every join.
fn under_threshold(
    stats: &Statistics,
    plan: &Arc<dyn ExecutionPlan>,
    threshold: usize,
) -> Option<bool> {
    if let Some(bytes) = stats.total_byte_size.get_value()
        && *bytes != 0
    {
        return Some(*bytes < threshold);
    }
    let rows = *stats.num_rows.get_value()?;
    if rows == 0 {
        return None;
    }
    let row_bytes: usize = plan
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Boolean | DataType::Int8 | DataType::UInt8 => 1,
            DataType::Int16 | DataType::UInt16 => 2,
            DataType::Int32 | DataType::UInt32 | DataType::Float32 | DataType::Date32 => 4,
            DataType::Int64 | DataType::UInt64 | DataType::Float64 | DataType::Date64 => 8,
            DataType::Decimal128(_, _) => 16,
            DataType::Decimal256(_, _) => 32,
            _ => 32,
        })
        .sum();
    Some(rows * row_bytes.max(8) < threshold)
}

/// Ballista's (and DataFusion's) size comparison: bytes when both sides
/// know them, else rows.
fn bigger(l: &Statistics, r: &Statistics) -> bool {
    match (l.total_byte_size.get_value(), r.total_byte_size.get_value()) {
        (Some(l), Some(r)) => l > r,
        _ => match (l.num_rows.get_value(), r.num_rows.get_value()) {
            (Some(l), Some(r)) => l > r,
            _ => false,
        },
    }
}

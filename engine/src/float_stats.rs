//! Float statistics are never taken as exact.
//!
//! Parquet leaves NaN out of a column chunk's min and max (the format says
//! so, and every writer follows it). DataFusion 55 reads a file whose float
//! column has min = max and no NULLs as a constant column and returns that
//! value for every row, so a file holding `[NaN, 2.5]` read back as
//! `[2.5, 2.5]`. This rule, the first of every fsql physical optimizer,
//! marks the min and max of float columns in every file scan's statistics
//! as inexact, which keeps them for pruning and join planning but out of
//! every shortcut that takes exact statistics as the data (the constant
//! column, and aggregates answered from statistics).

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue, Statistics};
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;

#[derive(Debug)]
pub(crate) struct InexactFloatStats;

impl PhysicalOptimizerRule for InexactFloatStats {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        map_file_scans(plan, relaxed)
    }

    fn name(&self) -> &str {
        "fsql_inexact_float_stats"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `plan` with every file scan's configuration replaced by what `f` makes
/// of it (None: the scan stays as it is).
pub(crate) fn map_file_scans(
    plan: Arc<dyn ExecutionPlan>,
    f: impl Fn(&FileScanConfig) -> Option<FileScanConfig>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let Some(scan) = node.downcast_ref::<DataSourceExec>() else {
            return Ok(Transformed::no(node));
        };
        let Some(files) = scan.data_source().downcast_ref::<FileScanConfig>() else {
            return Ok(Transformed::no(node));
        };
        match f(files) {
            Some(config) => Ok(Transformed::yes(DataSourceExec::from_data_source(config))),
            None => Ok(Transformed::no(node)),
        }
    })
    .map(|t| t.data)
}

/// `config` with inexact float bounds, or None when nothing was exact.
fn relaxed(config: &FileScanConfig) -> Option<FileScanConfig> {
    let mut table = config.statistics();
    let mut changed = relax(&mut table);
    let groups: Vec<FileGroup> = config
        .file_groups
        .iter()
        .map(|group| {
            let files = group
                .iter()
                .map(|file| {
                    let mut file = file.clone();
                    if let Some(stats) = &file.statistics {
                        let mut stats = stats.as_ref().clone();
                        if relax(&mut stats) {
                            changed = true;
                            file.statistics = Some(Arc::new(stats));
                        }
                    }
                    file
                })
                .collect();
            let mut new_group = FileGroup::new(files);
            if let Some(stats) = group.file_statistics(None) {
                let mut stats = stats.clone();
                changed |= relax(&mut stats);
                new_group = new_group.with_statistics(Arc::new(stats));
            }
            new_group
        })
        .collect();
    changed.then(|| {
        FileScanConfigBuilder::from(config.clone())
            .with_file_groups(groups)
            .with_statistics(table)
            .build()
    })
}

/// Makes exact float bounds inexact; true when any were.
fn relax(stats: &mut Statistics) -> bool {
    let mut changed = false;
    for column in &mut stats.column_statistics {
        for bound in [&mut column.min_value, &mut column.max_value] {
            if let Precision::Exact(v) = bound
                && is_float(v)
            {
                *bound = Precision::Inexact(v.clone());
                changed = true;
            }
        }
    }
    changed
}

fn is_float(v: &ScalarValue) -> bool {
    matches!(
        v,
        ScalarValue::Float16(_) | ScalarValue::Float32(_) | ScalarValue::Float64(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::common::ColumnStatistics;

    #[test]
    fn only_float_bounds_become_inexact() {
        let mut stats = Statistics {
            num_rows: Precision::Exact(2),
            total_byte_size: Precision::Absent,
            column_statistics: vec![
                ColumnStatistics {
                    min_value: Precision::Exact(ScalarValue::Float64(Some(2.5))),
                    max_value: Precision::Exact(ScalarValue::Float64(Some(2.5))),
                    ..ColumnStatistics::new_unknown()
                },
                ColumnStatistics {
                    min_value: Precision::Exact(ScalarValue::Int64(Some(1))),
                    max_value: Precision::Exact(ScalarValue::Int64(Some(1))),
                    ..ColumnStatistics::new_unknown()
                },
            ],
        };
        assert!(relax(&mut stats));
        assert!(
            !stats.column_statistics[0]
                .min_value
                .is_exact()
                .unwrap_or(false)
        );
        assert!(
            !stats.column_statistics[0]
                .max_value
                .is_exact()
                .unwrap_or(false)
        );
        assert_eq!(
            stats.column_statistics[1].min_value,
            Precision::Exact(ScalarValue::Int64(Some(1)))
        );
        assert!(!relax(&mut stats));
    }
}

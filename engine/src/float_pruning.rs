//! Parquet files are never pruned by a condition on a float column.
//!
//! Parquet leaves NaN out of a column chunk's min and max, while DataFusion
//! (and DuckDB, and fsql's docs) order NaN above every number. DataFusion 55
//! prunes row groups and pages by those bounds, so `WHERE -0.0 < x` skipped a
//! row group whose numbers were all negative but which held a NaN: the NaN
//! row was missing from the answer (found by the differential fuzzer's
//! ternary logic partitioning; the same query over VALUES kept it).
//! [`FloatPredicatePruning`], the last physical rule, removes the conjuncts
//! that read a float column from each Parquet scan's pruning predicate. The
//! filter above the scan still applies them to every row; only the skipping
//! of whole row groups and pages on floats is lost.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::datasource::physical_plan::{FileScanConfig, FileScanConfigBuilder, ParquetSource};
use datafusion::physical_expr::utils::{collect_columns, conjunction, split_conjunction};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::expressions::lit;

#[derive(Debug)]
pub(crate) struct FloatPredicatePruning;

impl PhysicalOptimizerRule for FloatPredicatePruning {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        crate::float_stats::map_file_scans(plan, without_float_pruning)
    }

    fn name(&self) -> &str {
        "fsql_float_predicate_pruning"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `config` whose Parquet predicate no longer reads floats, or None when
/// there is nothing to change.
fn without_float_pruning(config: &FileScanConfig) -> Option<FileScanConfig> {
    let source = config.file_source().downcast_ref::<ParquetSource>()?;
    // With filter pushdown the predicate also filters rows, and the filter
    // above the scan is gone: it must stay whole. (fsql leaves it off.)
    if source.table_parquet_options().global.pushdown_filters {
        return None;
    }
    let predicate = datafusion::datasource::physical_plan::FileSource::filter(source)?;
    let schema = config.file_source().table_schema().table_schema().clone();
    let conjuncts = split_conjunction(&predicate);
    let kept: Vec<_> = conjuncts
        .iter()
        .filter(|c| !reads_a_float(c, &schema))
        .map(|c| Arc::clone(c))
        .collect();
    if kept.len() == conjuncts.len() {
        return None;
    }
    let predicate = if kept.is_empty() {
        lit(true)
    } else {
        conjunction(kept)
    };
    let source = Arc::new(source.with_predicate(predicate));
    Some(
        FileScanConfigBuilder::from(config.clone())
            .with_source(source)
            .build(),
    )
}

fn reads_a_float(expr: &Arc<dyn datafusion::physical_plan::PhysicalExpr>, schema: &Schema) -> bool {
    collect_columns(expr).iter().any(|c| {
        schema.field_with_name(c.name()).map_or(true, |f| {
            matches!(
                f.data_type(),
                DataType::Float16 | DataType::Float32 | DataType::Float64
            )
        })
    })
}

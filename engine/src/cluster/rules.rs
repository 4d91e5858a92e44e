//! Physical rules for plans that run on Ballista, run after DataFusion's
//! own on the scheduler. Each works around a way a plan that is right in one
//! process goes wrong once Ballista cuts it into stages.
//!
//! - [`KeepMemoryLimits`]: DataFusion pushes `LIMIT n` into an in-memory
//!   scan (VALUES, inline CREATE data) as the scan's `fetch`. On Ballista 55
//!   that fetch is lost on the way to the executors and every row comes back
//!   (`SELECT * FROM (VALUES (1),(2),(3)) LIMIT 1` returned 3 rows). The rule
//!   moves the fetch back out into a limit operator, which is kept.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::source::{DataSource, DataSourceExec};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::limit::LocalLimitExec;

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

//! Optimisations that fail leave the plan as it was.
//!
//! DataFusion 55's `ProjectionPushdown` fails with an internal error on some
//! plans it should simply leave alone ("Input field name c0 does not match
//! with the projection expression c1", a self FULL JOIN under a filter; found
//! by the differential fuzzer). It only moves projections: the plan it was
//! given is already right. [`Tolerant`] runs such a rule and keeps its input
//! when it fails, so the query runs instead of failing. Rules the plan needs
//! (distribution, sorting) are never wrapped.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;

/// Names of DataFusion's physical rules that only optimise.
const OPTIONAL: &[&str] = &["ProjectionPushdown"];

/// `rule`, made tolerant when it only optimises.
pub(crate) fn wrap(
    rule: Arc<dyn PhysicalOptimizerRule + Send + Sync>,
) -> Arc<dyn PhysicalOptimizerRule + Send + Sync> {
    if OPTIONAL.contains(&rule.name()) {
        Arc::new(Tolerant(rule))
    } else {
        rule
    }
}

#[derive(Debug)]
struct Tolerant(Arc<dyn PhysicalOptimizerRule + Send + Sync>);

impl PhysicalOptimizerRule for Tolerant {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match self.0.optimize(Arc::clone(&plan), config) {
            Ok(optimized) => Ok(optimized),
            Err(e) => {
                tracing::debug!("{} failed, plan kept as it was: {e}", self.0.name());
                Ok(plan)
            }
        }
    }

    fn name(&self) -> &str {
        self.0.name()
    }

    fn schema_check(&self) -> bool {
        self.0.schema_check()
    }
}

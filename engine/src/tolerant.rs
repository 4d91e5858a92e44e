//! Optimisations that fail, or would go wrong, leave the plan as it was.
//!
//! DataFusion 55's `ProjectionPushdown` fails with an internal error on some
//! plans it should simply leave alone ("Input field name c0 does not match
//! with the projection expression c1", a self FULL JOIN under a filter; found
//! by the differential fuzzer). It only moves projections: the plan it was
//! given is already right. [`Tolerant`] runs such a rule and keeps its input
//! when it fails, so the query runs instead of failing. Rules the plan needs
//! (distribution, sorting) are never wrapped.
//!
//! DataFusion 55's physical filter push-down maps a filter through a
//! projection by output *name*; a projection with two outputs of one name
//! (`SELECT a.c0, b.c0` after a join) sent `a.c0 IS NULL` to `b`'s scan,
//! whose row groups were then pruned by it: a RIGHT JOIN lost its
//! unmatched rows (found by the differential fuzzer against DuckDB).
//! [`SkipOnDuplicateNames`] runs the push-down only on plans without such a
//! projection; on the others the logical plan's filter push-down (which
//! resolves columns by qualifier) is all there is.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::projection::ProjectionExec;

/// Names of DataFusion's physical rules that only optimise.
const OPTIONAL: &[&str] = &["ProjectionPushdown"];

/// Names of DataFusion's rules that map filters through projections by name.
const BY_NAME: &[&str] = &["FilterPushdown", "FilterPushdown(Post)"];

/// `rule`, made tolerant when it only optimises, and skipped where it would
/// resolve a column by an ambiguous name.
pub(crate) fn wrap(
    rule: Arc<dyn PhysicalOptimizerRule + Send + Sync>,
) -> Arc<dyn PhysicalOptimizerRule + Send + Sync> {
    if OPTIONAL.contains(&rule.name()) {
        Arc::new(Tolerant(rule))
    } else if BY_NAME.contains(&rule.name()) {
        Arc::new(SkipOnDuplicateNames(rule))
    } else {
        rule
    }
}

#[derive(Debug)]
struct SkipOnDuplicateNames(Arc<dyn PhysicalOptimizerRule + Send + Sync>);

impl PhysicalOptimizerRule for SkipOnDuplicateNames {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if has_ambiguous_projection(&plan) {
            return Ok(plan);
        }
        self.0.optimize(plan, config)
    }

    fn name(&self) -> &str {
        self.0.name()
    }

    fn schema_check(&self) -> bool {
        self.0.schema_check()
    }
}

/// True when a projection in `plan` has two outputs of one name.
fn has_ambiguous_projection(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let here = plan.downcast_ref::<ProjectionExec>().is_some_and(|p| {
        let schema = p.schema();
        let mut names = HashSet::new();
        !schema
            .fields()
            .iter()
            .all(|f| names.insert(f.name().as_str()))
    });
    here || plan.children().iter().any(|c| has_ambiguous_projection(c))
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

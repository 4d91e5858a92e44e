//! Rewriting the expressions of one logical plan node, bottom-up, against
//! the schema of its inputs, each keeping the name plans above refer to it
//! by (shared by fsql's expression rules: `float_in.rs`, `casts.rs`).

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Expr, LogicalPlan};

/// The inputs' schemas of `plan`, merged.
pub(crate) fn input_schema(plan: &LogicalPlan) -> DFSchema {
    let mut schema = DFSchema::empty();
    for input in plan.inputs() {
        schema.merge(input.schema());
    }
    schema
}

/// `plan` with `f` applied bottom-up to every sub-expression of its
/// expressions; a changed expression keeps its name.
pub(crate) fn map_node(
    plan: LogicalPlan,
    f: impl Fn(Expr, &DFSchema) -> Result<Transformed<Expr>>,
) -> Result<Transformed<LogicalPlan>> {
    let schema = input_schema(&plan);
    let names = NamePreserver::new(&plan);
    plan.map_expressions(|e| {
        let saved = names.save(&e);
        let rewritten = e.transform_up(|e| f(e, &schema))?;
        Ok(if rewritten.transformed {
            rewritten.update_data(|e| saved.restore(e))
        } else {
            rewritten
        })
    })
}

//! `CAST` as FugueSQL runs it. FugueSQL's SQL is Spark's dialect, which
//! fugue 0.9 transpiles for DuckDB (native and DuckDB engines alike): a value
//! that does not convert becomes NULL (`CAST('abc' AS DOUBLE)`,
//! `CAST('2024-13-45' AS DATE)`, a double too large for an INT), and a
//! double cast to an integer is rounded half away from zero (`1.5` → 2,
//! `-2.7` → -3), where DataFusion's CAST fails on the first and truncates
//! the second. Observed in real fugue 0.9.7 (`docs/semantics.md`).
//!
//! A timestamp cast to text is written with a space between date and time
//! (`2024-03-05 01:02:03`), as Spark and DuckDB write it (DataFusion: ISO's
//! `T`). An explicit `TRY_CAST` of a double to an integer rounds too.
//!
//! Only the casts a user wrote are rewritten: the plan of a SQL statement,
//! right after DataFusion builds it, leaving out the plans of the script's
//! dataframes it inlined, so fsql's own casts inside them — ALTER COLUMNS,
//! LOAD's COLUMNS and inferred types, where a value that does not convert
//! is an error, as in fugue — are not reached.

use std::collections::HashSet;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::{Cast, TryCast};
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan};

/// The plan of a user's SQL statement with FugueSQL's casts. `views`: the
/// names of the script's dataframes and tables, whose plans DataFusion has
/// inlined (as an alias of that name) and which keep their own casts.
pub(crate) fn fugue_casts(plan: LogicalPlan, views: &HashSet<String>) -> Result<LogicalPlan> {
    rewrite_plan(plan, views).map(|t| t.data)
}

fn rewrite_plan(plan: LogicalPlan, views: &HashSet<String>) -> Result<Transformed<LogicalPlan>> {
    if let LogicalPlan::SubqueryAlias(a) = &plan
        && views.contains(a.alias.table())
    {
        return Ok(Transformed::no(plan));
    }
    plan.map_children(|c| rewrite_plan(c, views))?
        .transform_data(|p| p.map_subqueries(|sub| rewrite_plan(sub, views)))?
        .transform_data(|plan| crate::expr_rewrite::map_node(plan, rewrite))
}

fn rewrite(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let (expr, field, already_try) = match &e {
        Expr::Cast(Cast { expr, field }) => (expr, field, false),
        Expr::TryCast(TryCast { expr, field }) => (expr, field, true),
        _ => return Ok(Transformed::no(e)),
    };
    let data_type = field.data_type();
    let Ok(from) = expr.get_type(schema) else {
        return Ok(Transformed::no(e));
    };
    let float = matches!(
        from,
        DataType::Float16 | DataType::Float32 | DataType::Float64
    );
    let text = matches!(
        from,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    // Spark and DuckDB write a timestamp with a space, not ISO's T.
    if !already_try && is_text(data_type) && matches!(from, DataType::Timestamp(..)) {
        return Ok(Transformed::yes(
            datafusion::functions::string::expr_fn::replace(
                e,
                datafusion::logical_expr::lit("T"),
                datafusion::logical_expr::lit(" "),
            ),
        ));
    }
    let input = if float && data_type.is_integer() {
        datafusion::functions::math::expr_fn::round(vec![expr.as_ref().clone()])
    } else if text && !already_try && !is_text(data_type) {
        expr.as_ref().clone()
    } else {
        return Ok(Transformed::no(e));
    };
    Ok(Transformed::yes(Expr::TryCast(TryCast::new_from_field(
        Box::new(input),
        field.clone(),
    ))))
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

//! `-0.0 IN (0.0)` is true, as `-0.0 = 0.0` is (IEEE 754, DuckDB, Spark),
//! and `count(DISTINCT x)` counts -0.0 and 0.0 once.
//!
//! DataFusion 55 answers IN lists of floats by hashing and comparing the
//! values' bits, where -0.0 and 0.0 differ, so `x IN (0.0)` was false for a
//! negative zero while `x = 0.0` was true (found by the differential
//! fuzzer). [`FloatInList`] gives a float IN list's probe the one zero
//! (`CASE WHEN x = 0 THEN 0 ELSE x END`) and its literals too; NaN, NULL and
//! every other value are unchanged. The float arguments of DISTINCT
//! aggregates get the one zero the same way (see [`distinct_args`]), and so
//! do float sort keys (ORDER BY, and a window's ORDER BY): DataFusion sorts
//! floats by their bits, -0.0 before 0.0, so a later key never decided
//! between them and `rank()` gave them different ranks; DuckDB, PostgreSQL
//! and pandas take them as equal (peers).

use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::{AggregateFunction, InList};
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, lit, when};
use datafusion::optimizer::AnalyzerRule;

/// An analyzer rule (after type coercion, before the optimizer folds
/// constant IN lists).
#[derive(Debug, Default)]
pub(crate) struct FloatInList;

impl AnalyzerRule for FloatInList {
    fn name(&self) -> &str {
        "fsql_float_in_list"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            if matches!(plan, LogicalPlan::Sort(_)) {
                // A sort key is not a column of the output: no name to keep.
                let schema = crate::expr_rewrite::input_schema(&plan);
                return plan.map_expressions(|e| sort_key(e, &schema));
            }
            crate::expr_rewrite::map_node(plan, rewrite)
        })
        .map(|t| t.data)
    }
}

fn rewrite(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    if let Expr::AggregateFunction(agg) = &e
        && agg.params.distinct
    {
        return distinct_args(agg, schema);
    }
    if let Expr::WindowFunction(w) = &e {
        let mut changed = false;
        let mut order_by = Vec::with_capacity(w.params.order_by.len());
        for key in &w.params.order_by {
            let rewritten = sort_key(key.expr.clone(), schema)?;
            changed |= rewritten.transformed;
            order_by.push(key.with_expr(rewritten.data));
        }
        if !changed {
            return Ok(Transformed::no(e));
        }
        let mut w = w.clone();
        w.params.order_by = order_by;
        return Ok(Transformed::yes(Expr::WindowFunction(w)));
    }
    let Expr::InList(InList {
        expr,
        list,
        negated,
    }) = &e
    else {
        return Ok(Transformed::no(e));
    };
    let Ok(ty) = expr.get_type(schema) else {
        return Ok(Transformed::no(e));
    };
    let zero = match ty {
        datafusion::arrow::datatypes::DataType::Float64 => ScalarValue::Float64(Some(0.0)),
        datafusion::arrow::datatypes::DataType::Float32 => ScalarValue::Float32(Some(0.0)),
        _ => return Ok(Transformed::no(e)),
    };
    if is_normalised(expr) {
        return Ok(Transformed::no(e));
    }
    let probe = one_zero(expr.as_ref().clone(), zero.clone())?;
    let list = list
        .iter()
        .map(|item| match item {
            Expr::Literal(ScalarValue::Float64(Some(v)), m) if *v == 0.0 => {
                Expr::Literal(ScalarValue::Float64(Some(0.0)), m.clone())
            }
            Expr::Literal(ScalarValue::Float32(Some(v)), m) if *v == 0.0 => {
                Expr::Literal(ScalarValue::Float32(Some(0.0)), m.clone())
            }
            other => other.clone(),
        })
        .collect();
    Ok(Transformed::yes(Expr::InList(InList {
        expr: Box::new(probe),
        list,
        negated: *negated,
    })))
}

/// A DISTINCT aggregate (`count(DISTINCT x)`, `sum(DISTINCT x)`) with its
/// float arguments given the one zero: DataFusion's per-group distinct sets
/// (used when a DISTINCT aggregate sits beside a plain one) hash floats by
/// their bits, so `count(c), count(DISTINCT c)` counted -0.0 and 0.0 as two
/// values where every other path counts one.
fn distinct_args(agg: &AggregateFunction, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let mut changed = false;
    let mut args = Vec::with_capacity(agg.params.args.len());
    for arg in &agg.params.args {
        let zero = match arg.get_type(schema) {
            Ok(datafusion::arrow::datatypes::DataType::Float64) => ScalarValue::Float64(Some(0.0)),
            Ok(datafusion::arrow::datatypes::DataType::Float32) => ScalarValue::Float32(Some(0.0)),
            _ => {
                args.push(arg.clone());
                continue;
            }
        };
        if is_normalised(arg) {
            args.push(arg.clone());
            continue;
        }
        changed = true;
        args.push(one_zero(arg.clone(), zero)?);
    }
    if !changed {
        return Ok(Transformed::no(Expr::AggregateFunction(agg.clone())));
    }
    let mut agg = agg.clone();
    agg.params.args = args;
    Ok(Transformed::yes(Expr::AggregateFunction(agg)))
}

/// A float sort key with the one zero (other keys unchanged).
fn sort_key(key: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let zero = match key.get_type(schema) {
        Ok(datafusion::arrow::datatypes::DataType::Float64) => ScalarValue::Float64(Some(0.0)),
        Ok(datafusion::arrow::datatypes::DataType::Float32) => ScalarValue::Float32(Some(0.0)),
        _ => return Ok(Transformed::no(key)),
    };
    if is_normalised(&key) {
        return Ok(Transformed::no(key));
    }
    Ok(Transformed::yes(one_zero(key, zero)?))
}

/// `CASE WHEN x = 0 THEN 0 ELSE x END`: -0.0 becomes 0.0, the rest stays.
fn one_zero(x: Expr, zero: ScalarValue) -> Result<Expr> {
    when(x.clone().eq(lit(zero.clone())), lit(zero)).otherwise(x)
}

/// True for a probe this rule already rewrote (a plan analysed twice).
fn is_normalised(e: &Expr) -> bool {
    // Exactly `CASE WHEN x = 0 THEN 0 ELSE x END` (a user's CASE that only
    // looks like it, `CASE WHEN a < b THEN 0.0 ELSE c END`, was once taken
    // for one and left with its -0.0; found by the differential fuzzer).
    let Expr::Case(c) = e else {
        return false;
    };
    let (Some(x), [(when, then)]) = (c.else_expr.as_deref(), c.when_then_expr.as_slice()) else {
        return false;
    };
    let zero = |e: &Expr| {
        matches!(
            e,
            Expr::Literal(
                ScalarValue::Float64(Some(0.0)) | ScalarValue::Float32(Some(0.0)),
                _
            )
        )
    };
    c.expr.is_none()
        && zero(then)
        && matches!(when.as_ref(), Expr::BinaryExpr(b)
            if b.op == datafusion::logical_expr::Operator::Eq
                && b.left.as_ref() == x
                && zero(&b.right))
}

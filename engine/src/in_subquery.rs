//! `x IN (subquery)` inside a larger condition keeps SQL's three-valued
//! logic: NULL when `x` is NULL (and the subquery has rows) or when no row
//! matches and the subquery holds a NULL.
//!
//! DataFusion 55 answers an IN subquery that is not a whole conjunct of a
//! WHERE (`(x IN (...)) IS NULL`, `... IS FALSE`, `NOT (x IN (...)) OR c`)
//! with a mark join whose mark is never NULL, so those conditions were
//! wrong (found by the differential fuzzer's ternary logic partitioning;
//! DuckDB and PostgreSQL give NULL). A whole conjunct (`x IN (...)`,
//! `x NOT IN (...)`) becomes a semi or null-aware anti join, which is
//! right, and is left alone.
//!
//! [`NullAwareInSubquery`] rewrites the embedded form into
//! `x IN (S) OR NULLIF((x IS NULL AND EXISTS (S)) OR EXISTS (S WHERE s IS
//! NULL), TRUE)` (leaving out the terms a non-nullable side cannot need);
//! DataFusion turns each subquery of it into a mark join. A subquery whose column has no
//! qualifier (a UNION) gets an alias, without which DataFusion's mark join
//! fails to plan.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, Result};
use datafusion::config::ConfigOptions;
use datafusion::functions::core::expr_fn::nullif;
use datafusion::logical_expr::expr::{Exists, InSubquery};
use datafusion::logical_expr::utils::{conjunction, disjunction, split_conjunction_owned};
use datafusion::logical_expr::{
    Expr, ExprSchemable, Filter, LogicalPlan, LogicalPlanBuilder, Operator, Projection, Subquery,
    lit,
};
use datafusion::optimizer::AnalyzerRule;

/// An analyzer rule (after type coercion, before the optimizer decorrelates
/// subqueries).
#[derive(Debug, Default)]
pub(crate) struct NullAwareInSubquery;

impl AnalyzerRule for NullAwareInSubquery {
    fn name(&self) -> &str {
        "fsql_null_aware_in_subquery"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            let LogicalPlan::Filter(filter) = plan else {
                return Ok(Transformed::no(plan));
            };
            if !has_in_subquery(&filter.predicate) {
                return Ok(Transformed::no(LogicalPlan::Filter(filter)));
            }
            let schema = filter.input.schema().clone();
            let mut changed = false;
            let mut conjuncts = Vec::new();
            for c in split_conjunction_owned(filter.predicate.clone()) {
                if is_whole_conjunct(&c) {
                    conjuncts.push(c);
                    continue;
                }
                let t = c.transform_down(|e| rewrite(e, &schema))?;
                changed |= t.transformed;
                conjuncts.push(t.data);
            }
            if !changed {
                return Ok(Transformed::no(LogicalPlan::Filter(filter)));
            }
            let predicate = conjunction(conjuncts).unwrap_or_else(|| lit(true));
            Filter::try_new(predicate, filter.input)
                .map(|f| Transformed::yes(LogicalPlan::Filter(f)))
        })
        .map(|t| t.data)
    }
}

fn has_in_subquery(e: &Expr) -> bool {
    e.exists(|e| Ok(matches!(e, Expr::InSubquery(_))))
        .unwrap_or(false)
}

/// A conjunct DataFusion turns into a semi or anti join (right as it is).
fn is_whole_conjunct(e: &Expr) -> bool {
    match e {
        Expr::Not(inner) => matches!(inner.as_ref(), Expr::InSubquery(_) | Expr::Exists(_)),
        Expr::InSubquery(_) | Expr::Exists(_) => true,
        _ => false,
    }
}

fn rewrite(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    if is_rewritten(&e) {
        return Ok(Transformed::new(e, false, TreeNodeRecursion::Jump));
    }
    let Expr::InSubquery(InSubquery {
        expr,
        subquery,
        negated,
    }) = &e
    else {
        return Ok(Transformed::no(e));
    };
    if subquery.subquery.schema().fields().len() != 1 {
        return Ok(Transformed::no(e));
    }
    // DataFusion's mark join projects a subquery's bare unqualified output
    // column (a UNION's) twice and fails ("Projections require unique
    // expression names"); a subquery alias qualifies it.
    let mut subquery = subquery.clone();
    let aliased = matches!(
        subquery.subquery.head_output_expr()?,
        Some(Expr::Column(Column { relation: None, .. }))
    );
    if aliased {
        let plan = LogicalPlanBuilder::from(subquery.subquery.as_ref().clone())
            .alias("__fsql_in")?
            .build()?;
        subquery.subquery = Arc::new(plan);
    }
    let subquery = &subquery;
    let probe_nullable = expr.nullable(schema).unwrap_or(true);
    let output_nullable = subquery.subquery.schema().field(0).is_nullable();
    let plain = Expr::InSubquery(InSubquery::new(expr.clone(), subquery.clone(), false));
    if !probe_nullable && !output_nullable {
        return Ok(if aliased {
            let e = if *negated { !plain } else { plain };
            Transformed::new(e, true, TreeNodeRecursion::Jump)
        } else {
            Transformed::no(e)
        });
    }
    // `unknown`: no match decides nothing (the probe is NULL and the
    // subquery has rows, or the subquery holds a NULL).
    let mut unknown = Vec::new();
    if probe_nullable {
        let exists = Expr::Exists(Exists::new(subquery.clone(), false));
        unknown.push(expr.as_ref().clone().is_null().and(exists));
    }
    if output_nullable {
        let with_null = Subquery {
            subquery: Arc::new(with_null_output(subquery.subquery.as_ref().clone())?),
            outer_ref_columns: subquery.outer_ref_columns.clone(),
            spans: subquery.spans.clone(),
        };
        unknown.push(Expr::Exists(Exists::new(with_null, false)));
    }
    let unknown = disjunction(unknown).unwrap_or_else(|| lit(false));
    // `m OR NULLIF(unknown, TRUE)`: TRUE on a match, else NULL when
    // unknown, else FALSE. (A CASE would do, but DataFusion's simplifier
    // expands a CASE into boolean terms that repeat each subquery.)
    let in_3vl = plain.or(nullif(unknown, lit(true)));
    let out = if *negated { !in_3vl } else { in_3vl };
    Ok(Transformed::new(out, true, TreeNodeRecursion::Jump))
}

/// `plan`'s rows whose (only) output value is NULL. The filter goes below
/// the subquery's projection, where a correlated subquery's filters are (a
/// filter above it panics in DataFusion's filter push-down once the
/// subquery is decorrelated).
fn with_null_output(plan: LogicalPlan) -> Result<LogicalPlan> {
    match plan {
        LogicalPlan::SubqueryAlias(a) => {
            let input = with_null_output(Arc::unwrap_or_clone(a.input))?;
            LogicalPlanBuilder::from(input).alias(a.alias)?.build()
        }
        LogicalPlan::Projection(p) if p.expr.len() == 1 => {
            let value = match &p.expr[0] {
                Expr::Alias(a) => a.expr.as_ref().clone(),
                e => e.clone(),
            };
            let filtered = LogicalPlanBuilder::from(Arc::unwrap_or_clone(p.input))
                .filter(value.is_null())?
                .build()?;
            Ok(LogicalPlan::Projection(Projection::try_new(
                p.expr,
                Arc::new(filtered),
            )?))
        }
        plan => {
            let (qualifier, field) = plan.schema().qualified_field(0);
            let output = Expr::Column(Column::new(qualifier.cloned(), field.name()));
            LogicalPlanBuilder::from(plan)
                .filter(output.is_null())?
                .build()
        }
    }
}

/// True for an expression this rule wrote (a plan analysed twice).
fn is_rewritten(e: &Expr) -> bool {
    let e = match e {
        Expr::Not(inner) => inner.as_ref(),
        e => e,
    };
    matches!(e, Expr::BinaryExpr(b) if b.op == Operator::Or
        && matches!(b.left.as_ref(), Expr::InSubquery(i) if !i.negated)
        && matches!(b.right.as_ref(), Expr::ScalarFunction(f) if f.name() == "nullif"))
}

//! The optimizer rule that runs SQL's top-n-per-group on the operator:
//!
//! ```sql
//! SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY k ORDER BY v DESC) AS rn
//!                FROM t) WHERE rn <= 2
//! ```
//!
//! The filter, and the window that numbers the rows, stay as they are; the
//! rule puts a [`TopNNode`] keeping the first n rows of every partition
//! under the window. The window then numbers at most n rows per partition,
//! which get the numbers 1..n, and the filter keeps the same rows as
//! before. Rows that tie in the window's ORDER BY are numbered in an
//! unspecified order in SQL; the operator breaks those ties by the other
//! columns, so the answer is one of the answers SQL allows.
//!
//! It applies when a conjunct of the filter bounds the number from above
//! (`rn <= c`, `rn < c`, `rn = c`, also written the other way round) with
//! c up to [`super::MAX_ROWS`], the number comes (through projections and
//! subquery aliases) from a window node whose only expression is
//! `row_number()` without FILTER, partitioned and ordered by plain columns.

use std::sync::Arc;

use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result, ScalarValue};
use datafusion::logical_expr::expr::WindowFunction;
use datafusion::logical_expr::logical_plan::{Extension, Filter, Window};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, LogicalPlan, Operator};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

use super::{OrderKey, TopNNode, TopNSpec};

#[derive(Debug, Default)]
pub(crate) struct RowNumberToTopN;

impl OptimizerRule for RowNumberToTopN {
    fn name(&self) -> &str {
        "fsql_row_number_to_top_n"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Filter(filter) = &plan else {
            return Ok(Transformed::no(plan));
        };
        for (column, n) in bounds(filter) {
            if let Some(input) = below(&filter.input, &column, n)? {
                let filter = Filter::try_new(filter.predicate.clone(), Arc::new(input))?;
                return Ok(Transformed::yes(LogicalPlan::Filter(filter)));
            }
        }
        Ok(Transformed::no(plan))
    }
}

/// The columns a conjunct of the filter bounds, with the most rows per
/// group the bound lets through (`c <= 3`: 3; `c < 3`: 2; `c = 3`: 3).
fn bounds(filter: &Filter) -> Vec<(Column, usize)> {
    split_conjunction(&filter.predicate)
        .into_iter()
        .filter_map(|e| {
            let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e else {
                return None;
            };
            let (column, op, value) = match (left.as_ref(), right.as_ref()) {
                (Expr::Column(c), Expr::Literal(v, _)) => (c, *op, v),
                (Expr::Literal(v, _), Expr::Column(c)) => (c, op.swap()?, v),
                _ => return None,
            };
            let value = integer(value)?;
            let n = match op {
                Operator::LtEq | Operator::Eq => value,
                Operator::Lt => value.saturating_sub(1),
                _ => return None,
            };
            let n = usize::try_from(n.max(0)).ok()?;
            Some((column.clone(), n))
        })
        .collect()
}

fn integer(v: &ScalarValue) -> Option<i128> {
    match v {
        ScalarValue::Int8(Some(x)) => Some(*x as i128),
        ScalarValue::Int16(Some(x)) => Some(*x as i128),
        ScalarValue::Int32(Some(x)) => Some(*x as i128),
        ScalarValue::Int64(Some(x)) => Some(*x as i128),
        ScalarValue::UInt8(Some(x)) => Some(*x as i128),
        ScalarValue::UInt16(Some(x)) => Some(*x as i128),
        ScalarValue::UInt32(Some(x)) => Some(*x as i128),
        ScalarValue::UInt64(Some(x)) => Some(*x as i128),
        _ => None,
    }
}

/// `plan` with the operator under the window that makes `column`, when
/// `column` is a row number as the module describes; None otherwise.
fn below(plan: &LogicalPlan, column: &Column, n: usize) -> Result<Option<LogicalPlan>> {
    let inner = match plan {
        LogicalPlan::Projection(p) => {
            let i = match p.schema.maybe_index_of_column(column) {
                Some(i) => i,
                None => return Ok(None),
            };
            match unalias(&p.expr[i]) {
                Expr::Column(c) => below(&p.input, c, n)?,
                _ => None,
            }
        }
        LogicalPlan::SubqueryAlias(a) => {
            let i = match a.schema.maybe_index_of_column(column) {
                Some(i) => i,
                None => return Ok(None),
            };
            let c = Column::from(a.input.schema().qualified_field(i));
            below(&a.input, &c, n)?
        }
        LogicalPlan::Window(w) => return window(w, column, n),
        _ => None,
    };
    match inner {
        Some(input) => Ok(Some(plan.with_new_exprs(plan.expressions(), vec![input])?)),
        None => Ok(None),
    }
}

fn unalias(e: &Expr) -> &Expr {
    match e {
        Expr::Alias(a) => unalias(&a.expr),
        e => e,
    }
}

/// The window with the operator under it, when `column` is its only
/// expression and that is a row number over plain columns.
fn window(w: &Window, column: &Column, n: usize) -> Result<Option<LogicalPlan>> {
    let Some(i) = w.schema.maybe_index_of_column(column) else {
        return Ok(None);
    };
    let inputs = w.input.schema().fields().len();
    if w.window_expr.len() != 1 || i != inputs {
        return Ok(None);
    }
    let Expr::WindowFunction(f) = unalias(&w.window_expr[0]) else {
        return Ok(None);
    };
    let WindowFunction { fun, params } = f.as_ref();
    if fun.name() != "row_number" || params.filter.is_some() || !params.args.is_empty() {
        return Ok(None);
    }
    let schema = w.input.schema();
    // The operator finds columns by name, so each must be one field.
    let name = |e: &Expr| match e {
        Expr::Column(c) => {
            let i = schema.maybe_index_of_column(c)?;
            let name = schema.field(i).name();
            let same = schema.fields().iter().filter(|f| f.name() == name);
            (same.count() == 1).then(|| name.clone())
        }
        _ => None,
    };
    let Some(keys) = params
        .partition_by
        .iter()
        .map(name)
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    let order = params.order_by.iter().map(|s| {
        Some(OrderKey {
            column: name(&s.expr)?,
            descending: !s.asc,
            nulls_first: s.nulls_first,
        })
    });
    let Some(order) = order.collect::<Option<Vec<_>>>() else {
        return Ok(None);
    };
    let Some(spec) = TopNSpec::build(schema.as_arrow(), n, keys, order) else {
        return Ok(None);
    };
    if let LogicalPlan::Extension(e) = w.input.as_ref()
        && let Some(t) = e.node.as_any().downcast_ref::<TopNNode>()
        && t.spec.keys == spec.keys
        && t.spec.order[..t.spec.presort] == spec.order[..spec.presort]
        && t.spec.n <= spec.n
    {
        // Already under it (the optimizer runs its rules more than once).
        return Ok(None);
    }
    let node = TopNNode {
        input: w.input.as_ref().clone(),
        spec: Arc::new(spec),
    };
    let input = LogicalPlan::Extension(Extension {
        node: Arc::new(node),
    });
    let window = Window::try_new(w.window_expr.clone(), Arc::new(input))?;
    Ok(Some(LogicalPlan::Window(window)))
}

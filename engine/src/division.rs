//! True division: `/` between two integers gives a double (`5 / 2 = 2.5`), as
//! in FugueSQL on DuckDB and Spark. DataFusion's own `/` truncates integers;
//! this expression planner runs first and casts both sides. Integer division
//! by zero gives NULL (DuckDB, Spark), not an error.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, Result};
use datafusion::functions::core::expr_fn::nullif;
use datafusion::logical_expr::expr::BinaryExpr;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{Expr, ExprSchemable, Operator, cast, lit};
use datafusion::sql::sqlparser::ast::BinaryOperator;

#[derive(Debug, Default)]
pub(crate) struct TrueDivision;

impl ExprPlanner for TrueDivision {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        if expr.op != BinaryOperator::Divide {
            return Ok(PlannerResult::Original(expr));
        }
        let lt = expr.left.get_type(schema)?;
        let rt = expr.right.get_type(schema)?;
        if !(is_integer(&lt) && is_integer(&rt)) {
            return Ok(PlannerResult::Original(expr));
        }
        Ok(PlannerResult::Planned(Expr::BinaryExpr(BinaryExpr::new(
            Box::new(cast(expr.left, DataType::Float64)),
            Operator::Divide,
            // x / 0 is NULL, as in FugueSQL on DuckDB and Spark (not an error).
            Box::new(nullif(cast(expr.right, DataType::Float64), lit(0.0_f64))),
        ))))
    }
}

fn is_integer(t: &DataType) -> bool {
    t.is_integer() || matches!(t, DataType::Null)
}

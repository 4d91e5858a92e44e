//! SQL functions FugueSQL users write (Spark's names, which fugue passes to
//! DuckDB) that DataFusion spells differently or lacks: `year(d)` ..
//! `second(t)`, `quarter`, `dayofweek`, `dayofyear`, `weekofyear` (as
//! `date_part`, an INT), `sign(x)` (`signum`), `variance(x)` (`var_samp`),
//! `date_add(d, n)` / `date_sub(d, n)` (a DATE n days later / earlier) and
//! `datediff(end, start)` (days, Spark's argument order). Each call is
//! simplified into DataFusion's own expressions when the plan is optimised,
//! so the cluster runs them like any other.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    AggregateUDF, ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility, cast, lit,
};

/// The scalar functions.
pub(crate) fn scalar() -> Vec<Arc<ScalarUDF>> {
    let mut all: Vec<Arc<ScalarUDF>> = [
        ("year", "year"),
        ("month", "month"),
        ("day", "day"),
        ("dayofmonth", "day"),
        ("hour", "hour"),
        ("minute", "minute"),
        ("second", "second"),
        ("quarter", "quarter"),
        ("dayofweek", "dow"),
        ("dayofyear", "doy"),
        ("weekofyear", "week"),
    ]
    .into_iter()
    .map(|(name, part)| Arc::new(ScalarUDF::from(Rewritten::new(name, Kind::Part(part), 1))))
    .collect();
    all.push(Arc::new(ScalarUDF::from(Rewritten::new(
        "date_add",
        Kind::AddDays(1),
        2,
    ))));
    all.push(Arc::new(ScalarUDF::from(Rewritten::new(
        "date_sub",
        Kind::AddDays(-1),
        2,
    ))));
    all.push(Arc::new(ScalarUDF::from(Rewritten::new(
        "datediff",
        Kind::DaysBetween,
        2,
    ))));
    let signum = datafusion::functions::math::signum();
    all.push(Arc::new(signum.as_ref().clone().with_aliases(["sign"])));
    all
}

/// The aggregate functions.
pub(crate) fn aggregate() -> Vec<AggregateUDF> {
    let var = datafusion::functions_aggregate::variance::var_samp_udaf();
    vec![var.as_ref().clone().with_aliases(["variance"])]
}

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum Kind {
    /// `date_part(part, x)` as an INT; text is read as a timestamp first.
    Part(&'static str),
    /// The date `sign · n` days after the first argument's date.
    AddDays(i32),
    /// Days from the second argument's date to the first's.
    DaysBetween,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Rewritten {
    name: &'static str,
    kind: Kind,
    signature: Signature,
}

impl Rewritten {
    fn new(name: &'static str, kind: Kind, args: usize) -> Self {
        Rewritten {
            name,
            kind,
            signature: Signature::any(args, Volatility::Immutable),
        }
    }
}

/// Text as a timestamp (Spark reads '2024-03-15' and '2024-03-15 10:00'
/// alike); other values as they are.
fn temporal(x: Expr, info: &SimplifyContext) -> Expr {
    match info.get_data_type(&x) {
        Ok(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {
            cast(x, DataType::Timestamp(TimeUnit::Nanosecond, None))
        }
        _ => x,
    }
}

/// Days since 1970-01-01 of `x`'s date.
fn day_number(x: Expr, info: &SimplifyContext) -> Expr {
    cast(cast(temporal(x, info), DataType::Date32), DataType::Int32)
}

impl ScalarUDFImpl for Rewritten {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::Part(_) | Kind::DaysBetween => DataType::Int32,
            Kind::AddDays(_) => DataType::Date32,
        })
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        let mut args = args.into_iter();
        let (Some(first), second) = (args.next(), args.next()) else {
            return plan_err!("{}() needs an argument", self.name);
        };
        let expr = match (self.kind, second) {
            (Kind::Part(part), _) => cast(
                datafusion::functions::datetime::expr_fn::date_part(
                    lit(part),
                    temporal(first, info),
                ),
                DataType::Int32,
            ),
            (Kind::AddDays(sign), Some(n)) => {
                let n = cast(n, DataType::Int32);
                let days = day_number(first, info);
                let moved = if sign > 0 { days + n } else { days - n };
                cast(moved, DataType::Date32)
            }
            (Kind::DaysBetween, Some(start)) => day_number(first, info) - day_number(start, info),
            _ => return plan_err!("{}() takes two arguments", self.name),
        };
        Ok(ExprSimplifyResult::Simplified(expr))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // Every optimised plan has the call replaced (see `simplify`).
        exec_err!("{}() runs only in an optimised plan", self.name)
    }
}

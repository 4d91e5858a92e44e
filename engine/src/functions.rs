//! SQL functions FugueSQL users write (Spark's names, which fugue passes to
//! DuckDB) that DataFusion spells differently or lacks: `year(d)` ..
//! `second(t)`, `quarter`, `dayofweek`, `dayofyear`, `weekofyear` (as
//! `date_part`, an INT), `sign(x)` (`signum`), `variance(x)` (`var_samp`),
//! `date_add(d, n)` / `date_sub(d, n)` (a DATE n days later / earlier),
//! `datediff(end, start)` (days, Spark's argument order), `size` (as
//! `cardinality`), `collect_list` (as `array_agg`), `approx_count_distinct`,
//! `first` / `last`, `array`, `split`, `last_day`, `sha2`, `COUNT(DISTINCT
//! a, b)`, the type names LONG / SHORT / BYTE; and two that DataFusion
//! has with other meanings: `substr` / `substring` count a negative start
//! from the end (`substr('hello', -3)` = 'llo'; DataFusion: 'hello'), and
//! `date_format(d, 'yyyy/MM/dd')` takes Spark's Java-style pattern
//! (DataFusion's takes chrono's `%Y` and returned the pattern unchanged).
//! Each call is simplified into DataFusion's own expressions when the plan
//! is optimised, so the cluster runs them like any other. `date_format` is
//! in `date_format.rs`; syntax rewritten before planning (IF, RLIKE, ...) in
//! `spark_syntax.rs`.

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
    for (f, alias) in [
        (datafusion::functions::string::upper(), "ucase"),
        (datafusion::functions::string::lower(), "lcase"),
        (datafusion::functions::string::starts_with(), "startswith"),
        (datafusion::functions::string::ends_with(), "endswith"),
    ] {
        all.push(Arc::new(f.as_ref().clone().with_aliases([alias])));
    }
    let signum = datafusion::functions::math::signum();
    all.push(Arc::new(signum.as_ref().clone().with_aliases(["sign"])));
    let cardinality = datafusion::functions_nested::cardinality::cardinality_udf();
    all.push(Arc::new(
        cardinality.as_ref().clone().with_aliases(["size"]),
    ));
    let make_array = datafusion::functions_nested::make_array::make_array_udf();
    all.push(Arc::new(
        make_array.as_ref().clone().with_aliases(["array"]),
    ));
    let split = datafusion::functions_nested::string::string_to_array_udf();
    all.push(Arc::new(split.as_ref().clone().with_aliases(["split"])));
    all.push(Arc::new(ScalarUDF::from(Rewritten::new(
        "last_day",
        Kind::LastDay,
        1,
    ))));
    all.push(Arc::new(ScalarUDF::from(
        crate::date_format::DateFormat::new(),
    )));
    all
}

/// The aggregate functions.
pub(crate) fn aggregate() -> Vec<AggregateUDF> {
    let var = datafusion::functions_aggregate::variance::var_samp_udaf();
    let list = datafusion::functions_aggregate::array_agg::array_agg_udaf();
    let approx = datafusion::functions_aggregate::approx_distinct::approx_distinct_udaf();
    let first = datafusion::functions_aggregate::first_last::first_value_udaf();
    let last = datafusion::functions_aggregate::first_last::last_value_udaf();
    vec![
        var.as_ref().clone().with_aliases(["variance"]),
        list.as_ref().clone().with_aliases(["collect_list"]),
        approx
            .as_ref()
            .clone()
            .with_aliases(["approx_count_distinct"]),
        first.as_ref().clone().with_aliases(["first"]),
        last.as_ref().clone().with_aliases(["last"]),
    ]
}

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum Kind {
    /// `date_part(part, x)` as an INT; text is read as a timestamp first.
    Part(&'static str),
    /// The date `sign · n` days after the first argument's date.
    AddDays(i32),
    /// Days from the second argument's date to the first's.
    DaysBetween,
    /// The last day of the argument's month, a DATE.
    LastDay,
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
pub(crate) fn temporal(x: Expr, info: &SimplifyContext) -> Expr {
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
            Kind::AddDays(_) | Kind::LastDay => DataType::Date32,
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
            (Kind::LastDay, _) => {
                let month = datafusion::functions::datetime::expr_fn::date_trunc(
                    lit("month"),
                    cast(
                        temporal(first, info),
                        DataType::Timestamp(TimeUnit::Nanosecond, None),
                    ),
                );
                let next = month + lit(datafusion::common::ScalarValue::IntervalYearMonth(Some(1)));
                let days = cast(cast(next, DataType::Date32), DataType::Int32) - lit(1_i32);
                cast(days, DataType::Date32)
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

/// Plans `substr(...)`, `substring(...)` and `SUBSTRING(s FROM p FOR n)`
/// (sqlparser's own syntax, which DataFusion sends to its planners, not to
/// the function registry) as [`SparkSubstr`]. That function is not in the
/// registry: its simplified form calls DataFusion's `substr` by that name,
/// which executors must resolve to DataFusion's own.
#[derive(Debug, Default)]
pub(crate) struct SubstringPlanner;

impl datafusion::logical_expr::planner::ExprPlanner for SubstringPlanner {
    fn plan_substring(
        &self,
        args: Vec<Expr>,
    ) -> Result<datafusion::logical_expr::planner::PlannerResult<Vec<Expr>>> {
        Ok(datafusion::logical_expr::planner::PlannerResult::Planned(
            ScalarUDF::from(SparkSubstr::new()).call(args),
        ))
    }
}

/// `substr(s, pos[, len])` as Spark counts: `pos` 1-based, 0 as 1, a
/// negative `pos` from the end; a negative `len` gives ''.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SparkSubstr {
    inner: Arc<ScalarUDF>,
    aliases: Vec<String>,
}

impl SparkSubstr {
    fn new() -> Self {
        SparkSubstr {
            inner: datafusion::functions::unicode::substr(),
            aliases: vec!["substring".to_string()],
        }
    }
}

impl ScalarUDFImpl for SparkSubstr {
    fn name(&self) -> &str {
        "substr"
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(args)
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        self.inner.return_type(args)
    }

    fn simplify(&self, args: Vec<Expr>, _info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        let mut args = args.into_iter();
        let (Some(text), Some(pos)) = (args.next(), args.next()) else {
            return plan_err!("substr() takes a string and a start");
        };
        let length = args.next();
        let start = match &pos {
            Expr::Literal(v, _)
                if !v.is_null() && v.clone().try_into().is_ok_and(|p: i64| p > 0) =>
            {
                pos.clone()
            }
            _ => {
                let pos = cast(pos.clone(), DataType::Int64);
                let chars = cast(
                    datafusion::functions::unicode::expr_fn::character_length(text.clone()),
                    DataType::Int64,
                );
                datafusion::logical_expr::when(pos.clone().gt(lit(0_i64)), pos.clone())
                    .when(pos.clone().lt(lit(0_i64)), chars + pos.clone() + lit(1_i64))
                    .when(pos.eq(lit(0_i64)), lit(1_i64))
                    .end()?
            }
        };
        let mut call = vec![text, start];
        if let Some(n) = length {
            call.push(datafusion::functions::expr_fn::greatest(vec![
                cast(n, DataType::Int64),
                lit(0_i64),
            ]));
        }
        Ok(ExprSimplifyResult::Simplified(self.inner.call(call)))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        exec_err!("substr() runs only in an optimised plan")
    }
}

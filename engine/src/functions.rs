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
//! is optimised, so the cluster runs them like any other.

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
    all.push(Arc::new(ScalarUDF::from(DateFormat::new())));
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

/// The name fsql's `date_format` is registered under: DataFusion has a
/// `date_format` of its own (chrono patterns), which a cluster's scheduler
/// may resolve the name to, so user SQL is renamed to this before planning.
pub(crate) const DATE_FORMAT: &str = "fsql_date_format";

/// Spark syntax DataFusion's SQL planner lacks, rewritten in a user's SQL
/// before planning: `date_format(...)` calls renamed to [`DATE_FORMAT`];
/// `IF(c, a, b)` as `CASE WHEN c THEN a ELSE b END`; `x RLIKE p` / `x
/// REGEXP p` as `x ~ p`; `explode(a)` as `unnest(a)`.
pub(crate) fn spark_syntax(stmt: &mut datafusion::sql::sqlparser::ast::Statement) {
    use datafusion::sql::sqlparser::ast::{
        BinaryOperator, CaseWhen, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments,
        Ident, ObjectNamePart,
    };
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(stmt, |e| {
        match e {
            SqlExpr::RLike {
                negated,
                expr,
                pattern,
                ..
            } => {
                let op = if *negated {
                    BinaryOperator::PGRegexNotMatch
                } else {
                    BinaryOperator::PGRegexMatch
                };
                *e = SqlExpr::BinaryOp {
                    left: expr.clone(),
                    op,
                    right: pattern.clone(),
                };
            }
            SqlExpr::Cast { data_type, .. } => {
                if let Some(t) = spark_type(data_type) {
                    *data_type = t;
                }
            }
            SqlExpr::Function(f) => {
                let [ObjectNamePart::Identifier(id)] = f.name.0.as_mut_slice() else {
                    return std::ops::ControlFlow::<()>::Continue(());
                };
                let name = id.value.to_ascii_lowercase();
                match name.as_str() {
                    "date_format" => *id = Ident::new(DATE_FORMAT),
                    "sha2" | "count" => {
                        if let Some(rewritten) = spark_call(&name, f) {
                            *e = rewritten;
                        }
                    }
                    "explode" => *id = Ident::new("unnest"),
                    "if" => {
                        let FunctionArguments::List(list) = &f.args else {
                            return std::ops::ControlFlow::Continue(());
                        };
                        let args: Vec<SqlExpr> = list
                            .args
                            .iter()
                            .filter_map(|a| match a {
                                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x.clone()),
                                _ => None,
                            })
                            .collect();
                        if let [c, a, b] = args.as_slice() {
                            *e = SqlExpr::Case {
                                case_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                                end_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                                operand: None,
                                conditions: vec![CaseWhen {
                                    condition: c.clone(),
                                    result: a.clone(),
                                }],
                                else_result: Some(Box::new(b.clone())),
                            };
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// Spark's type names sqlparser leaves as custom types.
fn spark_type(
    t: &datafusion::sql::sqlparser::ast::DataType,
) -> Option<datafusion::sql::sqlparser::ast::DataType> {
    use datafusion::sql::sqlparser::ast::DataType as T;
    let T::Custom(name, modifiers) = t else {
        return None;
    };
    if !modifiers.is_empty() || name.0.len() != 1 {
        return None;
    }
    match name.to_string().to_ascii_lowercase().as_str() {
        "long" => Some(T::BigInt(None)),
        "short" => Some(T::SmallInt(None)),
        "byte" => Some(T::TinyInt(None)),
        _ => None,
    }
}

/// `sha2(s, bits)` as `encode(shaN(s), 'hex')`; `count(DISTINCT a, b)` as
/// the count of distinct non-NULL `struct(a, b)` (Spark leaves out a row
/// with a NULL in any of them).
fn spark_call(
    name: &str,
    f: &datafusion::sql::sqlparser::ast::Function,
) -> Option<datafusion::sql::sqlparser::ast::Expr> {
    use datafusion::sql::sqlparser::ast::{
        DuplicateTreatment, FunctionArg, FunctionArgExpr, FunctionArguments,
    };
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let args: Vec<String> = list
        .args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x.to_string()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    let text = match (name, args.as_slice()) {
        ("sha2", [s, bits]) => {
            let f = match bits.trim() {
                "0" | "256" => "sha256",
                "224" => "sha224",
                "384" => "sha384",
                "512" => "sha512",
                _ => return None,
            };
            format!("encode({f}({s}), 'hex')")
        }
        ("count", [_, _, ..])
            if matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct))
                && f.over.is_none()
                && f.filter.is_none() =>
        {
            let any_null: Vec<String> = args.iter().map(|a| format!("({a}) IS NULL")).collect();
            format!(
                "count(DISTINCT CASE WHEN {} THEN NULL ELSE struct({}) END)",
                any_null.join(" OR "),
                args.join(", ")
            )
        }
        _ => return None,
    };
    datafusion::sql::sqlparser::parser::Parser::new(
        &datafusion::sql::sqlparser::dialect::GenericDialect {},
    )
    .try_with_sql(&text)
    .ok()?
    .parse_expr()
    .ok()
}

/// `date_format(x, pattern)` with Spark's Java-style pattern.
#[derive(Debug, PartialEq, Eq, Hash)]
struct DateFormat {
    signature: Signature,
}

impl DateFormat {
    fn new() -> Self {
        DateFormat {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateFormat {
    fn name(&self) -> &str {
        DATE_FORMAT
    }

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        let args: Vec<String> = args.iter().map(|a| a.schema_name().to_string()).collect();
        Ok(format!("date_format({})", args.join(",")))
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        let [x, pattern] = <[Expr; 2]>::try_from(args).map_err(|_| {
            datafusion::common::DataFusionError::Plan(
                "date_format() takes a value and a pattern".into(),
            )
        })?;
        let Expr::Literal(
            datafusion::common::ScalarValue::Utf8(Some(p))
            | datafusion::common::ScalarValue::Utf8View(Some(p))
            | datafusion::common::ScalarValue::LargeUtf8(Some(p)),
            _,
        ) = &pattern
        else {
            return plan_err!("date_format() needs its pattern as a string literal ('yyyy-MM-dd')");
        };
        let x = temporal(x, info);
        Ok(ExprSimplifyResult::Simplified(
            datafusion::functions::datetime::expr_fn::to_char(x, lit(chrono_pattern(p))),
        ))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        exec_err!("date_format() runs only in an optimised plan")
    }
}

/// A Java `DateTimeFormatter` pattern (Spark's) as a chrono one: letters
/// repeated make a field, text in single quotes is literal.
fn chrono_pattern(java: &str) -> String {
    let chars: Vec<char> = java.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // 'text' is literal; '' is a quote.
            let mut j = i + 1;
            if j < chars.len() && chars[j] == '\'' {
                out.push('\'');
                i += 2;
                continue;
            }
            while j < chars.len() && chars[j] != '\'' {
                if chars[j] == '%' {
                    out.push('%');
                }
                out.push(chars[j]);
                j += 1;
            }
            i = j + 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let field = match (c, n) {
            ('y', 2) => "%y",
            ('y', _) => "%Y",
            ('M', 1) => "%-m",
            ('M', 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            ('D', _) => "%j",
            ('H', 1) => "%-H",
            ('H', _) => "%H",
            ('h', 1) => "%-I",
            ('h', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', 1..=3) => "%3f",
            ('S', 4..=6) => "%6f",
            ('S', _) => "%9f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('Z', _) => "%z",
            ('X', _) | ('x', _) => "%:z",
            _ => "",
        };
        if field.is_empty() {
            for _ in 0..n {
                if c == '%' {
                    out.push('%');
                }
                out.push(c);
            }
        } else {
            out.push_str(field);
        }
        i += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_patterns_become_chrono_ones() {
        assert_eq!(chrono_pattern("yyyy/MM/dd"), "%Y/%m/%d");
        assert_eq!(
            chrono_pattern("yyyy-MM-dd HH:mm:ss.SSS"),
            "%Y-%m-%d %H:%M:%S.%3f"
        );
        assert_eq!(chrono_pattern("d MMM yy 'at' h a"), "%-d %b %y at %-I %p");
        assert_eq!(chrono_pattern("EEEE, 100%"), "%A, 100%%");
        assert_eq!(chrono_pattern("''yyyy''"), "'%Y'");
    }
}

//! `date_format(x, pattern)` with Spark's Java-style pattern
//! (`'yyyy/MM/dd'`), which FugueSQL users write; DataFusion's own
//! `date_format` takes chrono's (`'%Y/%m/%d'`) and returned a Java pattern
//! unchanged. Simplified into `to_char` with the pattern translated.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility, lit,
};

use crate::functions::temporal;

/// The name fsql's `date_format` is registered under: DataFusion has a
/// `date_format` of its own (chrono patterns), which a cluster's scheduler
/// may resolve the name to, so user SQL is renamed to this before planning.
pub(crate) const DATE_FORMAT: &str = "fsql_date_format";

/// `date_format(x, pattern)` with Spark's Java-style pattern.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct DateFormat {
    signature: Signature,
}

impl DateFormat {
    pub(crate) fn new() -> Self {
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
pub(crate) fn chrono_pattern(java: &str) -> String {
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

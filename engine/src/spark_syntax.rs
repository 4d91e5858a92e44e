//! Spark syntax DataFusion's SQL planner lacks, rewritten in the syntax
//! tree of a user's SQL statement before DataFusion plans it (see
//! `functions.rs` for the functions it adds as functions).

use crate::date_format::DATE_FORMAT;

/// Spark syntax DataFusion's SQL planner lacks, rewritten in a user's SQL
/// before planning: `date_format(...)` calls renamed to [`DATE_FORMAT`];
/// `IF(c, a, b)` as `CASE WHEN c THEN a ELSE b END`; `x RLIKE p` / `x
/// REGEXP p` as `x ~ p`; `explode(a)` as `unnest(a)`.
pub(crate) fn spark_syntax(stmt: &mut datafusion::sql::sqlparser::ast::Statement) {
    name_casts(stmt);
    use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr as SqlExpr, Ident, ObjectNamePart};
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
                    "sha2" | "count" | "count_if" | "collect_set" | "locate" | "to_timestamp"
                    | "to_date" | "max_by" | "min_by" | "regexp_extract" | "add_months" | "if" => {
                        if let Some(rewritten) = spark_call(&name, f) {
                            *e = rewritten;
                        }
                    }
                    "explode" => *id = Ident::new("unnest"),
                    _ => {}
                }
            }
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// An unaliased `CAST(...)` in a SELECT list is named by its text
/// (`CAST(s AS INT)`), as DuckDB and fugue name it: DataFusion 55 names a
/// cast after its input, so `SELECT CAST(s AS INT), s` failed with two
/// columns named `s`, and the column was called `x.s`.
fn name_casts(stmt: &mut datafusion::sql::sqlparser::ast::Statement) {
    use datafusion::sql::sqlparser::ast::{Expr as SqlExpr, Ident, Query, SelectItem, SetExpr};
    struct Names;
    impl datafusion::sql::sqlparser::ast::VisitorMut for Names {
        type Break = ();
        fn pre_visit_query(&mut self, q: &mut Query) -> std::ops::ControlFlow<()> {
            if let SetExpr::Select(sel) = q.body.as_mut() {
                for item in &mut sel.projection {
                    if let SelectItem::UnnamedExpr(e @ SqlExpr::Cast { .. }) = item {
                        let alias = Ident::with_quote('"', e.to_string());
                        *item = SelectItem::ExprWithAlias {
                            expr: e.clone(),
                            alias,
                        };
                    }
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(stmt, &mut Names);
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

/// `max_by`/`min_by`, `regexp_extract`, `add_months(d, n)` (n a number),
/// `count_if(c)`, `collect_set(x)`, `locate(sub, s)`, `to_timestamp(s,
/// 'dd/MM/yyyy')` / `to_date` with a Java pattern, in DataFusion's words;
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
        ("if", [c, a, b]) => format!("CASE WHEN {c} THEN {a} ELSE {b} END"),
        ("count_if", [c]) => format!("count(CASE WHEN {c} THEN 1 END)"),
        ("max_by", [k, v]) => format!("first_value({k} ORDER BY {v} DESC NULLS LAST)"),
        ("min_by", [k, v]) => format!("first_value({k} ORDER BY {v} ASC NULLS LAST)"),
        // Spark: '' when nothing matches; group 0 is the whole match.
        ("regexp_extract", [s, p, ..]) => {
            let group: usize = match args.get(2) {
                None => 1,
                Some(g) => g.trim().parse().ok()?,
            };
            let (p, group) = if group == 0 {
                (format!("'(' || {p} || ')'"), 1)
            } else {
                (p.clone(), group)
            };
            format!(
                "CASE WHEN {s} IS NULL OR {p} IS NULL THEN NULL \
                 ELSE coalesce(regexp_match({s}, {p})[{group}], '') END"
            )
        }
        ("add_months", [d, n]) => {
            let n: i64 = n.trim().parse().ok()?;
            format!("CAST(CAST({d} AS DATE) + INTERVAL '{n} months' AS DATE)")
        }
        ("collect_set", [x]) => format!("array_agg(DISTINCT {x})"),
        ("locate", [sub, s]) => format!("strpos({s}, {sub})"),
        // A Java-style pattern (Spark's) as chrono's.
        ("to_timestamp" | "to_date", [s, pattern])
            if pattern.starts_with('\'') && pattern.ends_with('\'') && !pattern.contains('%') =>
        {
            let java = &pattern[1..pattern.len() - 1];
            let chrono = crate::date_format::chrono_pattern(java).replace('\'', "''");
            format!("{name}({s}, '{chrono}')")
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

//! Column and row operations: DROP COLUMNS, DROP ROWS IF ALL|ANY NULLS,
//! FILL NULLS, RENAME COLUMNS, ALTER COLUMNS. Each is a projection or filter
//! over the input plan.

use std::collections::HashMap;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::dataframe::DataFrame;
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::logical_expr::{Expr, cast, ident, lit, when};
use fsql_sql::{AlterColumns, DropColumns, DropRows, FillNulls, Literal, RenameColumns, Span};

use super::resolve_column;
use crate::error::{AtSpan, Error, Result};
use crate::session::Session;
use crate::types::{fugue_name, to_arrow};
use crate::udf::checked_cast;

pub(crate) async fn drop_columns(s: &Session, d: &DropColumns, span: Span) -> Result<DataFrame> {
    let df = s.input(d.input.as_ref(), span).await?;
    let mut drop = Vec::new();
    for name in &d.columns {
        match resolve_column(df.schema(), name) {
            Ok(c) => drop.push(c),
            Err(_) if d.if_exists => {}
            Err(e) => return Err(e),
        }
    }
    let keep: Vec<Expr> = df
        .schema()
        .fields()
        .iter()
        .filter(|f| !drop.contains(f.name()))
        .map(|f| ident(f.name()))
        .collect();
    if keep.is_empty() {
        return Err(Error::at(span, "DROP COLUMNS cannot drop every column"));
    }
    df.select(keep).at(span)
}

pub(crate) async fn drop_rows(s: &Session, d: &DropRows, span: Span) -> Result<DataFrame> {
    let df = s.input(d.input.as_ref(), span).await?;
    let columns: Vec<String> = if d.columns.is_empty() {
        df.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    } else {
        d.columns
            .iter()
            .map(|n| resolve_column(df.schema(), n))
            .collect::<Result<_>>()?
    };
    let nulls = columns.iter().map(|c| ident(c).is_null());
    // ALL: drop when every column is NULL; ANY: drop when one is.
    let drop = if d.all {
        nulls.reduce(Expr::and)
    } else {
        nulls.reduce(Expr::or)
    };
    match drop {
        Some(cond) => df.filter(datafusion::logical_expr::not(cond)).at(span),
        None => Ok(df),
    }
}

pub(crate) async fn fill_nulls(s: &Session, f: &FillNulls, span: Span) -> Result<DataFrame> {
    let df = s.input(f.input.as_ref(), span).await?;
    let mut fills: HashMap<String, ScalarValue> = HashMap::new();
    for (name, value) in &f.values.entries {
        let col = resolve_column(df.schema(), name)?;
        let field = df
            .schema()
            .field_with_unqualified_name(&col)
            .at(name.span)?;
        let scalar = literal_scalar(value).ok_or_else(|| {
            Error::at(
                name.span,
                "FILL NULLS takes a number, string or boolean per column",
            )
        })?;
        let typed = scalar.cast_to(field.data_type()).map_err(|_| {
            Error::at(
                name.span,
                format!(
                    "cannot fill column '{col}' of type {} with {value}",
                    fugue_name(field.data_type())
                ),
            )
        })?;
        fills.insert(col, typed);
    }
    let exprs: Vec<Expr> = df
        .schema()
        .fields()
        .iter()
        .map(|fld| match fills.get(fld.name()) {
            Some(v) => coalesce(vec![ident(fld.name()), lit(v.clone())]).alias(fld.name()),
            None => ident(fld.name()),
        })
        .collect();
    df.select(exprs).at(span)
}

fn literal_scalar(l: &Literal) -> Option<ScalarValue> {
    Some(match l {
        Literal::Bool(b) => ScalarValue::Boolean(Some(*b)),
        Literal::String(s) => ScalarValue::Utf8(Some(s.clone())),
        Literal::Number(n) => match n.parse::<i64>() {
            Ok(i) => ScalarValue::Int64(Some(i)),
            Err(_) => ScalarValue::Float64(Some(n.parse().ok()?)),
        },
        _ => return None,
    })
}

pub(crate) async fn rename_columns(
    s: &Session,
    r: &RenameColumns,
    span: Span,
) -> Result<DataFrame> {
    let df = s.input(r.input.as_ref(), span).await?;
    let mut renames: HashMap<String, String> = HashMap::new();
    for (from, to) in &r.pairs {
        let col = resolve_column(df.schema(), from)?;
        renames.insert(col, to.value.clone());
    }
    let names: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| {
            renames
                .get(f.name())
                .cloned()
                .unwrap_or_else(|| f.name().clone())
        })
        .collect();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(Error::at(
                span,
                format!("RENAME COLUMNS would create two columns named '{n}'"),
            ));
        }
    }
    let exprs: Vec<Expr> = df
        .schema()
        .fields()
        .iter()
        .zip(&names)
        .map(|(f, n)| ident(f.name()).alias(n))
        .collect();
    df.select(exprs).at(span)
}

pub(crate) async fn alter_columns(s: &Session, a: &AlterColumns, span: Span) -> Result<DataFrame> {
    let df = s.input(a.input.as_ref(), span).await?;
    let mut types = HashMap::new();
    for field in &a.schema.fields {
        let col = resolve_column(df.schema(), &field.name)?;
        types.insert(col, to_arrow(&field.ty));
    }
    let origin = format!("ALTER COLUMNS at {}:{}", span.start.line, span.start.column);
    let mut exprs: Vec<Expr> = Vec::new();
    for f in df.schema().fields() {
        exprs.push(match types.get(f.name()) {
            Some(t) if f.data_type().is_floating() && is_string(t) => {
                float_to_str(f.name(), t).at(span)?.alias(f.name())
            }
            Some(t) if t != f.data_type() => checked_cast(f.name(), t, &origin).alias(f.name()),
            _ => ident(f.name()),
        });
    }
    df.select(exprs).at(span)
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// A float as text the way fugue's native engine writes it: whole numbers
/// without a fraction (`34.0` → `"34"`), others as they are (`2.5`).
fn float_to_str(name: &str, t: &DataType) -> datafusion::common::Result<Expr> {
    use datafusion::functions::math::expr_fn::abs;
    use datafusion::functions::math::trunc;
    let x = ident(name);
    let whole = x
        .clone()
        .eq(trunc().call(vec![x.clone()]))
        .and(abs(x.clone()).lt(lit(1e15_f64)));
    when(whole, cast(cast(x.clone(), DataType::Int64), t.clone())).otherwise(cast(x, t.clone()))
}

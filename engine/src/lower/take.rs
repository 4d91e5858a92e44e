//! `TAKE n ROWS [FROM df] [PREPARTITION BY keys] [PRESORT ...] [NULLS FIRST|LAST]`.
//!
//! Without keys: the first n rows after PRESORT (or in the input's order).
//! With keys: the first n rows of every key group (NULL keys form a group),
//! by fsql's top-n-per-group operator (`crate::topn`), or, for more than
//! [`crate::topn::MAX_ROWS`] rows or the rare column types it cannot order, as
//! `row_number() OVER (PARTITION BY keys ORDER BY presort)` and a filter. Ties in the
//! presort are broken by the remaining columns in ascending order, so every
//! engine returns the same rows. PRESORT puts NULLs last unless NULLS FIRST.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::dataframe::DataFrame;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{
    Expr, ExprFunctionExt, Extension, LogicalPlan, SortExpr, ident, lit,
};
use fsql_sql::{Span, Take};

use super::resolve_column;
use crate::error::{AtSpan, Result};
use crate::session::Session;
use crate::topn::{OrderKey, TopNNode, TopNSpec};

const ROW_NUMBER: &str = "__fsql_row_number";

pub(crate) async fn take(s: &Session, t: &Take, span: Span) -> Result<DataFrame> {
    let df = s.input(t.input.as_ref(), span).await?;
    let n = t.rows as usize;
    let nulls_first = t.nulls_first.unwrap_or(false);
    let mut sorted: Vec<String> = Vec::new();
    let mut order: Vec<SortExpr> = Vec::new();
    for k in &t.partition.presort {
        let c = resolve_column(df.schema(), &k.column)?;
        order.push(ident(&c).sort(k.ascending, nulls_first));
        sorted.push(c);
    }
    let keys: Vec<String> = t
        .partition
        .by
        .iter()
        .map(|k| resolve_column(df.schema(), k))
        .collect::<Result<_>>()?;
    if keys.is_empty() {
        if order.is_empty() {
            return df.limit(0, Some(n)).at(span);
        }
        order.extend(tie_breakers(&df, &sorted));
        return df.sort(order).at(span)?.limit(0, Some(n)).at(span);
    }
    let presort: Vec<OrderKey> = t
        .partition
        .presort
        .iter()
        .zip(&sorted)
        .map(|(k, c)| OrderKey {
            column: c.clone(),
            descending: !k.ascending,
            nulls_first,
        })
        .collect();
    if let Some(spec) = TopNSpec::build(df.schema().as_arrow(), n, keys.clone(), presort) {
        let (state, input) = df.into_parts();
        let node = TopNNode {
            input,
            spec: Arc::new(spec),
        };
        let plan = LogicalPlan::Extension(Extension {
            node: Arc::new(node),
        });
        return Ok(DataFrame::new(state, plan));
    }
    let mut skip = sorted.clone();
    skip.extend(keys.iter().cloned());
    order.extend(tie_breakers(&df, &skip));
    let columns: Vec<Expr> = df
        .schema()
        .fields()
        .iter()
        .map(|f| ident(f.name()))
        .collect();
    let rn = row_number()
        .partition_by(keys.iter().map(ident).collect())
        .order_by(order)
        .build()
        .at(span)?
        .alias(ROW_NUMBER);
    df.window(vec![rn])
        .at(span)?
        .filter(ident(ROW_NUMBER).lt_eq(lit(n as u64)))
        .at(span)?
        .select(columns)
        .at(span)
}

/// Every sortable column not in `skip`, ascending with NULLs first (NULL smallest).
fn tie_breakers(df: &DataFrame, skip: &[String]) -> Vec<SortExpr> {
    df.schema()
        .fields()
        .iter()
        .filter(|f| !skip.contains(f.name()))
        .filter(|f| !matches!(f.data_type(), DataType::Map(..)))
        .map(|f| ident(f.name()).sort(true, true))
        .collect()
}

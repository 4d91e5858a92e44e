//! `EXCEPT ALL` and `INTERSECT ALL` as SQL defines them (multisets: `[1, 1,
//! 2] EXCEPT ALL [1]` is `[1, 2]`, `INTERSECT ALL` keeps the smaller count),
//! as DuckDB and FugueSQL answer. DataFusion 55 plans them as an anti and a
//! semi join, which drop every copy of a row the other side has once (`[2]`)
//! and keep every copy that matches (found against real fugue). Each is
//! rewritten before planning: both sides number the copies of each row
//! (`ROW_NUMBER() OVER (PARTITION BY every column)`), the distinct set
//! operation runs on (row, copy number), and the number is dropped. Set
//! operations inside an expression's subquery keep DataFusion's meaning.

use datafusion::execution::SessionState;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{
    Ident, Query, SetExpr, SetOperator, SetQuantifier, Statement as SqlStatement, TableFactor,
    TableWithJoins, With,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

type Step<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = datafusion::common::Result<()>> + Send + 'a>,
>;

/// Rewrites the `EXCEPT ALL` / `INTERSECT ALL` operations of `q`: in its
/// body, its CTEs and its derived tables (not in subqueries inside
/// expressions).
pub(crate) fn rewrite<'a>(state: &'a SessionState, q: &'a mut Query) -> Step<'a> {
    Box::pin(async move {
        if let Some(with) = q.with.as_mut() {
            for cte in &mut with.cte_tables {
                rewrite(state, &mut cte.query).await?;
            }
        }
        let with = q.with.clone();
        rewrite_set(state, q.body.as_mut(), with.as_ref()).await
    })
}

fn rewrite_factor<'a>(state: &'a SessionState, f: &'a mut TableFactor) -> Step<'a> {
    Box::pin(async move {
        match f {
            TableFactor::Derived { subquery, .. } => rewrite(state, subquery).await,
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => rewrite_from(state, table_with_joins).await,
            _ => Ok(()),
        }
    })
}

fn rewrite_from<'a>(state: &'a SessionState, t: &'a mut TableWithJoins) -> Step<'a> {
    Box::pin(async move {
        rewrite_factor(state, &mut t.relation).await?;
        for j in &mut t.joins {
            rewrite_factor(state, &mut j.relation).await?;
        }
        Ok(())
    })
}

/// `with`: the CTEs of the query `e` is the body of (its operands may name
/// them).
fn rewrite_set<'a>(
    state: &'a SessionState,
    e: &'a mut SetExpr,
    with: Option<&'a With>,
) -> Step<'a> {
    Box::pin(async move {
        match e {
            SetExpr::Select(sel) => {
                for t in &mut sel.from {
                    rewrite_from(state, t).await?;
                }
                Ok(())
            }
            SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                rewrite_set(state, left.as_mut(), with).await?;
                rewrite_set(state, right.as_mut(), with).await?;
                let all = matches!(set_quantifier, SetQuantifier::All);
                let keyword = match op {
                    SetOperator::Except | SetOperator::Minus => "EXCEPT",
                    SetOperator::Intersect => "INTERSECT",
                    _ => return Ok(()),
                };
                if !all {
                    return Ok(());
                }
                // The left side's column names (a set operation matches the
                // right side's columns by position).
                let probe = Query {
                    body: left.clone(),
                    with: with.cloned(),
                    ..empty_query()
                };
                // A side that does not plan on its own (it names something
                // only the whole statement has) keeps DataFusion's meaning;
                // the statement's own planning reports real errors.
                let Ok(plan) = state
                    .statement_to_plan(DfStatement::Statement(Box::new(SqlStatement::Query(
                        Box::new(probe),
                    ))))
                    .await
                else {
                    return Ok(());
                };
                let names: Vec<String> = plan
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| Ident::with_quote('"', f.name()).to_string())
                    .collect();
                let cols = names.join(", ");
                let text = format!(
                    "SELECT {cols} FROM (\
                     SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {cols}) AS __fsql_copy \
                     FROM ({left}) AS __fsql_left({cols}) \
                     {keyword} \
                     SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {cols}) AS __fsql_copy \
                     FROM ({right}) AS __fsql_right({cols})) AS __fsql_set"
                );
                let query = Parser::new(&GenericDialect {})
                    .try_with_sql(&text)
                    .and_then(|mut p| p.parse_query())
                    .map_err(|e| datafusion::common::DataFusionError::Plan(e.to_string()))?;
                *e = SetExpr::Query(query);
                Ok(())
            }
            SetExpr::Query(q) => rewrite(state, q).await,
            _ => Ok(()),
        }
    })
}

/// A query with no clauses (its body is set by the caller).
fn empty_query() -> Query {
    let parsed = Parser::new(&GenericDialect {})
        .try_with_sql("SELECT 1")
        .and_then(|mut p| p.parse_query())
        .expect("SELECT 1 parses");
    *parsed
}

//! SQL statements. A query without FROM reads the previous dataframe
//! (anonymous chaining); any other SQL DataFusion accepts runs as is.

use datafusion::arrow::array::AsArray;
use std::collections::HashSet;

use datafusion::common::TableReference;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{
    Ident, ObjectName, Query, SetExpr, Statement as SqlStatement, TableFactor, TableWithJoins,
};
use fsql_sql::Span;

use super::case;
use crate::error::{AtSpan, Error, Result};
use crate::session::Session;

/// The table name the previous dataframe is registered under while a
/// FROM-less query is planned.
const PREVIOUS: &str = "__fsql_previous";

pub(crate) async fn query(s: &mut Session, q: &Query, span: Span) -> Result<DataFrame> {
    let mut q = q.clone();
    if let Some(prev) = s.last.clone()
        && set_from_previous_everywhere(&mut q)
    {
        let table = TableReference::bare(PREVIOUS);
        s.ctx.deregister_table(table.clone()).at(span)?;
        s.ctx
            .register_table(table, crate::session::view(&prev))
            .at(span)?;
    }
    let df = plan(s, SqlStatement::Query(Box::new(q)), span).await?;
    check_unique_columns(&df, span)?;
    Ok(df)
}

/// Other SQL statements: DDL and SET run now and produce no dataframe;
/// EXPLAIN, SHOW, DESCRIBE produce one.
pub(crate) async fn sql(
    s: &mut Session,
    stmt: &SqlStatement,
    span: Span,
) -> Result<Option<DataFrame>> {
    if fsql_setting(s, stmt, span)? {
        return Ok(None);
    }
    let df = plan(s, stmt.clone(), span).await?;
    match df.logical_plan() {
        LogicalPlan::Dml(_) => {
            // DML needs its stream; it answers with the rows it wrote.
            let batches = df.collect().await.at(span)?;
            let mut rows = 0u64;
            for b in &batches {
                if let Some(c) = b.column_by_name("count") {
                    let c = datafusion::arrow::compute::cast(
                        c,
                        &datafusion::arrow::datatypes::DataType::UInt64,
                    )
                    .at(span)?;
                    let c = c.as_primitive::<datafusion::arrow::datatypes::UInt64Type>();
                    rows += c.iter().flatten().sum::<u64>();
                }
            }
            s.affected = Some(rows);
            Ok(None)
        }
        LogicalPlan::Ddl(_) | LogicalPlan::Statement(_) => {
            // Run it now: DDL already ran while planning.
            df.collect().await.at(span)?;
            Ok(None)
        }
        _ => Ok(Some(df)),
    }
}

/// `SET fsql.memory_limit = '2G'` ('0': no limit): the session's memory
/// pool from the next statement on. Other `fsql.` names are errors; every
/// other SET is DataFusion's.
fn fsql_setting(s: &mut Session, stmt: &SqlStatement, span: Span) -> Result<bool> {
    use datafusion::sql::sqlparser::ast::{Expr as SqlExpr, Set, Value as SqlValue};
    let SqlStatement::Set(Set::SingleAssignment {
        variable, values, ..
    }) = stmt
    else {
        return Ok(false);
    };
    let name = variable.to_string().to_lowercase();
    if !name.starts_with("fsql.") {
        return Ok(false);
    }
    if name != "fsql.memory_limit" {
        return Err(Error::at(
            span,
            format!("unknown setting '{name}': fsql's own settings are fsql.memory_limit"),
        ));
    }
    let text = match values.as_slice() {
        [SqlExpr::Value(v)] => match &v.value {
            SqlValue::SingleQuotedString(t) | SqlValue::DoubleQuotedString(t) => t.clone(),
            SqlValue::Number(n, _) => n.clone(),
            other => other.to_string(),
        },
        [SqlExpr::Identifier(i)] => i.value.clone(),
        _ => {
            return Err(Error::at(
                span,
                "SET fsql.memory_limit takes a size such as '2G', '512M' or '0' (no limit)",
            ));
        }
    };
    let bytes = crate::limits::parse_size(&text).map_err(|e| Error::at(span, e))?;
    s.set_memory_limit((bytes > 0).then_some(bytes));
    Ok(true)
}

async fn plan(s: &Session, mut stmt: SqlStatement, span: Span) -> Result<DataFrame> {
    // Files named in FROM become tables for as long as planning takes.
    let files = super::paths::register(s, &mut stmt, span).await?;
    let planned = plan_registered(s, stmt, span).await;
    super::paths::deregister(s, &files);
    planned
}

async fn plan_registered(s: &Session, mut stmt: SqlStatement, span: Span) -> Result<DataFrame> {
    let state = s.ctx.state();
    case::fix_tables(&mut stmt, &s.table_names());
    crate::spark_syntax::spark_syntax(&mut stmt);
    if let SqlStatement::Query(q) = &mut stmt {
        super::set_all::rewrite(&state, q).await.at(span)?;
    }
    // Each retry fixes the case of one more column name (see case.rs).
    let mut retries = 0;
    let plan = loop {
        let planned = state
            .statement_to_plan(DfStatement::Statement(Box::new(stmt.clone())))
            .await;
        match planned {
            Ok(plan) => {
                let mut views: HashSet<String> = s.table_names().into_iter().collect();
                views.insert(PREVIOUS.to_string());
                break crate::casts::fugue_casts(plan, &views).at(span)?;
            }
            Err(e) if retries < 32 && case::fix_column(&mut stmt, &e) => retries += 1,
            Err(e) => return Err(Error::datafusion(span, e)),
        }
    };
    s.ctx.execute_logical_plan(plan).await.at(span)
}

/// A plain `SELECT` (not a set operation) with no FROM reads the previous
/// dataframe.
fn reads_previous(q: &Query) -> bool {
    matches!(q.body.as_ref(), SetExpr::Select(sel) if sel.from.is_empty())
}

/// Gives every FROM-less plain `SELECT` of `q` — the statement itself and
/// any query nested in it (a derived table, a subquery, a CTE) — the
/// previous dataframe as its FROM, as FugueSQL does (`SELECT g FROM
/// (SELECT g, ROW_NUMBER() OVER (...) AS rn) WHERE rn = 1` after a LOAD).
/// True when one was found.
fn set_from_previous_everywhere(q: &mut Query) -> bool {
    struct Fill(bool);
    impl datafusion::sql::sqlparser::ast::VisitorMut for Fill {
        type Break = ();
        fn post_visit_query(&mut self, q: &mut Query) -> std::ops::ControlFlow<()> {
            if reads_previous(q) {
                set_from_previous(q);
                self.0 = true;
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut fill = Fill(false);
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(q, &mut fill);
    fill.0
}

fn set_from_previous(q: &mut Query) {
    if let SetExpr::Select(sel) = q.body.as_mut() {
        sel.from = vec![TableWithJoins {
            relation: TableFactor::Table {
                name: ObjectName::from(vec![Ident::new(PREVIOUS)]),
                alias: None,
                args: None,
                with_hints: vec![],
                version: None,
                with_ordinality: false,
                partitions: vec![],
                json_path: None,
                sample: None,
                index_hints: vec![],
            },
            joins: vec![],
        }];
    }
}

/// FugueSQL rejects results with two columns of the same name (e.g.
/// `SELECT * FROM a JOIN b USING` keys written twice); so does fsql.
fn check_unique_columns(df: &DataFrame, span: Span) -> Result<()> {
    let mut seen = HashSet::new();
    for f in df.schema().fields() {
        if !seen.insert(f.name().as_str()) {
            return Err(Error::at(
                span,
                format!(
                    "duplicate column name '{}' in the result; give one of them another name with AS",
                    f.name()
                ),
            ));
        }
    }
    Ok(())
}

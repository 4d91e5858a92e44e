//! Lowering: one function per statement kind, from AST to a DataFusion
//! `DataFrame` (a lazy logical plan). Output statements (PRINT, SAVE) run
//! their plan and return no dataframe.

mod case;
mod columns;
mod create;
mod load;
mod model;
mod paths;
pub(crate) mod print;
mod python;
mod sample;
mod save;
mod select;
mod set_all;
mod take;
mod transform;
mod using;

use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder};
use datafusion::prelude::ParquetReadOptions;
use fsql_sql::{Name, Span, Statement};

use crate::error::{AtSpan, Error, Result};
use crate::session::Session;

pub(crate) async fn statement(
    s: &mut Session,
    statement: &Statement,
    span: Span,
) -> Result<Option<DataFrame>> {
    Ok(match statement {
        Statement::Query(q) => Some(select::query(s, q, span).await?),
        Statement::Sql(stmt) => select::sql(s, stmt, span).await?,
        Statement::CreateData(c) => Some(create::create_data(s, c, span)?),
        Statement::Load(l) => Some(load::load(s, l, span).await?),
        Statement::Save(sv) => save::save(s, sv, span).await?,
        Statement::Print(p) => {
            print::print(s, p, span).await?;
            None
        }
        Statement::Take(t) => Some(take::take(s, t, span).await?),
        Statement::Sample(x) => Some(sample::sample(s, x, span).await?),
        Statement::DropColumns(d) => Some(columns::drop_columns(s, d, span).await?),
        Statement::DropRows(d) => Some(columns::drop_rows(s, d, span).await?),
        Statement::FillNulls(f) => Some(columns::fill_nulls(s, f, span).await?),
        Statement::RenameColumns(r) => Some(columns::rename_columns(s, r, span).await?),
        Statement::AlterColumns(a) => Some(columns::alter_columns(s, a, span).await?),
        Statement::Explain(e) => Some(explain(s, e, span).await?),
        Statement::CreateModel(m) => {
            model::create_model(s, m, span).await?;
            None
        }
        Statement::Predict(p) => Some(model::predict(s, p, span).await?),
        Statement::DescribeModel(n) => Some(model::describe(s, n, span)?),
        Statement::ShowModels => Some(model::show_models(s, span)?),
        Statement::DropModel { name, if_exists } => {
            model::drop_model(s, name, *if_exists)?;
            None
        }
        Statement::ExportModel { name, options } => {
            model::export_model(s, name, options)?;
            None
        }
        Statement::ImportModel {
            name,
            or_replace,
            options,
        } => {
            model::import_model(s, name, *or_replace, options)?;
            None
        }
        Statement::CompareModels(c) => Some(crate::ml::compare::compare_models(s, c, span).await?),
        Statement::CreateExperiment(e) => {
            Some(crate::ml::compare::create_experiment(s, e, span).await?)
        }
        Statement::Transform(t) => transform::transform(s, t, span).await?,
        Statement::Zip(z) => Some(transform::zip(s, z, span).await?),
        Statement::Previous => Some(s.input(None, span).await?),
    })
}

/// `EXPLAIN <FugueSQL statement>`: the plan of the dataframe it produces
/// (on the cluster, with the distributed stages).
async fn explain(s: &mut Session, e: &fsql_sql::Explain, span: Span) -> Result<DataFrame> {
    let df = Box::pin(statement(s, &e.statement, span))
        .await?
        .ok_or_else(|| Error::at(span, "EXPLAIN needs a statement that produces a dataframe"))?;
    df.explain(e.verbose, e.analyze).at(span)
}

/// The column of `schema` that `name` refers to: an exact match, else the
/// only case-insensitive match.
pub(crate) fn resolve_column(schema: &DFSchema, name: &Name) -> Result<String> {
    let fields: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if fields.contains(&name.value.as_str()) {
        return Ok(name.value.clone());
    }
    let matches: Vec<&&str> = fields
        .iter()
        .filter(|f| f.eq_ignore_ascii_case(&name.value))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(Error::at(
            name.span,
            format!(
                "unknown column '{}' (columns: {})",
                name.value,
                fields.join(", ")
            ),
        )),
        _ => Err(Error::at(
            name.span,
            format!("column name '{}' is ambiguous", name.value),
        )),
    }
}

/// Materialises `df` as Parquet files under `path` and continues from them.
pub(crate) async fn checkpoint(
    ctx: &SessionContext,
    df: DataFrame,
    path: &str,
    span: Span,
) -> Result<DataFrame> {
    // The trailing '/' marks a folder wherever the write runs (see save.rs).
    let target = format!("{path}/");
    let schema = df.schema().as_arrow().clone();
    df.write_parquet(
        &target,
        DataFrameWriteOptions::new().with_single_file_output(false),
        None,
    )
    .await
    .at(span)?;
    ctx.read_parquet(target, ParquetReadOptions::default().schema(&schema))
        .await
        .at(span)
}

/// A dataframe over data fsql holds in memory (inline CREATE data, a SAMPLE
/// with replacement). On the cluster it becomes a VALUES plan, which travels
/// inside the serialized plan to wherever it runs; elsewhere an in-memory
/// table.
pub(crate) fn batch_frame(s: &Session, batch: RecordBatch, span: Span) -> Result<DataFrame> {
    if s.engine() != crate::Engine::Cluster {
        return s.ctx.read_batch(batch).at(span);
    }
    let schema = batch.schema();
    let df_schema = Arc::new(DFSchema::try_from(schema.as_ref().clone()).at(span)?);
    let rows = batch.num_rows();
    let mut values = Vec::with_capacity(rows.max(1));
    for row in 0..rows.max(1) {
        let mut exprs = Vec::with_capacity(batch.num_columns());
        for (col, field) in batch.columns().iter().zip(schema.fields()) {
            let value = if rows == 0 {
                ScalarValue::try_from(field.data_type()).at(span)?
            } else {
                ScalarValue::try_from_array(col, row).at(span)?
            };
            exprs.push(Expr::Literal(value, None));
        }
        values.push(exprs);
    }
    // VALUES names its columns column1, column2, ...
    let names = schema.fields().iter().enumerate().map(|(i, f)| {
        Expr::Column(Column::new_unqualified(format!("column{}", i + 1))).alias(f.name())
    });
    let mut plan = LogicalPlanBuilder::values_with_schema(values, &df_schema)
        .and_then(|p| p.project(names))
        .at(span)?;
    if rows == 0 {
        // VALUES needs a row; an empty table is one typed row, limited away.
        plan = plan.limit(0, Some(0)).at(span)?;
    }
    Ok(DataFrame::new(s.ctx.state(), plan.build().at(span)?))
}

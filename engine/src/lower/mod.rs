//! Lowering: one function per statement kind, from AST to a DataFusion
//! `DataFrame` (a lazy logical plan). Output statements (PRINT, SAVE) run
//! their plan and return no dataframe.

mod case;
mod columns;
mod create;
mod load;
pub(crate) mod print;
mod sample;
mod save;
mod select;
mod take;

use std::path::Path;

use datafusion::common::DFSchema;
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::execution::context::SessionContext;
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
        Statement::Previous => Some(s.input(None, span).await?),
    })
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
    path: &Path,
    span: Span,
) -> Result<DataFrame> {
    let target = path.to_string_lossy().to_string();
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

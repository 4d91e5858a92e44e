//! `PRINT [n ROWS] [FROM a, b] [ROWCOUNT] [TITLE 'x']`: runs at most n+1 rows
//! of each dataframe (to know whether there are more) and hands them to the
//! session's sink. PRINT leaves the previous dataframe unchanged.

use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::LogicalPlan;
use fsql_sql::{Print, Span};

use crate::error::{AtSpan, Error, Result};
use crate::output::Printed;
use crate::session::Session;
use crate::sources;

/// Rows PRINT shows when no count is given (FugueSQL's default).
pub(crate) const DEFAULT_ROWS: u64 = 10;

pub(crate) async fn print(s: &mut Session, p: &Print, span: Span) -> Result<()> {
    let limit = p.rows.unwrap_or(DEFAULT_ROWS) as usize;
    let mut frames = Vec::new();
    if p.inputs.is_empty() {
        frames.push(s.input(None, span).await?);
    } else {
        for name in &p.inputs {
            frames.push(s.named(name).await?);
        }
    }
    for (i, df) in frames.into_iter().enumerate() {
        let title = if i == 0 { p.title.clone() } else { None };
        show(s, df, Some(limit), title, p.rowcount, span).await?;
    }
    Ok(())
}

/// Runs at most `limit` (+1) rows of `df` and hands them to the sink; with
/// no limit, every row.
pub(crate) async fn show(
    s: &mut Session,
    df: DataFrame,
    limit: Option<usize>,
    title: Option<String>,
    rowcount: bool,
    span: Span,
) -> Result<()> {
    let schema = Arc::new(df.schema().as_arrow().clone());
    // Errors while reading data name the files the plan reads.
    let plan = df.clone();
    let read_error = |e| sources::name_files(e, &plan);
    let row_count = if rowcount && !is_explain(&df) {
        Some(df.clone().count().await.at(span).map_err(read_error)?)
    } else {
        None
    };
    // An EXPLAIN plan must stay the root of what runs (Ballista refuses a
    // limit above it); its few rows are cut here instead.
    let explain = is_explain(&df);
    let (batches, shown, truncated) = match limit {
        Some(limit) if explain => {
            let batches = df.collect().await.at(span).map_err(read_error)?;
            first_rows(batches, limit)
        }
        Some(limit) => {
            let batches = df
                .limit(0, Some(limit + 1))
                .at(span)?
                .collect()
                .await
                .at(span)
                .map_err(read_error)?;
            first_rows(batches, limit)
        }
        None => {
            let batches = df.collect().await.at(span).map_err(read_error)?;
            let n = batches.iter().map(|b| b.num_rows()).sum();
            (batches, n, false)
        }
    };
    let printed = Printed {
        title,
        schema,
        batches,
        shown,
        truncated,
        row_count,
    };
    s.sink
        .print(printed)
        .map_err(|e| Error::at(span, format!("cannot write PRINT output: {e}")))
}

/// EXPLAIN [ANALYZE] plans.
pub(crate) fn is_explain(df: &DataFrame) -> bool {
    matches!(
        df.logical_plan(),
        LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)
    )
}

/// The first `limit` rows of `batches`, how many there are, and whether
/// more rows were cut.
fn first_rows(batches: Vec<RecordBatch>, limit: usize) -> (Vec<RecordBatch>, usize, bool) {
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut out = Vec::new();
    let mut left = limit;
    for b in batches {
        if left == 0 {
            break;
        }
        let take = b.num_rows().min(left);
        out.push(b.slice(0, take));
        left -= take;
    }
    (out, total.min(limit), total > limit)
}

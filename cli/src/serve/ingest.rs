//! Bulk ingestion (`CommandStatementIngest`, ADBC's `adbc_ingest`): the
//! batches a client sends become a table in memory: shared by every
//! connection, or the connection's own when the client asks for a
//! temporary one. Create, append (same columns) and replace as the
//! client's table options say. On the cluster engine the executors cannot
//! read the server's memory, so ingestion is refused there.

use std::sync::Arc;

use arrow_flight::sql::{CommandStatementIngest, TableExistsOption, TableNotExistOption};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::TableReference;
use datafusion::datasource::MemTable;
use tonic::Status;

use super::auth::Caller;
use super::state::State;

pub async fn ingest(
    state: &State,
    caller: &Caller,
    peer: Option<std::net::SocketAddr>,
    cmd: &CommandStatementIngest,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<i64, Status> {
    if state.base().engine() == fsql_engine::Engine::Cluster {
        return Err(Status::unimplemented(
            "bulk ingestion needs --engine local or threads: the cluster's executors cannot read the server's memory (SAVE the data to a shared path instead)",
        ));
    }
    let (not_exist, exists) = match cmd.table_definition_options {
        Some(o) => (
            TableNotExistOption::try_from(o.if_not_exist).unwrap_or(TableNotExistOption::Create),
            TableExistsOption::try_from(o.if_exists).unwrap_or(TableExistsOption::Fail),
        ),
        None => (TableNotExistOption::Create, TableExistsOption::Fail),
    };
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let reference = match (&cmd.catalog, &cmd.schema) {
        (Some(c), Some(s)) => TableReference::full(c.clone(), s.clone(), cmd.table.clone()),
        (None, Some(s)) => TableReference::partial(s.clone(), cmd.table.clone()),
        _ => TableReference::bare(cmd.table.clone()),
    };
    let conn = state.connection(peer, caller);
    let session = conn.session.lock().await;
    let ctx = session.context().clone();
    let existing = ctx.table_provider(reference.clone()).await.ok();
    let bad = |e: datafusion::error::DataFusionError| Status::invalid_argument(e.to_string());
    let mut parts = vec![batches];
    match (&existing, not_exist, exists) {
        (None, TableNotExistOption::Fail, _) => {
            return Err(Status::not_found(format!(
                "table '{}' does not exist",
                cmd.table
            )));
        }
        (Some(_), _, TableExistsOption::Fail | TableExistsOption::Unspecified) => {
            return Err(Status::already_exists(format!(
                "table '{}' already exists",
                cmd.table
            )));
        }
        (Some(old), _, TableExistsOption::Append) => {
            if old.schema().fields() != schema.fields() {
                return Err(Status::invalid_argument(format!(
                    "table '{}' has columns {:?}; the data sent has {:?}",
                    cmd.table,
                    old.schema()
                        .fields()
                        .iter()
                        .map(|f| f.name())
                        .collect::<Vec<_>>(),
                    schema.fields().iter().map(|f| f.name()).collect::<Vec<_>>()
                )));
            }
            let before = ctx
                .read_table(old.clone())
                .map_err(bad)?
                .collect()
                .await
                .map_err(bad)?;
            parts.insert(0, before);
        }
        _ => {}
    }
    let table = Arc::new(MemTable::try_new(schema, parts).map_err(bad)?);
    if cmd.temporary {
        session
            .register_temporary(&cmd.table, table)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
    } else {
        if existing.is_some() {
            ctx.deregister_table(reference.clone()).map_err(bad)?;
        }
        ctx.register_table(reference, table).map_err(bad)?;
    }
    tracing::info!(user = %caller.0, table = %cmd.table, rows, temporary = cmd.temporary, "ingest");
    Ok(rows as i64)
}

//! The Flight SQL service: arrow-flight's `FlightSqlService` over fsql's
//! sessions. Statements and prepared statements are in `queries.rs`,
//! catalog listings and server facts in `metadata.rs`. Every result's
//! ticket is an opaque handle to a planned query kept in `State`.

use std::pin::Pin;
use std::sync::Arc;

use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, Any, CommandGetCatalogs, CommandGetCrossReference,
    CommandGetDbSchemas, CommandGetExportedKeys, CommandGetImportedKeys, CommandGetPrimaryKeys,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandGetXdbcTypeInfo,
    CommandPreparedStatementQuery, CommandPreparedStatementUpdate, CommandStatementIngest,
    CommandStatementQuery, CommandStatementUpdate, DoPutPreparedStatementResult, ProstMessageExt,
    SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    Action, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse,
    IpcMessage, SchemaAsIpc, Ticket,
};
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::ipc::writer::IpcWriteOptions;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::context::SessionContext;
use futures::{Stream, TryStreamExt};
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use super::auth::{Auth, caller};
use super::metadata;
use super::queries;
use super::state::State;

type DoGetStream = <FsqlFlightSql as FlightService>::DoGetStream;

pub struct FsqlFlightSql {
    pub state: Arc<State>,
    pub auth: Arc<Auth>,
    pub read_only: bool,
}

fn internal(e: impl std::fmt::Display) -> Status {
    Status::internal(e.to_string())
}

fn handle_text(bytes: &[u8]) -> Result<&str, Status> {
    std::str::from_utf8(bytes).map_err(|_| Status::invalid_argument("malformed handle"))
}

/// A FlightInfo for a result with `schema`, fetched with `ticket`.
fn info(
    schema: &Schema,
    ticket: Vec<u8>,
    descriptor: FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(internal)?
        .with_endpoint(FlightEndpoint::new().with_ticket(Ticket::new(ticket)))
        .with_descriptor(descriptor);
    Ok(Response::new(info))
}

/// A FlightInfo whose ticket is the command itself (catalog listings).
fn command_info<M: ProstMessageExt>(
    command: M,
    schema: &Schema,
    descriptor: FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    info(schema, command.as_any().encode_to_vec(), descriptor)
}

/// A ticket for the planned result `handle`.
fn statement_ticket(handle: String) -> Vec<u8> {
    TicketStatementQuery {
        statement_handle: handle.into_bytes().into(),
    }
    .as_any()
    .encode_to_vec()
}

/// One batch as a DoGet stream.
fn one_batch(batch: RecordBatch) -> Response<DoGetStream> {
    let schema = batch.schema();
    let stream = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(futures::stream::once(async move { Ok(batch) }))
        .map_err(Status::from);
    Response::new(Box::pin(stream))
}

/// No rows with `schema` (key listings: fsql's tables have no keys).
fn empty(schema: Schema) -> Result<Response<DoGetStream>, Status> {
    Ok(one_batch(RecordBatch::new_empty(Arc::new(schema))))
}

/// The record batches a DoPut carries.
async fn put_batches(
    request: Request<PeekableFlightDataStream>,
) -> Result<Vec<RecordBatch>, Status> {
    let stream = request
        .into_inner()
        .map_err(arrow_flight::error::FlightError::from);
    FlightRecordBatchStream::new_from_flight_data(stream)
        .try_collect()
        .await
        .map_err(Status::from)
}

impl FsqlFlightSql {
    /// The context of the caller's connection (what metadata lists).
    async fn context<T>(&self, request: &Request<T>) -> SessionContext {
        let conn = self
            .state
            .connection(request.remote_addr(), &caller(request));
        let session = conn.session.lock().await;
        session.context().clone()
    }
}

#[tonic::async_trait]
impl FlightSqlService for FsqlFlightSql {
    type FlightService = FsqlFlightSql;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        // The interceptor checked the credentials (Basic or Bearer).
        let who = caller(&request);
        let token = if self.auth.required() {
            self.auth.issue(&who)
        } else {
            String::new()
        };
        tracing::info!(user = %who.0, peer = ?request.remote_addr(), "handshake");
        let reply = HandshakeResponse {
            protocol_version: 0,
            payload: token.clone().into_bytes().into(),
        };
        let stream: Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>> =
            Box::pin(futures::stream::iter(vec![Ok(reply)]));
        let mut response = Response::new(stream);
        if !token.is_empty() {
            let value: MetadataValue<_> = format!("Bearer {token}").parse().map_err(internal)?;
            response.metadata_mut().insert("authorization", value);
        }
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let who = caller(&request);
        let (schema, handle) =
            queries::run(&self.state, &who, request.remote_addr(), &query.query).await?;
        info(&schema, statement_ticket(handle), request.into_inner())
    }

    async fn get_flight_info_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let who = caller(&request);
        let handle = handle_text(&cmd.prepared_statement_handle)?;
        let (schema, result) =
            queries::execute_prepared(&self.state, &who, request.remote_addr(), handle).await?;
        info(&schema, statement_ticket(result), request.into_inner())
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        command_info(query, &schema, request.into_inner())
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        command_info(query, &schema, request.into_inner())
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        command_info(query, &schema, request.into_inner())
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        command_info(query, &schema, request.into_inner())
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query
            .clone()
            .into_builder(metadata::sql_info(self.read_only))
            .schema();
        command_info(query, &schema, request.into_inner())
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder(metadata::xdbc_types()).schema();
        command_info(query, &schema, request.into_inner())
    }

    async fn get_flight_info_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        command_info(
            query,
            &metadata::primary_keys_schema(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_exported_keys(
        &self,
        query: CommandGetExportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        command_info(
            query,
            &metadata::foreign_keys_schema(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_imported_keys(
        &self,
        query: CommandGetImportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        command_info(
            query,
            &metadata::foreign_keys_schema(),
            request.into_inner(),
        )
    }

    async fn get_flight_info_cross_reference(
        &self,
        query: CommandGetCrossReference,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        command_info(
            query,
            &metadata::foreign_keys_schema(),
            request.into_inner(),
        )
    }

    async fn do_get_primary_keys(
        &self,
        _query: CommandGetPrimaryKeys,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        empty(metadata::primary_keys_schema())
    }

    async fn do_get_exported_keys(
        &self,
        _query: CommandGetExportedKeys,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        empty(metadata::foreign_keys_schema())
    }

    async fn do_get_imported_keys(
        &self,
        _query: CommandGetImportedKeys,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        empty(metadata::foreign_keys_schema())
    }

    async fn do_get_cross_reference(
        &self,
        _query: CommandGetCrossReference,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        empty(metadata::foreign_keys_schema())
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let handle = handle_text(&ticket.statement_handle)?;
        let stream = queries::fetch(&self.state, &caller(&request), handle)?;
        Ok(Response::new(Box::pin(stream)))
    }

    async fn do_get_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        // fsql's FlightInfo for a prepared statement carries a statement
        // ticket; a client that sends the command itself gets it run now.
        let who = caller(&request);
        let handle = handle_text(&cmd.prepared_statement_handle)?;
        let (_, result) =
            queries::execute_prepared(&self.state, &who, request.remote_addr(), handle).await?;
        let stream = queries::fetch(&self.state, &who, &result)?;
        Ok(Response::new(Box::pin(stream)))
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let ctx = self.context(&request).await;
        let mut builder = query.into_builder();
        let mut names = ctx.catalog_names();
        names.sort();
        for name in names {
            builder.append(name);
        }
        Ok(one_batch(builder.build().map_err(internal)?))
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let ctx = self.context(&request).await;
        let mut builder = query.into_builder();
        for catalog in ctx.catalog_names() {
            if let Some(c) = ctx.catalog(&catalog) {
                for schema in c.schema_names() {
                    builder.append(&catalog, schema);
                }
            }
        }
        Ok(one_batch(builder.build().map_err(internal)?))
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let ctx = self.context(&request).await;
        let mut builder = query.into_builder();
        metadata::tables(&ctx, &mut builder)
            .await
            .map_err(internal)?;
        Ok(one_batch(builder.build().map_err(internal)?))
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let mut builder = query.into_builder();
        for t in metadata::TABLE_TYPES {
            builder.append(t);
        }
        Ok(one_batch(builder.build().map_err(internal)?))
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let batch = query
            .into_builder(metadata::sql_info(self.read_only))
            .build()
            .map_err(internal)?;
        Ok(one_batch(batch))
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let batch = query
            .into_builder(metadata::xdbc_types())
            .build()
            .map_err(internal)?;
        Ok(one_batch(batch))
    }

    async fn do_put_statement_update(
        &self,
        ticket: CommandStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let who = caller(&request);
        queries::update(&self.state, &who, request.remote_addr(), &ticket.query).await
    }

    async fn do_put_statement_ingest(
        &self,
        cmd: CommandStatementIngest,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        if self.read_only {
            return Err(Status::permission_denied(
                "this server is read-only: ingestion is refused",
            ));
        }
        let who = caller(&request);
        let peer = request.remote_addr();
        let stream = request
            .into_inner()
            .map_err(arrow_flight::error::FlightError::from);
        let mut decoded = FlightRecordBatchStream::new_from_flight_data(stream);
        let mut batches = Vec::new();
        while let Some(b) = decoded.try_next().await.map_err(Status::from)? {
            batches.push(b);
        }
        let schema = match (decoded.schema(), batches.first()) {
            (Some(s), _) => s.clone(),
            (None, Some(b)) => b.schema(),
            (None, None) => return Err(Status::invalid_argument("no data and no schema sent")),
        };
        super::ingest::ingest(&self.state, &who, peer, &cmd, schema, batches).await
    }

    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let who = caller(&request);
        let handle = handle_text(&query.prepared_statement_handle)?.to_string();
        let batches = put_batches(request).await?;
        queries::bind(&self.state, &who, &handle, &batches)?;
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(handle.into_bytes().into()),
        })
    }

    async fn do_put_prepared_statement_update(
        &self,
        query: CommandPreparedStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let who = caller(&request);
        let peer = request.remote_addr();
        let handle = handle_text(&query.prepared_statement_handle)?.to_string();
        let batches = put_batches(request).await?;
        if batches.iter().any(|b| b.num_rows() > 0) {
            queries::bind(&self.state, &who, &handle, &batches)?;
        }
        queries::update_prepared(&self.state, &who, peer, &handle).await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let who = caller(&request);
        let (handle, dataset, parameters) =
            queries::prepare(&self.state, &who, request.remote_addr(), &query.query).await?;
        let ipc = |schema: &Schema| -> Result<Vec<u8>, Status> {
            let message: IpcMessage = SchemaAsIpc::new(schema, &IpcWriteOptions::default())
                .try_into()
                .map_err(internal)?;
            Ok(message.0.to_vec())
        };
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.into_bytes().into(),
            dataset_schema: ipc(&dataset)?.into(),
            parameter_schema: ipc(&parameters)?.into(),
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        let handle = handle_text(&query.prepared_statement_handle)?;
        // Closing twice (or after expiry) is not an error.
        self.state.close_prepared(handle, &caller(&request));
        Ok(())
    }

    async fn do_get_fallback(
        &self,
        _request: Request<Ticket>,
        message: Any,
    ) -> Result<Response<DoGetStream>, Status> {
        Err(Status::unimplemented(format!(
            "fsql does not serve {} (see docs/serve.md for what it does)",
            message.type_url
        )))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

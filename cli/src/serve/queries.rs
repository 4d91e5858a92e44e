//! Running what clients send: a statement (SQL or a whole FugueSQL script,
//! whose result is the script's last dataframe) in the connection's
//! session (each request is a script of its own: its anonymous chain starts
//! afresh, so `SELECT 1` is a plain query; named dataframes persist), planned to an execution plan whose schema the FlightInfo
//! reports, then streamed batch by batch on DoGet; prepared statements
//! with `$1` / `?` parameters; updates with their row counts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ParamValues;
use datafusion::dataframe::DataFrame;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::execute_stream;
use datafusion::scalar::ScalarValue;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use fsql_sql::Statement;
use futures::{Stream, StreamExt, TryStreamExt};
use tonic::Status;

use super::auth::Caller;
use super::state::{Pending, Prepared, State};

/// An fsql error as a client sees it: the message, and where in the text.
pub fn script_error(e: &fsql_engine::Error) -> Status {
    let at = e
        .span()
        .filter(|s| s.start.line > 0)
        .map(|s| format!(" (line {}, column {})", s.start.line, s.start.column))
        .unwrap_or_default();
    Status::invalid_argument(format!("{}{at}", e.message()))
}

fn df_error(e: impl std::fmt::Display) -> Status {
    Status::invalid_argument(e.to_string())
}

/// Runs `query` in the session of `peer` and plans its result (the last
/// dataframe, if its last statement produced one; else no columns).
pub async fn run(
    state: &State,
    caller: &Caller,
    peer: Option<SocketAddr>,
    query: &str,
) -> Result<(SchemaRef, String), Status> {
    let query = positional_placeholders(query);
    let conn = state.connection(peer, caller);
    let frame = {
        let mut session = conn.session.lock().await;
        session.forget_previous();
        session.run(&query).await.map_err(|e| script_error(&e))?;
        session
            .last_step_produced()
            .then(|| session.last().cloned())
            .flatten()
    };
    hold(state, caller, peer, &query, frame).await
}

/// Plans `frame` and keeps it for its DoGet.
async fn hold(
    state: &State,
    caller: &Caller,
    peer: Option<SocketAddr>,
    query: &str,
    frame: Option<DataFrame>,
) -> Result<(SchemaRef, String), Status> {
    let (plan, task) = match frame {
        Some(df) => {
            let task = Arc::new(df.task_ctx());
            let plan = df.create_physical_plan().await.map_err(df_error)?;
            (plan, task)
        }
        None => {
            let empty: Arc<dyn datafusion::physical_plan::ExecutionPlan> =
                Arc::new(EmptyExec::new(Arc::new(Schema::empty())));
            let task = state.base().context().task_ctx();
            (empty, task)
        }
    };
    let schema = plan.schema();
    let handle = state.hold(Pending {
        plan,
        task,
        caller: caller.clone(),
        query: query.to_string(),
        peer: peer.map(|p| p.to_string()).unwrap_or_default(),
        started: Instant::now(),
    });
    Ok((schema, handle))
}

/// The result `handle` names, as Flight data: the schema first, then the
/// batches as the engine produces them (never the whole result at once).
/// Dropping the stream (a client that went away) cancels the query.
pub fn fetch(
    state: &State,
    caller: &Caller,
    handle: &str,
) -> Result<impl Stream<Item = Result<arrow_flight::FlightData, Status>> + Send + 'static, Status> {
    let p = state.take(handle).ok_or_else(|| {
        Status::not_found("no such result (fetched already, expired, or never made)")
    })?;
    if p.caller != *caller {
        let handle = handle.to_string();
        state.put_back(handle, p);
        return Err(Status::permission_denied(
            "this result belongs to another user",
        ));
    }
    let schema = p.plan.schema();
    let stream = execute_stream(p.plan.clone(), p.task.clone()).map_err(df_error)?;
    let log = QueryLog {
        caller: p.caller.0.clone(),
        peer: p.peer.clone(),
        query: p.query.clone(),
        started: p.started,
        rows: 0,
        failed: false,
    };
    let counted = stream.scan(log, |log, batch| {
        match &batch {
            Ok(b) => log.rows += b.num_rows(),
            Err(_) => log.failed = true,
        }
        futures::future::ready(Some(
            batch.map_err(|e| FlightError::ExternalError(Box::new(e))),
        ))
    });
    Ok(FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(counted)
        .map_err(Status::from))
}

/// Logs a query when its stream ends (fetched, failed or abandoned).
struct QueryLog {
    caller: String,
    peer: String,
    query: String,
    started: Instant,
    rows: usize,
    failed: bool,
}

impl Drop for QueryLog {
    fn drop(&mut self) {
        tracing::info!(
            user = %self.caller,
            peer = %self.peer,
            rows = self.rows,
            ms = self.started.elapsed().as_millis() as u64,
            failed = self.failed,
            "query {}",
            one_line(&self.query)
        );
    }
}

/// A query for a log line: whitespace collapsed, at most 200 characters.
pub fn one_line(q: &str) -> String {
    let flat: String = q.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(200) {
        Some((at, _)) => format!("{}...", &flat[..at]),
        None => flat,
    }
}

/// Runs an update (DDL, SAVE, CREATE MODEL, INSERT ...): the rows it
/// changed where that is known (INSERT and COPY report a count), else 0.
pub async fn update(
    state: &State,
    caller: &Caller,
    peer: Option<SocketAddr>,
    query: &str,
) -> Result<i64, Status> {
    let started = Instant::now();
    let conn = state.connection(peer, caller);
    let (frame, written) = {
        let mut session = conn.session.lock().await;
        session.forget_previous();
        session.run(query).await.map_err(|e| script_error(&e))?;
        let frame = session
            .last_step_produced()
            .then(|| session.last().cloned())
            .flatten();
        (frame, session.affected_rows())
    };
    let count = match (frame, written) {
        (_, Some(n)) => n as i64,
        (Some(df), None) => affected(df).await?,
        (None, None) => 0,
    };
    tracing::info!(
        user = %caller.0,
        rows = count,
        ms = started.elapsed().as_millis() as u64,
        "update {}",
        one_line(query)
    );
    Ok(count)
}

/// Runs `df` (a prepared query executed as an update) and counts its rows.
/// DML never gets here: the engine runs it and reports its count.
async fn affected(df: DataFrame) -> Result<i64, Status> {
    let batches = df.collect().await.map_err(df_error)?;
    Ok(batches.iter().map(|b| b.num_rows() as i64).sum())
}

/// Creates a prepared statement: one query is planned now (its result and
/// parameter schemas are known); a script runs when executed.
pub async fn prepare(
    state: &State,
    caller: &Caller,
    peer: Option<SocketAddr>,
    query: &str,
) -> Result<(String, SchemaRef, SchemaRef), Status> {
    let query = positional_placeholders(query);
    let script = fsql_sql::parse(&query).map_err(|e| script_error(&e.into()))?;
    let single_query = script.steps.len() == 1
        && matches!(script.steps[0].statement, Statement::Query(_))
        && script.steps[0].assign.is_none()
        && script.steps[0].yield_.is_none()
        && script.steps[0].modifiers.is_empty();
    let mut frame = None;
    if single_query {
        let conn = state.connection(peer, caller);
        let mut session = conn.session.lock().await;
        session.forget_previous();
        session
            .run_script(&script)
            .await
            .map_err(|e| script_error(&e))?;
        frame = session.last().cloned();
    }
    let (dataset, parameters) = match &frame {
        Some(df) => (
            Arc::new(df.schema().as_arrow().clone()),
            parameter_schema(df)?,
        ),
        None => (Arc::new(Schema::empty()), Arc::new(Schema::empty())),
    };
    let handle = state.prepare(Prepared::new(query, caller.clone(), frame));
    Ok((handle, dataset, parameters))
}

/// `$1`, `$2`, ... with their types where the plan tells them.
fn parameter_schema(df: &DataFrame) -> Result<SchemaRef, Status> {
    let types = df.logical_plan().get_parameter_types().map_err(df_error)?;
    let mut named: Vec<(usize, String, DataType)> = types
        .into_iter()
        .map(|(name, t)| {
            let at = name
                .strip_prefix('$')
                .and_then(|n| n.parse().ok())
                .unwrap_or(usize::MAX);
            (at, name, t.unwrap_or(DataType::Null))
        })
        .collect();
    named.sort();
    Ok(Arc::new(Schema::new(
        named
            .into_iter()
            .map(|(_, name, t)| Field::new(name, t, true))
            .collect::<Vec<_>>(),
    )))
}

/// Binds the first row of `batches` as the statement's parameters.
pub fn bind(
    state: &State,
    caller: &Caller,
    handle: &str,
    batches: &[RecordBatch],
) -> Result<(), Status> {
    let row: Option<&RecordBatch> = batches.iter().find(|b| b.num_rows() > 0);
    let values: Vec<ScalarValue> = match row {
        Some(b) => {
            if batches.iter().map(|b| b.num_rows()).sum::<usize>() > 1 {
                return Err(Status::invalid_argument(
                    "fsql binds one row of parameters per execution",
                ));
            }
            (0..b.num_columns())
                .map(|c| ScalarValue::try_from_array(b.column(c), 0))
                .collect::<Result<_, _>>()
                .map_err(df_error)?
        }
        None => Vec::new(),
    };
    state
        .with_prepared(handle, caller, |p| p.params = Some(values))
        .ok_or_else(unknown_statement)
}

pub fn unknown_statement() -> Status {
    Status::not_found("no such prepared statement (closed, expired, or never made)")
}

/// A prepared statement's text, plan and bound parameters.
type PreparedParts = (String, Option<DataFrame>, Option<Vec<ScalarValue>>);

/// Prepared statement `handle`'s text, plan and bound parameters.
fn prepared(state: &State, caller: &Caller, handle: &str) -> Result<PreparedParts, Status> {
    state
        .with_prepared(handle, caller, |p| {
            (p.query.clone(), p.frame.clone(), p.params.clone())
        })
        .ok_or_else(unknown_statement)
}

/// Executes prepared statement `handle` as a query: its plan with the
/// bound parameters, or its script run now.
pub async fn execute_prepared(
    state: &State,
    caller: &Caller,
    peer: Option<SocketAddr>,
    handle: &str,
) -> Result<(SchemaRef, String), Status> {
    let (query, frame, params) = prepared(state, caller, handle)?;
    match frame {
        Some(df) => {
            let df = bind_frame(df, params)?;
            hold(state, caller, peer, &query, Some(df)).await
        }
        None => run(state, caller, peer, &query).await,
    }
}

/// Executes prepared statement `handle` as an update.
pub async fn update_prepared(
    state: &State,
    caller: &Caller,
    peer: Option<SocketAddr>,
    handle: &str,
) -> Result<i64, Status> {
    let (query, frame, params) = prepared(state, caller, handle)?;
    match frame {
        Some(df) => affected(bind_frame(df, params)?).await,
        None => update(state, caller, peer, &query).await,
    }
}

fn bind_frame(df: DataFrame, params: Option<Vec<ScalarValue>>) -> Result<DataFrame, Status> {
    let needed = df
        .logical_plan()
        .get_parameter_types()
        .map_err(df_error)?
        .len();
    match params {
        Some(values) if !values.is_empty() || needed == 0 => df
            .with_param_values(ParamValues::from(values))
            .map_err(df_error),
        _ if needed == 0 => Ok(df),
        _ => Err(Status::invalid_argument(format!(
            "the statement has {needed} parameter(s) and none were bound"
        ))),
    }
}

/// `?` placeholders (JDBC's and ODBC's) numbered `$1`, `$2`, ... as
/// DataFusion takes them; `?` inside strings and comments stays.
pub fn positional_placeholders(query: &str) -> String {
    if !query.contains('?') {
        return query.to_string();
    }
    let dialect = GenericDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, query).tokenize_with_location() else {
        return query.to_string();
    };
    // Byte offset of each line's start.
    let mut line_starts = vec![0usize];
    for (i, c) in query.char_indices() {
        if c == '\n' {
            line_starts.push(i + 1);
        }
    }
    let mut at = Vec::new();
    for t in &tokens {
        if matches!(&t.token, Token::Placeholder(p) if p == "?") {
            let (line, col) = (t.span.start.line as usize, t.span.start.column as usize);
            let Some(start) = line_starts.get(line.wrapping_sub(1)) else {
                return query.to_string();
            };
            // Columns count characters from 1.
            let offset = query[*start..]
                .char_indices()
                .nth(col.saturating_sub(1))
                .map(|(o, _)| start + o);
            match offset {
                Some(o) if query[o..].starts_with('?') => at.push(o),
                _ => return query.to_string(),
            }
        }
    }
    let mut out = String::with_capacity(query.len() + at.len() * 2);
    let mut last = 0;
    for (n, o) in at.iter().enumerate() {
        out.push_str(&query[last..*o]);
        out.push_str(&format!("${}", n + 1));
        last = o + 1;
    }
    out.push_str(&query[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_marks_become_numbered() {
        assert_eq!(
            positional_placeholders("SELECT ? AS a, '?' AS b -- ?\n, x FROM t WHERE y = ?"),
            "SELECT $1 AS a, '?' AS b -- ?\n, x FROM t WHERE y = $2"
        );
        assert_eq!(positional_placeholders("SELECT 'é', ?"), "SELECT 'é', $1");
        assert_eq!(positional_placeholders("SELECT $1"), "SELECT $1");
    }

    #[test]
    fn log_lines_are_short() {
        assert_eq!(one_line("SELECT\n  1"), "SELECT 1");
        assert_eq!(one_line(&"x".repeat(300)).len(), 203);
    }
}

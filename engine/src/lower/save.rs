//! `SAVE [AND USE] [df] [PREPARTITION BY ..] OVERWRITE|APPEND|TO [SINGLE] [fmt] 'path'`.
//!
//! Every save writes to a temp sibling of the target first and moves it into
//! place only when the write succeeded, so a failing SAVE leaves the old data
//! untouched. A path with a data file extension ('out.csv') or SINGLE gets
//! one file; other paths a folder of part files (one per partition);
//! PREPARTITION BY writes hive-style `key=value` folders, with
//! NULL keys as `__HIVE_DEFAULT_PARTITION__` (DataFusion alone would write
//! them as `0` or an empty string).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::config::TableParquetOptions;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::file_format::format_as_file_type;
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::logical_expr::{Expr, cast, ident, lit, when};
use fsql_sql::{FileFormat, Save, SaveMode, Span};

use super::load::{ReadOptions, converted, decode_partition_key, read_with_schema};
use super::resolve_column;
use crate::error::{AtSpan, Error, Result};
use crate::files::{self, NULL_PARTITION};
use crate::session::Session;
use crate::write::{CsvSpec, ParquetSpec, WriteFormatFactory, WriteSpec};

pub(crate) async fn save(s: &mut Session, sv: &Save, span: Span) -> Result<Option<DataFrame>> {
    let df = s.input(sv.input.as_ref(), span).await?;
    let format = sv
        .format
        .or_else(|| files::format_from_extension(&sv.path))
        .unwrap_or(FileFormat::Parquet);
    let entries = crate::storage::configure(&s.ctx, &sv.path, sv.path_span, &sv.options.entries)?;
    // The input was planned before this statement's store options were set:
    // run it with the session's settings now (a cluster gets them from here).
    let df = if entries.len() == sv.options.entries.len() {
        df
    } else {
        DataFrame::new(s.ctx.state(), df.logical_plan().clone())
    };
    let opts = ReadOptions::parse(
        format,
        &fsql_sql::Options {
            entries: entries.clone(),
        },
    )?;
    let io_err = |what: &str, e: std::io::Error| {
        Error::at(sv.path_span, format!("cannot {what} '{}': {e}", sv.path))
    };
    let partition_by: Vec<String> = match &sv.partition {
        Some(p) => {
            p.by.iter()
                .map(|n| resolve_column(df.schema(), n))
                .collect::<Result<_>>()?
        }
        None => Vec::new(),
    };
    if crate::storage::is_url(&sv.path) {
        return save_to_store(s, sv, df, format, &opts, &partition_by, span).await;
    }
    // Resolved here, against this process's working directory: on a cluster
    // the files are written by executors, whose working directory differs.
    let target: PathBuf = std::path::absolute(&sv.path).map_err(|e| io_err("resolve", e))?;
    // What a SAVE killed earlier left: old data put back, temporaries removed.
    files::sweep_leftovers(&target);
    let existing = std::fs::symlink_metadata(&target).ok();
    if sv.mode == SaveMode::ErrorIfExists && existing.is_some() {
        return Err(Error::at(
            sv.path_span,
            format!(
                "'{}' already exists; SAVE TO never replaces data (use OVERWRITE or APPEND)",
                sv.path
            ),
        ));
    }
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io_err("create the folder for", e))?;
    }

    let appending_to_file =
        sv.mode == SaveMode::Append && existing.as_ref().is_some_and(|m| !m.is_dir());
    if sv.mode == SaveMode::Append && sv.single && existing.as_ref().is_some_and(|m| m.is_dir()) {
        return Err(Error::at(
            sv.path_span,
            format!("cannot APPEND a SINGLE file to the folder '{}'", sv.path),
        ));
    }
    // A single existing file grows by rewriting old + new rows together.
    let to_write = if appending_to_file {
        let origin = format!("SAVE APPEND at {}:{}", span.start.line, span.start.column);
        let old = read_like(s, &df, &sv.path, format, &opts, &origin, span).await?;
        old.union(df.clone()).at(span)?
    } else {
        df.clone()
    };
    // A path named like a file ('out.csv') gets one file, as FugueSQL's
    // native and DuckDB engines write it; other paths get a folder of parts
    // (SINGLE forces one file). An existing folder keeps growing as a folder.
    let appending_to_dir =
        sv.mode == SaveMode::Append && existing.as_ref().is_some_and(|m| m.is_dir());
    let file_like = partition_by.is_empty()
        && !appending_to_dir
        && files::format_from_extension(&sv.path).is_some();
    let single = sv.single || appending_to_file || file_like;
    let tmp = files::temp_sibling(&target, "tmp");
    if let Err(e) = write(
        to_write.clone(),
        &tmp.to_string_lossy(),
        format,
        single,
        &partition_by,
        &opts,
        span,
    )
    .await
    {
        let _ = files::remove_any(&tmp);
        return Err(crate::sources::name_files(e, &to_write));
    }
    let placed = match (&existing, sv.mode) {
        (Some(m), SaveMode::Append) if m.is_dir() => files::move_files_into(&tmp, &target),
        _ => files::replace(&tmp, &target),
    };
    if let Err(e) = placed {
        let _ = files::remove_any(&tmp);
        return Err(io_err("write", e));
    }
    if !sv.and_use {
        return Ok(None);
    }
    read_back(s, &df, &target, format, &opts, span)
        .await
        .map(Some)
}

/// SAVE to an object store: the same steps as to a local path, with the
/// store's operations. The new data is written under a hidden temporary
/// name next to the target (a single file: one object, uploaded in parts
/// and completed only when the write succeeded); then it is copied into
/// place (one object replaced whole; a folder's parts copied, then the old
/// parts the new ones did not replace deleted) and the temporary objects
/// removed. A failing write leaves the target as it was.
async fn save_to_store(
    s: &Session,
    sv: &Save,
    df: DataFrame,
    format: FileFormat,
    opts: &ReadOptions,
    partition_by: &[String],
    span: Span,
) -> Result<Option<DataFrame>> {
    use crate::storage::{self, Existing};
    let store_err = |what: &str, e: datafusion::common::DataFusionError| {
        let message = Error::datafusion(span, e).message();
        Error::at(
            sv.path_span,
            format!("cannot {what} '{}': {message}", sv.path),
        )
    };
    let existing = storage::existing(&s.ctx, &sv.path)
        .await
        .map_err(|e| store_err("reach", e))?;
    if sv.mode == SaveMode::ErrorIfExists && !matches!(existing, Existing::Nothing) {
        return Err(Error::at(
            sv.path_span,
            format!(
                "'{}' already exists; SAVE TO never replaces data (use OVERWRITE or APPEND)",
                sv.path
            ),
        ));
    }
    let append = sv.mode == SaveMode::Append;
    let appending_to_file = append && matches!(existing, Existing::Object);
    let appending_to_dir = append && matches!(existing, Existing::Folder);
    if appending_to_dir && sv.single {
        return Err(Error::at(
            sv.path_span,
            format!("cannot APPEND a SINGLE file to the folder '{}'", sv.path),
        ));
    }
    let to_write = if appending_to_file {
        let origin = format!("SAVE APPEND at {}:{}", span.start.line, span.start.column);
        let old = read_like(s, &df, &sv.path, format, opts, &origin, span).await?;
        old.union(df.clone()).at(span)?
    } else {
        df.clone()
    };
    let file_like = partition_by.is_empty()
        && !appending_to_dir
        && files::format_from_extension(&sv.path).is_some();
    let single = sv.single || appending_to_file || file_like;
    let tmp = storage::temp_sibling(&sv.path);
    // Removes what was written if this statement fails or is cancelled.
    let guard = storage::TempObjects::new(&s.ctx, &tmp);
    if let Err(e) = write(
        to_write.clone(),
        &tmp,
        format,
        single,
        partition_by,
        opts,
        span,
    )
    .await
    {
        storage::remove_any(&s.ctx, &tmp).await;
        guard.disarm();
        return Err(crate::sources::name_files(e, &to_write));
    }
    if let Err(e) = storage::place(&s.ctx, &tmp, &sv.path, appending_to_dir).await {
        storage::remove_any(&s.ctx, &tmp).await;
        guard.disarm();
        return Err(store_err("write", e));
    }
    guard.disarm();
    if !sv.and_use {
        return Ok(None);
    }
    let origin = format!("SAVE AND USE at {}:{}", span.start.line, span.start.column);
    read_like(s, &df, &sv.path, format, opts, &origin, span)
        .await
        .map(Some)
}

async fn write(
    df: DataFrame,
    path: &str,
    format: FileFormat,
    single: bool,
    partition_by: &[String],
    o: &ReadOptions,
    span: Span,
) -> Result<()> {
    let df = if partition_by.is_empty() {
        df
    } else {
        encode_partitions(df, partition_by, span)?
    };
    let mut path = path.to_string();
    // A folder is also marked by a trailing '/': Ballista does not ship the
    // single-file option to its executors, which then decide by the path.
    if !single {
        path.push('/');
    }
    let schema = df.schema().as_arrow().clone();
    // The session's stores (with a statement's options) list what was written.
    let runtime = df.task_ctx().runtime_env();
    write_files(df, &path, format, single, partition_by, o, span).await?;
    let empty = if crate::storage::is_url(&path) {
        let ctx = datafusion::prelude::SessionContext::new_with_config_rt(
            datafusion::prelude::SessionConfig::new(),
            runtime,
        );
        crate::storage::list(&ctx, &path).await.at(span)?.is_empty()
    } else {
        !has_files(Path::new(&path))
    };
    if !single && partition_by.is_empty() && empty {
        // No rows, no part files (the cluster's executors write none): one
        // empty part keeps the schema, so the folder loads back as empty.
        let empty = crate::engine::local_context(crate::Engine::Local)
            .read_batch(RecordBatch::new_empty(Arc::new(schema)))
            .at(span)?;
        let part = format!("{path}part-0.{}", files::extension(format));
        write_files(empty, &part, format, true, &[], o, span).await?;
    }
    Ok(())
}

async fn write_files(
    df: DataFrame,
    path: &str,
    format: FileFormat,
    single: bool,
    partition_by: &[String],
    o: &ReadOptions,
    span: Span,
) -> Result<()> {
    match format {
        FileFormat::Csv => {
            let spec = WriteSpec::Csv(CsvSpec {
                header: o.header,
                delimiter: o.delimiter,
                quote: o.quote,
                escape: o.escape,
                null_value: o.null_value.clone(),
            });
            copy(df, path, spec, single, partition_by).await.at(span)?;
        }
        FileFormat::Json => {
            copy(df, path, WriteSpec::Json, single, partition_by)
                .await
                .at(span)?;
        }
        FileFormat::Parquet => {
            let mut parquet = TableParquetOptions::default();
            if let Some(c) = &o.compression {
                parquet.global.compression = Some(c.clone());
            }
            let spec = WriteSpec::Parquet(ParquetSpec::new(&parquet));
            copy(df, path, spec, single, partition_by).await.at(span)?;
        }
    }
    // A folder write may create no file at all; the folder must still exist.
    if path.ends_with('/') && !crate::storage::is_url(path) && !Path::new(path).exists() {
        std::fs::create_dir_all(path)
            .map_err(|e| Error::at(span, format!("cannot create '{path}': {e}")))?;
    }
    Ok(())
}

/// Writes `df` through fsql's own file format (`write`),
/// the way `DataFrame::write_csv` plans a copy.
async fn copy(
    df: DataFrame,
    path: &str,
    spec: WriteSpec,
    single: bool,
    partition_by: &[String],
) -> datafusion::common::Result<()> {
    let file_type = format_as_file_type(Arc::new(WriteFormatFactory { spec }));
    let options = HashMap::from([("single_file_output".to_string(), single.to_string())]);
    let (state, plan) = df.into_parts();
    let plan = LogicalPlanBuilder::copy_to(
        plan,
        path.to_string(),
        file_type,
        options,
        partition_by.to_vec(),
    )?
    .build()?;
    DataFrame::new(state, plan).collect().await?;
    Ok(())
}

/// True when `dir` holds at least one file (at any depth).
fn has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let p = e.path();
            if p.is_dir() { has_files(&p) } else { true }
        })
    })
}

/// Partition keys become strings, NULL as Hive's default-partition marker.
fn encode_partitions(df: DataFrame, keys: &[String], span: Span) -> Result<DataFrame> {
    let exprs: Vec<Expr> = df
        .schema()
        .fields()
        .iter()
        .map(|f| {
            if keys.contains(f.name()) {
                when(ident(f.name()).is_null(), lit(NULL_PARTITION))
                    .otherwise(cast(ident(f.name()), DataType::Utf8))
                    .map(|e| e.alias(f.name()))
            } else {
                Ok(ident(f.name()))
            }
        })
        .collect::<datafusion::common::Result<_>>()
        .at(span)?;
    df.select(exprs).at(span)
}

/// SAVE AND USE: continue from the saved files, with the original column
/// order and types.
async fn read_back(
    s: &Session,
    original: &DataFrame,
    target: &Path,
    format: FileFormat,
    o: &ReadOptions,
    span: Span,
) -> Result<DataFrame> {
    let path = target.to_string_lossy().to_string();
    let origin = format!("SAVE AND USE at {}:{}", span.start.line, span.start.column);
    read_like(s, original, &path, format, o, &origin, span).await
}

/// The files at `path` (as SAVE wrote them) with `like`'s columns, in its
/// order and types: partition folders decoded, CSV read as text and
/// converted as LOAD ... COLUMNS converts it.
async fn read_like(
    s: &Session,
    like: &DataFrame,
    path: &str,
    format: FileFormat,
    o: &ReadOptions,
    origin: &str,
    span: Span,
) -> Result<DataFrame> {
    let source = crate::storage::inspect_any(&s.ctx, path)
        .await
        .map_err(|e| Error::at(span, format!("cannot read back '{path}': {e}")))?;
    let part_names: Vec<&String> = source.partitions.iter().map(|(k, _)| k).collect();
    let file_fields: Vec<_> = like
        .schema()
        .fields()
        .iter()
        .filter(|f| !part_names.contains(&f.name()))
        .map(|f| match format {
            FileFormat::Csv => Field::new(f.name(), DataType::Utf8, true),
            _ => f.as_ref().clone(),
        })
        .collect();
    let schema = Schema::new(file_fields);
    let df = read_with_schema(&s.ctx, path, format, &source, o, &schema, span).await?;
    let exprs: Vec<Expr> = like
        .schema()
        .fields()
        .iter()
        .map(|f| {
            if part_names.contains(&f.name()) {
                decode_partition_key(f.name(), f.data_type())
            } else if format == FileFormat::Csv {
                Ok(converted(&df, format, f.name(), f.data_type(), origin).alias(f.name()))
            } else {
                Ok(ident(f.name()))
            }
        })
        .collect::<datafusion::common::Result<_>>()
        .at(span)?;
    df.select(exprs).at(span)
}

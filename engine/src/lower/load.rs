//! `LOAD [CSV|PARQUET|JSON] 'path' [(options)] [COLUMNS ...]`: a lazy scan of
//! a file, a folder of parts (hive-style partition folders become columns) or
//! a glob. FugueSQL defaults: CSV has no header unless `header=true`, and its
//! columns are strings unless `infer_schema=true` or COLUMNS gives types.

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::dataframe::DataFrame;
use datafusion::functions::expr_fn::decode;
use datafusion::logical_expr::{Expr, cast, ident, lit, when};
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionContext};
use fsql_sql::{Columns, FileFormat, Literal, Load, Name, Options, Span};

use super::resolve_column;
use crate::error::{AtSpan, Error, Result};
use crate::files::{self, NULL_PARTITION, Source};
use crate::session::Session;
use crate::types::schema_to_arrow;

pub(crate) async fn load(s: &Session, l: &Load, span: Span) -> Result<DataFrame> {
    let entries = crate::storage::configure(&s.ctx, &l.path, l.path_span, &l.options.entries)?;
    let l = &Load {
        options: Options { entries },
        ..l.clone()
    };
    let source = crate::storage::inspect_any(&s.ctx, &l.path)
        .await
        .map_err(|e| {
            let what = if e.kind() == std::io::ErrorKind::NotFound {
                "file not found".to_string()
            } else {
                e.to_string()
            };
            Error::at(l.path_span, format!("cannot load '{}': {what}", l.path))
        })?;
    let format = l
        .format
        .or_else(|| files::format_from_extension(&source.extension))
        .or_else(|| files::format_from_extension(&l.path))
        .ok_or_else(|| {
            Error::at(
                l.path_span,
                format!(
                    "cannot tell the format of '{}': write LOAD CSV, LOAD PARQUET or LOAD JSON",
                    l.path
                ),
            )
        })?;
    let opts = ReadOptions::parse(format, &l.options)?;
    let declared_schema = match &l.columns {
        Some(Columns::Schema(schema)) => Some(schema_to_arrow(schema)),
        _ => None,
    };
    let df = match format {
        FileFormat::Csv => {
            read_csv(
                &s.ctx,
                &l.path,
                &source,
                &opts,
                declared_schema.as_deref(),
                span,
            )
            .await?
        }
        FileFormat::Json => match &l.columns {
            Some(Columns::Schema(schema)) => {
                // JSON values are read straight into the declared types (a
                // big integer or a decimal through an inferred double would
                // lose digits; binary comes back from its hex).
                let declared: Vec<(String, DataType)> = schema
                    .fields
                    .iter()
                    .map(|f| (f.name.value.clone(), crate::types::to_arrow(&f.ty)))
                    .collect();
                let file =
                    json_file_schema(s, &l.path, &source, &opts, schema, &declared, span).await?;
                read_with_schema(&s.ctx, &l.path, format, &source, &opts, &file, span).await?
            }
            _ => read(&s.ctx, &l.path, format, &source, &opts, None, span).await?,
        },
        FileFormat::Parquet => read(&s.ctx, &l.path, format, &source, &opts, None, span).await?,
    };
    let df = decode_partitions(df, &source, span)?;
    match &l.columns {
        None => Ok(df),
        Some(Columns::Names(names)) => select_columns(df, names, span),
        Some(Columns::Schema(schema)) => {
            let mut columns = Vec::new();
            for f in &schema.fields {
                let col = resolve_column(df.schema(), &f.name)?;
                columns.push((col, crate::types::to_arrow(&f.ty), f.name.value.clone()));
            }
            let origin = format!("LOAD at {}:{}", span.start.line, span.start.column);
            typed(df, format, &columns, &origin, span)
        }
    }
}

/// `df`'s `columns` (name in `df`, type, name to give it) converted to
/// their types, in that order. A value that does not convert is an error
/// naming `origin`.
pub(crate) fn typed(
    df: DataFrame,
    format: FileFormat,
    columns: &[(String, DataType, String)],
    origin: &str,
    span: Span,
) -> Result<DataFrame> {
    let exprs: Vec<Expr> = columns
        .iter()
        .map(|(col, t, alias)| converted(&df, format, col, t, origin).alias(alias))
        .collect();
    df.select(exprs).at(span)
}

/// Column `col` of `df` converted to `t` (see [`typed`]). Text read from
/// CSV becomes binary from its hex, the form fsql writes binary in.
pub(crate) fn converted(
    df: &DataFrame,
    format: FileFormat,
    col: &str,
    t: &DataType,
    origin: &str,
) -> Expr {
    let text = df
        .schema()
        .field_with_unqualified_name(col)
        .is_ok_and(|c| c.data_type() == &DataType::Utf8);
    if format == FileFormat::Csv && text && t == &DataType::Binary {
        crate::udf::checked(decode(ident(col), lit("hex")), col, t, origin)
    } else {
        crate::udf::checked_cast(col, t, origin)
    }
}

/// The file schema a JSON source is read with under COLUMNS: the declared
/// columns with their types (others are not read). A declared column the
/// files lack is an error when the files' own schema can be inferred (it
/// cannot when a column's values differ in kind between files, e.g. NaN
/// written as a string in one part and numbers in another).
async fn json_file_schema(
    s: &Session,
    path: &str,
    source: &Source,
    opts: &ReadOptions,
    schema: &fsql_sql::Schema,
    declared: &[(String, DataType)],
    span: Span,
) -> Result<Schema> {
    let mut names: Vec<String> = declared.iter().map(|(n, _)| n.clone()).collect();
    if let Ok(inferred) = read(&s.ctx, path, FileFormat::Json, source, opts, None, span).await {
        for (i, f) in schema.fields.iter().enumerate() {
            names[i] = resolve_column(inferred.schema(), &f.name)?;
        }
    }
    Ok(Schema::new(
        names
            .iter()
            .zip(declared)
            .filter(|(n, _)| !source.partitions.iter().any(|(k, _)| &k == n))
            .map(|(n, (_, t))| Field::new(n, t.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

fn select_columns(df: DataFrame, names: &[Name], span: Span) -> Result<DataFrame> {
    let mut exprs = Vec::new();
    for n in names {
        exprs.push(ident(resolve_column(df.schema(), n)?));
    }
    df.select(exprs).at(span)
}

/// Options LOAD and SAVE understand, checked per format.
#[derive(Debug, Clone)]
pub(crate) struct ReadOptions {
    pub header: bool,
    pub infer_schema: bool,
    pub delimiter: u8,
    pub quote: u8,
    pub escape: Option<u8>,
    pub comment: Option<u8>,
    pub null_value: Option<String>,
    pub compression: Option<String>,
}

impl ReadOptions {
    pub(crate) fn parse(format: FileFormat, options: &Options) -> Result<Self> {
        let mut o = ReadOptions {
            header: false,
            infer_schema: false,
            delimiter: b',',
            quote: b'"',
            escape: None,
            comment: None,
            null_value: None,
            compression: None,
        };
        let valid: &[&str] = match format {
            FileFormat::Csv => &[
                "header",
                "infer_schema",
                "delimiter",
                "sep",
                "quote",
                "escape",
                "comment",
                "null_value",
            ],
            FileFormat::Parquet => &["compression"],
            FileFormat::Json => &[],
        };
        for (key, value) in &options.entries {
            let k = key.value.to_lowercase();
            if !valid.contains(&k.as_str()) {
                return Err(Error::at(
                    key.span,
                    format!(
                        "unknown {format} option '{}'; valid options: {}",
                        key.value,
                        if valid.is_empty() {
                            "none".to_string()
                        } else {
                            valid.join(", ")
                        }
                    ),
                ));
            }
            match k.as_str() {
                "header" => o.header = bool_option(key, value)?,
                "infer_schema" => o.infer_schema = bool_option(key, value)?,
                "delimiter" | "sep" => o.delimiter = char_option(key, value)?,
                "quote" => o.quote = char_option(key, value)?,
                "escape" => o.escape = Some(char_option(key, value)?),
                "comment" => o.comment = Some(char_option(key, value)?),
                "null_value" => o.null_value = Some(string_option(key, value)?),
                "compression" => o.compression = Some(string_option(key, value)?),
                _ => {}
            }
        }
        Ok(o)
    }
}

fn bool_option(key: &Name, v: &Literal) -> Result<bool> {
    match v {
        Literal::Bool(b) => Ok(*b),
        Literal::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Literal::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Error::at(
            key.span,
            format!("option '{}' must be true or false", key.value),
        )),
    }
}

fn string_option(key: &Name, v: &Literal) -> Result<String> {
    match v {
        Literal::String(s) => Ok(s.clone()),
        Literal::Number(n) => Ok(n.clone()),
        _ => Err(Error::at(
            key.span,
            format!("option '{}' must be a string", key.value),
        )),
    }
}

fn char_option(key: &Name, v: &Literal) -> Result<u8> {
    let s = string_option(key, v)?;
    let s = if s == "\\t" { "\t".to_string() } else { s };
    match s.as_bytes() {
        [b] => Ok(*b),
        _ => Err(Error::at(
            key.span,
            format!("option '{}' must be a single character", key.value),
        )),
    }
}

/// Reads a CSV source following FugueSQL's rules for header, inference and
/// COLUMNS types.
async fn read_csv(
    ctx: &SessionContext,
    path: &str,
    source: &Source,
    o: &ReadOptions,
    typed: Option<&Schema>,
    span: Span,
) -> Result<DataFrame> {
    if !o.header && typed.is_none() {
        return Err(Error::at(
            span,
            "a CSV without a header needs its columns: add (header=true) or COLUMNS a:type, b:type",
        ));
    }
    let schema: Option<Schema> = match (o.header, typed) {
        // No header: the COLUMNS schema names the fields by position
        // (partition columns come from folder names, not the files). They
        // are read as text and converted as COLUMNS says, as with a header.
        (false, Some(t)) => Some(Schema::new(
            t.fields()
                .iter()
                .filter(|f| !source.partitions.iter().any(|(k, _)| k == f.name()))
                .map(|f| Field::new(f.name(), DataType::Utf8, true))
                .collect::<Vec<_>>(),
        )),
        // Header, no inference: every column is a string (COLUMNS casts later).
        (true, _) if !o.infer_schema => {
            let names = read(ctx, path, FileFormat::Csv, source, o, Some(0), span).await?;
            let file_fields: Vec<Field> = names
                .schema()
                .fields()
                .iter()
                .filter(|f| !source.partitions.iter().any(|(k, _)| k == f.name()))
                .map(|f| Field::new(f.name(), DataType::Utf8, true))
                .collect();
            Some(Schema::new(file_fields))
        }
        _ => None,
    };
    match schema {
        Some(schema) => {
            read_with_schema(ctx, path, FileFormat::Csv, source, o, &schema, span).await
        }
        None => read(ctx, path, FileFormat::Csv, source, o, None, span).await,
    }
}

/// Scans `path`, inferring the schema (`infer_records` limits inference).
pub(crate) async fn read(
    ctx: &SessionContext,
    path: &str,
    format: FileFormat,
    source: &Source,
    o: &ReadOptions,
    infer_records: Option<usize>,
    span: Span,
) -> Result<DataFrame> {
    scan(ctx, path, format, source, o, None, infer_records, span).await
}

/// Scans `path` with a known file schema (partition columns excluded).
pub(crate) async fn read_with_schema(
    ctx: &SessionContext,
    path: &str,
    format: FileFormat,
    source: &Source,
    o: &ReadOptions,
    schema: &Schema,
    span: Span,
) -> Result<DataFrame> {
    scan(ctx, path, format, source, o, Some(schema), None, span).await
}

/// Scans `path`. With CSV's `null_value`, the files are read as text and
/// that text becomes NULL (as does an empty field, as in pandas), then the
/// columns take their inferred types: DataFusion 55 uses the option only to
/// infer the schema, and its reader would fail on `NA` in a number column.
#[allow(clippy::too_many_arguments)]
async fn scan(
    ctx: &SessionContext,
    path: &str,
    format: FileFormat,
    source: &Source,
    o: &ReadOptions,
    schema: Option<&Schema>,
    infer_records: Option<usize>,
    span: Span,
) -> Result<DataFrame> {
    let null_text = match (&o.null_value, format) {
        (Some(n), FileFormat::Csv) => n.clone(),
        _ => return scan_files(ctx, path, format, source, o, schema, infer_records, span).await,
    };
    let (df, types) = match schema {
        Some(schema) => {
            let df = scan_files(ctx, path, format, source, o, Some(schema), None, span).await?;
            (df, None)
        }
        None => {
            let inferred =
                scan_files(ctx, path, format, source, o, None, infer_records, span).await?;
            let is_partition = |name: &str| source.partitions.iter().any(|(k, _)| k == name);
            let text = Schema::new(
                inferred
                    .schema()
                    .fields()
                    .iter()
                    .filter(|f| !is_partition(f.name()))
                    .map(|f| Field::new(f.name(), DataType::Utf8, true))
                    .collect::<Vec<_>>(),
            );
            let types: Vec<DataType> = inferred
                .schema()
                .fields()
                .iter()
                .map(|f| f.data_type().clone())
                .collect();
            let df = scan_files(ctx, path, format, source, o, Some(&text), None, span).await?;
            (df, Some(types))
        }
    };
    let exprs: Vec<Expr> = df
        .schema()
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let c = ident(f.name());
            let partition = source.partitions.iter().any(|(k, _)| k == f.name());
            let c = if f.data_type() == &DataType::Utf8 && !partition {
                datafusion::functions::expr_fn::nullif(c, lit(null_text.clone()))
            } else {
                c
            };
            match types.as_ref().map(|t| &t[i]) {
                Some(t) if t != f.data_type() => cast(c, t.clone()),
                _ => c,
            }
            .alias(f.name())
        })
        .collect();
    df.select(exprs).at(span)
}

#[allow(clippy::too_many_arguments)]
async fn scan_files(
    ctx: &SessionContext,
    path: &str,
    format: FileFormat,
    source: &Source,
    o: &ReadOptions,
    schema: Option<&Schema>,
    infer_records: Option<usize>,
    span: Span,
) -> Result<DataFrame> {
    let partition_cols: Vec<(String, DataType)> = source
        .partitions
        .iter()
        .map(|(k, _)| (k.clone(), DataType::Utf8))
        .collect();
    let mut ext = source.extension.clone();
    // DataFusion treats a path ending in '/' as a folder.
    let path = if source.is_dir && !path.ends_with('/') {
        format!("{path}/")
    } else {
        path.to_string()
    };
    // DataFusion globs local paths only: a store URL's pattern is matched
    // here, and the objects it matches are read.
    let paths: Vec<String> = if crate::storage::is_url(&path) && crate::files::has_glob(&path) {
        crate::storage::expand_glob(ctx, &path)
            .await
            .map_err(|e| Error::at(span, format!("cannot load '{path}': {e}")))?
    } else {
        vec![path.clone()]
    };
    if crate::files::has_glob(&ext) {
        // `sales.parq*`: the matched files' own extension.
        ext = paths
            .first()
            .and_then(|p| p.rsplit('/').next())
            .and_then(|n| n.rfind('.').map(|i| n[i..].to_string()))
            .unwrap_or_default();
    }
    let ext = ext.as_str();
    let result = match format {
        FileFormat::Csv => {
            let mut opts = CsvReadOptions::new()
                .has_header(o.header)
                .delimiter(o.delimiter)
                .quote(o.quote)
                .file_extension(ext)
                .table_partition_cols(partition_cols);
            if let Some(e) = o.escape {
                opts = opts.escape(e);
            }
            if let Some(c) = o.comment {
                opts = opts.comment(c);
            }
            if let Some(n) = &o.null_value {
                opts = opts.null_regex(Some(regex_escape(n)));
            }
            if let Some(n) = infer_records {
                opts = opts.schema_infer_max_records(n);
            }
            if let Some(s) = schema {
                opts = opts.schema(s);
            }
            ctx.read_csv(paths, opts).await
        }
        FileFormat::Parquet => {
            let mut opts = ParquetReadOptions::default().table_partition_cols(partition_cols);
            opts.file_extension = ext;
            if let Some(s) = schema {
                opts = opts.schema(s);
            }
            ctx.read_parquet(paths, opts).await
        }
        FileFormat::Json => {
            let mut opts = JsonReadOptions::default()
                .file_extension(ext)
                .table_partition_cols(partition_cols);
            if let Some(s) = schema {
                opts = opts.schema(s);
            }
            ctx.read_json(paths, opts).await
        }
    };
    result.map_err(|e| {
        let inner = Error::datafusion(span, e).message();
        let why = if inner.starts_with("No files found") {
            "no data files there (an empty folder, or a pattern that matches nothing)".to_string()
        } else {
            inner
        };
        Error::at(
            span,
            format!("cannot load '{}': {why}", path.trim_end_matches('/')),
        )
    })
}

fn regex_escape(s: &str) -> String {
    let mut out = String::from("^");
    for ch in s.chars() {
        if "\\.+*?()|[]{}^$".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('$');
    out
}

/// Partition folder values come back as strings; NULL keys were written as
/// Hive's default-partition marker. Whole numbers become `long`, other
/// numbers `double`.
fn decode_partitions(df: DataFrame, source: &Source, span: Span) -> Result<DataFrame> {
    if source.partitions.is_empty() {
        return Ok(df);
    }
    let mut exprs: Vec<Expr> = Vec::new();
    for f in df.schema().fields() {
        let Some((_, values)) = source.partitions.iter().find(|(k, _)| k == f.name()) else {
            exprs.push(ident(f.name()));
            continue;
        };
        let real: Vec<&String> = values.iter().filter(|v| *v != NULL_PARTITION).collect();
        let t = if !real.is_empty() && real.iter().all(|v| v.parse::<i64>().is_ok()) {
            DataType::Int64
        } else if !real.is_empty() && real.iter().all(|v| v.parse::<f64>().is_ok()) {
            DataType::Float64
        } else {
            DataType::Utf8
        };
        exprs.push(decode_partition_key(f.name(), &t).at(span)?);
    }
    df.select(exprs).at(span)
}

/// A partition column read back from folder names: the NULL marker becomes
/// NULL, other values are cast to `t`.
pub(crate) fn decode_partition_key(name: &str, t: &DataType) -> datafusion::common::Result<Expr> {
    let null = datafusion::common::ScalarValue::try_from(t)?;
    Ok(when(ident(name).eq(lit(NULL_PARTITION)), lit(null))
        .otherwise(cast(ident(name), t.clone()))?
        .alias(name))
}

//! Files queried where they are, as DuckDB and datafusion-cli users write
//! them: `FROM 'sales.csv'`, `FROM 'data/*.parquet'`, and DuckDB's table
//! functions `read_csv('x.csv', header = true)`, `read_parquet(...)`,
//! `read_json(...)`. Each is read as LOAD reads it (so globs, folders of
//! parts and every engine work the same) and stands in the query under the
//! file's stem (`sales`) unless the query gives an alias. A bare path reads
//! a CSV file with a header and inferred types (the SQL habit; LOAD keeps
//! FugueSQL's defaults); the table functions start from the same defaults
//! and take LOAD's options. A file that is not there is "no such file" at
//! the path.

use std::ops::ControlFlow;

use datafusion::common::TableReference;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, Ident, ObjectNamePart, Statement,
    TableAlias, TableFactor, Value, VisitMut, VisitorMut,
};
use fsql_sql::{Columns, Field, FileFormat, Literal, Load, Name, Options, Schema, Span, TypeName};

use super::load::load;
use crate::error::{AtSpan, Error, Result};
use crate::session::Session;

/// A file named in a FROM clause, and the name it was replaced by.
struct FileTable {
    table: String,
    path: String,
    path_span: Span,
    format: Option<FileFormat>,
    options: Vec<(Name, Literal)>,
}

/// Replaces the files named in `stmt`'s FROM clauses by tables reading
/// them (registered in the session) and returns those tables' names, to be
/// deregistered once the statement is planned.
pub(crate) async fn register(s: &Session, stmt: &mut Statement, span: Span) -> Result<Vec<String>> {
    let mut finder = Finder {
        found: Vec::new(),
        error: None,
    };
    let _ = stmt.visit(&mut finder);
    if let Some(e) = finder.error {
        return Err(e);
    }
    for f in &finder.found {
        s.policy.check_path(&f.path, f.path_span)?;
    }
    let mut registered = Vec::new();
    for f in finder.found {
        let result = read(s, &f, span).await.and_then(|df| {
            s.ctx
                .register_table(
                    TableReference::bare(f.table.clone()),
                    crate::session::view(&df),
                )
                .at(span)
        });
        if let Err(e) = result {
            deregister(s, &registered);
            return Err(e);
        }
        registered.push(f.table);
    }
    Ok(registered)
}

/// Removes the tables [`register`] added.
pub(crate) fn deregister(s: &Session, tables: &[String]) {
    for t in tables {
        let _ = s.ctx.deregister_table(TableReference::bare(t.clone()));
    }
}

async fn read(s: &Session, f: &FileTable, span: Span) -> Result<datafusion::dataframe::DataFrame> {
    let options = crate::storage::configure(&s.ctx, &f.path, f.path_span, &f.options)?;
    let f = &FileTable {
        options,
        table: f.table.clone(),
        path: f.path.clone(),
        path_span: f.path_span,
        format: f.format,
    };
    if let Err(e) = crate::storage::inspect_any(&s.ctx, &f.path).await {
        let what = if e.kind() == std::io::ErrorKind::NotFound {
            format!("no such file: {}", f.path)
        } else {
            format!("cannot read {}: {e}", f.path)
        };
        return Err(Error::at(f.path_span, what));
    }
    let is_csv = f.format == Some(FileFormat::Csv)
        || (f.format.is_none()
            && crate::files::format_from_extension(&f.path) == Some(FileFormat::Csv));
    // DuckDB's habit: typed columns, and a header when the first row looks
    // like one (a folder or a glob: assumed), unless the options say.
    let given = |key: &str| {
        f.options
            .iter()
            .find(|(n, _)| n.value.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    };
    let mut entries: Vec<(Name, Literal)> = Vec::new();
    let mut columns = None;
    if is_csv {
        let delimiter = given("delimiter").or(given("sep"));
        let sniffed = if matches!(given("header"), Some(Literal::Bool(false)) | None) {
            sniff_file(s, &f.path, delimiter, given("quote")).await
        } else {
            None
        };
        let sniffed = || sniffed.clone();
        match given("header") {
            // No header: DuckDB's column names, the sniffed types.
            Some(Literal::Bool(false)) => match sniffed() {
                Some(sn) => columns = Some(headerless(&sn.kinds, f.path_span)),
                None => {
                    return Err(Error::at(
                        f.path_span,
                        format!(
                            "{}: a folder or glob of CSV files without a header needs its columns: use LOAD with COLUMNS",
                            f.path
                        ),
                    ));
                }
            },
            Some(_) => {} // true, or something LOAD explains
            None => match sniffed() {
                Some(sn) if !sn.header => {
                    columns = Some(headerless(&sn.kinds, f.path_span));
                    entries.push((name("header", f.path_span), Literal::Bool(false)));
                }
                _ => entries.push((name("header", f.path_span), Literal::Bool(true))),
            },
        }
        if given("infer_schema").is_none() {
            entries.push((name("infer_schema", f.path_span), Literal::Bool(true)));
        }
    }
    entries.extend(f.options.iter().cloned());
    let l = Load {
        format: f.format,
        path: f.path.clone(),
        path_span: f.path_span,
        options: Options { entries },
        columns,
    };
    load(s, &l, span).await
}

/// Sniffs a single CSV file with the given delimiter and quote (None for a
/// folder or a glob, or options LOAD will reject).
async fn sniff_file(
    s: &Session,
    path: &str,
    delimiter: Option<&Literal>,
    quote: Option<&Literal>,
) -> Option<crate::sniff::Sniffed> {
    let byte = |l: Option<&Literal>, default: u8| match l {
        None => Some(default),
        Some(Literal::String(s)) if s.len() == 1 => Some(s.as_bytes()[0]),
        Some(Literal::String(s)) if s == "\\t" => Some(b'\t'),
        Some(_) => None,
    };
    let (delimiter, quote) = (byte(delimiter, b',')?, byte(quote, b'"')?);
    if crate::files::has_glob(path) {
        return None;
    }
    if crate::storage::is_url(path) {
        let head = crate::storage::head_bytes(&s.ctx, path, crate::sniff::SAMPLE_BYTES).await?;
        return crate::sniff::sniff_bytes(&head, delimiter, quote);
    }
    if std::path::Path::new(path).is_dir() {
        return None;
    }
    crate::sniff::sniff(path, delimiter, quote)
}

/// DuckDB's names for a headerless file's columns, with the sniffed types.
fn headerless(kinds: &[crate::sniff::Kind], span: Span) -> Columns {
    use crate::sniff::Kind;
    Columns::Schema(Schema {
        fields: kinds
            .iter()
            .enumerate()
            .map(|(j, k)| Field {
                name: name(&format!("column{j}"), span),
                ty: match k {
                    Kind::Integer => TypeName::Long,
                    Kind::Number => TypeName::Double,
                    Kind::Boolean => TypeName::Bool,
                    Kind::Text => TypeName::Str,
                },
            })
            .collect(),
        span,
    })
}

fn name(value: &str, span: Span) -> Name {
    Name {
        value: value.to_string(),
        quoted: false,
        span,
    }
}

struct Finder {
    found: Vec<FileTable>,
    error: Option<Error>,
}

impl VisitorMut for Finder {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name, alias, args, ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let [ObjectNamePart::Identifier(id)] = name.0.as_slice() else {
            return ControlFlow::Continue(());
        };
        let found = match args {
            None if id.quote_style == Some('\'') && looks_like_path(&id.value) => FileTable {
                table: String::new(),
                path: id.value.clone(),
                path_span: id.span,
                format: None,
                options: Vec::new(),
            },
            None => return ControlFlow::Continue(()),
            Some(a) => {
                let format = match id.value.to_ascii_lowercase().as_str() {
                    "read_csv" | "read_csv_auto" => FileFormat::Csv,
                    "read_parquet" => FileFormat::Parquet,
                    "read_json" | "read_json_auto" | "read_ndjson" => FileFormat::Json,
                    _ => return ControlFlow::Continue(()),
                };
                match function_args(&id.value, format, &a.args, id.span) {
                    Ok(found) => found,
                    Err(e) => {
                        self.error = Some(e);
                        return ControlFlow::Break(());
                    }
                }
            }
        };
        let table = format!(
            "__fsql_file_{}",
            crate::session::unique_suffix().replace('-', "_")
        );
        if alias.is_none() {
            *alias = Some(TableAlias {
                explicit: true,
                name: Ident::new(stem(&found.path)),
                columns: Vec::new(),
                at: None,
            });
        }
        *name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![Ident::new(&table)]);
        *args = None;
        self.found.push(FileTable { table, ..found });
        ControlFlow::Continue(())
    }
}

/// A single-quoted name in FROM that names a file: it has a folder, an
/// extension, a glob or a URL scheme.
fn looks_like_path(name: &str) -> bool {
    name.contains('/') || name.contains('\\') || name.contains('.') || crate::files::has_glob(name)
}

/// The relation's name for a file: its stem, as DuckDB names it
/// (`data/sales.csv` is `sales`), letters, digits and `_` only.
fn stem(path: &str) -> String {
    let file = path
        .trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let stem = file.split('.').next().unwrap_or_default();
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    match clean.chars().next() {
        None => "file".to_string(),
        Some(c) if c.is_ascii_digit() => format!("_{clean}"),
        Some(_) if clean.chars().all(|c| c == '_') => "file".to_string(),
        Some(_) => clean.to_ascii_lowercase(),
    }
}

/// A table function's path (the first argument, a string) and its options
/// (`name = value`, with `=` or `=>`).
fn function_args(
    function: &str,
    format: FileFormat,
    args: &[FunctionArg],
    span: Span,
) -> Result<FileTable> {
    let mut path = None;
    let mut options = Vec::new();
    for arg in args {
        let (key, value) = match arg {
            FunctionArg::Named {
                name,
                arg: FunctionArgExpr::Expr(e),
                ..
            } => (Some(name.clone()), e),
            FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            })) if matches!(left.as_ref(), Expr::Identifier(_)) => {
                let Expr::Identifier(id) = left.as_ref() else {
                    unreachable!("matched above")
                };
                (Some(id.clone()), right.as_ref())
            }
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => (None, e),
            _ => {
                return Err(Error::at(
                    span,
                    format!("{function}: arguments are a path and name = value options"),
                ));
            }
        };
        let literal = literal(value).ok_or_else(|| {
            Error::at(
                span,
                format!("{function}: arguments must be literals (a path, then name = value)"),
            )
        })?;
        match (key, literal) {
            (None, (Literal::String(p), at)) if path.is_none() => path = Some((p, at)),
            (None, _) => {
                return Err(Error::at(
                    span,
                    format!(
                        "{function}: the first argument is the path, as a string; options are name = value"
                    ),
                ));
            }
            (Some(k), (v, _)) => options.push((
                Name {
                    value: k.value.clone(),
                    quoted: k.quote_style.is_some(),
                    span: k.span,
                },
                v,
            )),
        }
    }
    let (path, at) = path.ok_or_else(|| {
        Error::at(
            span,
            format!("{function} needs a path: {function}('file', name = value, ...)"),
        )
    })?;
    Ok(FileTable {
        table: String::new(),
        path,
        path_span: at,
        format: Some(format),
        options,
    })
}

fn literal(e: &Expr) -> Option<(Literal, Span)> {
    match e {
        Expr::Value(v) => {
            let l = match &v.value {
                Value::Boolean(b) => Literal::Bool(*b),
                Value::Number(n, _) => Literal::Number(n.clone()),
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                    Literal::String(s.clone())
                }
                Value::Null => Literal::Null,
                _ => return None,
            };
            Some((l, v.span))
        }
        // `header = TRUE` spelled as an identifier by some dialects.
        Expr::Identifier(id) if id.value.eq_ignore_ascii_case("true") => {
            Some((Literal::Bool(true), id.span))
        }
        Expr::Identifier(id) if id.value.eq_ignore_ascii_case("false") => {
            Some((Literal::Bool(false), id.span))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_name_the_relation_as_duckdb_does() {
        assert_eq!(stem("sales.csv"), "sales");
        assert_eq!(stem("data/Sales.2024.parquet"), "sales");
        assert_eq!(stem("data/*.parquet"), "file");
        assert_eq!(stem("out/parts/"), "parts");
        assert_eq!(stem("2024-sales.csv"), "_2024_sales");
    }

    #[test]
    fn paths_are_told_from_table_names() {
        assert!(looks_like_path("sales.csv"));
        assert!(looks_like_path("data/*.parquet"));
        assert!(!looks_like_path("sales"));
    }
}

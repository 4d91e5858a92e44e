//! What a session may do, for sessions serving others (`fsql serve`):
//! read-only (nothing written: no SAVE, no tables or models created or
//! dropped, no DML), programs (`exec(...)` transformers only when
//! allowed), and a data root every file path must stay inside (LOAD, SAVE,
//! files in FROM, EXPORT/IMPORT MODEL, COMPARE's chart, CREATE EXTERNAL
//! TABLE and COPY locations): `..`, absolute paths elsewhere and symbolic
//! links that lead out are refused. Statements are checked before any of
//! them runs; files in FROM are checked where they are found.

use std::path::{Component, Path, PathBuf};

use datafusion::sql::sqlparser::ast::{self as sql, CopyTarget};
use fsql_sql::{Literal, Name, Span, Statement, Transformer};

use crate::error::{Error, Result};

/// The limits of a session; the default has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub read_only: bool,
    pub allow_exec: bool,
    /// Every path must resolve inside this folder (absolute, resolved).
    pub data_root: Option<PathBuf>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            read_only: false,
            allow_exec: true,
            data_root: None,
        }
    }
}

impl Policy {
    /// Checks `statement` (and the statements inside it) before it runs.
    pub(crate) fn check(&self, statement: &Statement, span: Span) -> Result<()> {
        if *self == Policy::default() {
            return Ok(());
        }
        if self.read_only
            && let Some(what) = writes(statement)
        {
            return Err(Error::at(
                span,
                format!("this server is read-only: {what} is refused"),
            ));
        }
        match statement {
            Statement::Transform(t) => match &t.using {
                Transformer::Exec { span: at, .. } if !self.allow_exec => {
                    return Err(Error::at(
                        *at,
                        "exec(...) transformers are refused on this server (it was not started with --allow-exec)",
                    ));
                }
                // The server's own --udf functions are its choice; code a
                // client names by module or file is a program like exec.
                Transformer::Python(p) if !self.allow_exec => {
                    return Err(Error::at(
                        p.span,
                        "Python functions named by module or file are refused on this server (it was not started with --allow-exec); the functions of its --udf files are allowed",
                    ));
                }
                _ => {}
            },
            Statement::Load(l) => self.check_path(&l.path, l.path_span)?,
            Statement::Save(sv) => self.check_path(&sv.path, sv.path_span)?,
            Statement::ExportModel { options, .. } | Statement::ImportModel { options, .. } => {
                self.check_option_path(options, "location", span)?
            }
            Statement::CompareModels(c) => {
                self.check_option_path(&c.options, "chart", span)?;
                if let Some(input) = &c.input {
                    self.check(input, span)?;
                }
            }
            Statement::Explain(e) => self.check(&e.statement, span)?,
            Statement::CreateModel(m) => self.check(&m.query, span)?,
            Statement::CreateExperiment(e) => self.check(&e.query, span)?,
            Statement::Predict(p) => self.check(&p.input, span)?,
            Statement::Sql(stmt) => {
                for path in sql_locations(stmt) {
                    self.check_path(&path, span)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn check_option_path(&self, options: &[(Name, Literal)], key: &str, span: Span) -> Result<()> {
        for (k, v) in options {
            if k.value.eq_ignore_ascii_case(key)
                && let Literal::String(path) = v
            {
                self.check_path(path, k.span.max_or(span))?;
            }
        }
        Ok(())
    }

    /// `path` (as a statement wrote it) stays inside the data root, if
    /// there is one.
    pub(crate) fn check_path(&self, path: &str, span: Span) -> Result<()> {
        let Some(root) = &self.data_root else {
            return Ok(());
        };
        confined(root, path).map_err(|why| Error::at(span, why))
    }
}

trait SpanOr {
    fn max_or(self, other: Span) -> Span;
}

impl SpanOr for Span {
    fn max_or(self, other: Span) -> Span {
        if self.start.line > 0 { self } else { other }
    }
}

/// What `statement` would write, if anything.
fn writes(statement: &Statement) -> Option<&'static str> {
    match statement {
        Statement::Save(_) => Some("SAVE"),
        Statement::CreateModel(_) => Some("CREATE MODEL"),
        Statement::DropModel { .. } => Some("DROP MODEL"),
        Statement::ExportModel { .. } => Some("EXPORT MODEL"),
        Statement::ImportModel { .. } => Some("IMPORT MODEL"),
        Statement::CreateExperiment(_) => Some("CREATE EXPERIMENT (it stores the best model)"),
        Statement::CompareModels(c) => {
            // It stores `top` models (default 1) unless told top = 0; a
            // chart is a file; `into` names models to store.
            let has = |key: &str| {
                c.options
                    .iter()
                    .any(|(k, _)| k.value.eq_ignore_ascii_case(key))
            };
            let top_zero = c.options.iter().any(|(k, v)| {
                k.value.eq_ignore_ascii_case("top") && *v == Literal::Number("0".into())
            });
            (!top_zero || has("chart") || has("into"))
                .then_some("COMPARE MODELS storing its best models (write top = 0, and no chart)")
        }
        Statement::Explain(e) => writes(&e.statement),
        Statement::Sql(stmt) => match stmt.as_ref() {
            sql::Statement::Query(_)
            | sql::Statement::Explain { .. }
            | sql::Statement::ExplainTable { .. }
            | sql::Statement::ShowTables { .. }
            | sql::Statement::ShowColumns { .. }
            | sql::Statement::ShowFunctions { .. }
            | sql::Statement::ShowVariable { .. }
            | sql::Statement::ShowVariables { .. }
            | sql::Statement::ShowCreate { .. }
            | sql::Statement::ShowSchemas { .. }
            | sql::Statement::ShowDatabases { .. }
            | sql::Statement::Set(_) => None,
            _ => Some("a statement that changes tables or files"),
        },
        _ => None,
    }
}

/// Paths a SQL statement writes or reads by location (CREATE EXTERNAL
/// TABLE ... LOCATION, COPY ... TO/FROM 'file').
fn sql_locations(stmt: &sql::Statement) -> Vec<String> {
    match stmt {
        sql::Statement::CreateTable(c) => c.location.iter().cloned().collect(),
        sql::Statement::Copy {
            target: CopyTarget::File { filename },
            ..
        } => vec![filename.clone()],
        _ => Vec::new(),
    }
}

/// Whether `path` resolves inside `root` (an absolute, resolved folder):
/// no `..`, no URL, and every existing part with symbolic links resolved;
/// an existing folder (or a glob's folder) has nothing that leads out.
pub(crate) fn confined(root: &Path, path: &str) -> std::result::Result<(), String> {
    if path.contains("://") {
        return Err(format!(
            "'{path}' is not a file under the data root; this server reads and writes only there"
        ));
    }
    let p = Path::new(path);
    if p.components().any(|c| c == Component::ParentDir) {
        return Err(format!("'{path}': '..' is not allowed on this server"));
    }
    // The part before any glob character.
    let mut plain = PathBuf::new();
    let mut globbed = false;
    for c in p.components() {
        let s = c.as_os_str().to_string_lossy();
        if crate::files::has_glob(&s) {
            globbed = true;
            break;
        }
        plain.push(c);
    }
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let absolute = if plain.is_absolute() {
        plain
    } else {
        cwd.join(plain)
    };
    let resolved = resolve(&absolute);
    let outside = || format!("'{path}' is outside this server's data root");
    if !resolved.starts_with(root) {
        return Err(outside());
    }
    // What a folder or glob reads: every entry under it.
    if (globbed || resolved.is_dir()) && leads_out(&resolved, root, 10_000) {
        return Err(format!(
            "'{path}' holds a symbolic link that leads outside this server's data root"
        ));
    }
    Ok(())
}

/// `path` with symbolic links resolved in every part that exists.
fn resolve(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (
            existing.file_name().map(|f| f.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// True when an entry under `dir` (at most `budget` looked at) resolves
/// outside `root`.
fn leads_out(dir: &Path, root: &Path, budget: usize) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > budget {
                return false;
            }
            let p = entry.path();
            let Ok(real) = p.canonicalize() else { continue };
            if !real.starts_with(root) {
                return true;
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_refuses_what_writes() {
        let first = |text: &str| fsql_sql::parse(text).unwrap().steps[0].statement.clone();
        let refused = |text: &str| writes(&first(text)).is_some();
        assert!(refused("COMPARE MODELS FROM t WITH (target = 'y')"));
        assert!(!refused(
            "COMPARE MODELS FROM t WITH (target = 'y', top = 0)"
        ));
        assert!(refused(
            "COMPARE MODELS FROM t WITH (target = 'y', top = 0, chart = 'b.svg')"
        ));
        assert!(refused(
            "COMPARE MODELS FROM t WITH (target = 'y', top = 2)"
        ));
        assert!(refused("SAVE OVERWRITE 'x.csv'"));
        assert!(refused("CREATE TABLE t (x INT)"));
        assert!(refused("INSERT INTO t VALUES (1)"));
        assert!(!refused("SELECT 1 AS x"));
        assert!(!refused("SHOW TABLES"));
    }

    #[test]
    fn paths_stay_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        let root_path = root.path().canonicalize().unwrap();
        std::fs::create_dir(root_path.join("data")).unwrap();
        std::fs::write(root_path.join("data/a.csv"), "x\n1\n").unwrap();
        let inside = |p: &str| confined(&root_path, &root_path.join(p).to_string_lossy());
        assert!(inside("data/a.csv").is_ok());
        assert!(inside("data/new.parquet").is_ok());
        assert!(inside("data/*.csv").is_ok());
        assert!(inside("data").is_ok());
        assert!(confined(&root_path, "/etc/passwd").is_err());
        assert!(confined(&root_path, &format!("{}/data/../../x", root_path.display())).is_err());
        assert!(confined(&root_path, "s3://bucket/x.parquet").is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc", root_path.join("data/etc")).unwrap();
            let e = inside("data/etc/passwd").unwrap_err();
            assert!(e.contains("outside"), "{e}");
            let e = inside("data/*.csv").unwrap_err();
            assert!(e.contains("symbolic link"), "{e}");
        }
    }
}

//! Python functions in `USING`: finding them (a function of the session's
//! `--udf` files by bare name, `mypkg.module.fn`, `'udf.py:fn'`), checking
//! their signature against the statement as fugue would, their output
//! schema (SCHEMA, else the `# schema:` hint), and running the statements
//! that hand whole dataframes to the function once — PROCESS, CREATE USING
//! and OUTPUT — here in the driver, as fugue runs processors, creators and
//! outputters. TRANSFORM / OUTTRANSFORM run per group in the plan node.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::dataframe::DataFrame;
use fsql_sql::{Span, Transform, Transformer as Using};

use super::transform::declared_schema;
use super::using::user_params;
use crate::error::{AtSpan, Error, Result};
use crate::python::{self, Code, Found, Op, PyFunction, Signature};
use crate::session::Session;
use crate::transform::builtin::NAMES;
use crate::transform::exec::{portable, portable_schema};
use crate::transform::process::Group;
use crate::transform::spec::conform;

/// A Python function found and checked for its statement.
pub(super) struct Resolved {
    pub f: PyFunction,
    pub sig: Signature,
    /// Where USING names it.
    pub span: Span,
}

/// The Python function `t` uses, or None when it is a built-in or exec(...).
/// A bare name is looked up in the `--udf` files first (a user's function
/// shadows a built-in of the same name, as in FugueSQL, which has none).
pub(super) fn resolve(
    s: &Session,
    t: &Transform,
    op: Op,
    inputs: usize,
) -> Result<Option<Resolved>> {
    let (code, function, span) = match &t.using {
        Using::Exec { .. } => return Ok(None),
        Using::Builtin(name) => match s
            .python
            .find(&name.value)
            .map_err(|e| Error::at(name.span, e))?
        {
            Found::In(code) => (code, name.value.clone(), name.span),
            Found::Not(files) => {
                if NAMES.contains(&name.value.to_lowercase().as_str()) {
                    return Ok(None);
                }
                return Err(Error::at(name.span, unknown(&name.value, &files)));
            }
        },
        Using::Python(r) => {
            let code = if r.file {
                let source = std::fs::read_to_string(&r.location)
                    .map_err(|e| Error::at(r.span, format!("cannot read {}: {e}", r.location)))?;
                Code::file(&r.location, source)
            } else {
                Code::Module {
                    name: r.location.clone(),
                }
            };
            (code, r.function.clone(), r.span)
        }
    };
    let (json, timeout_ms) = user_params(&t.params.entries)?;
    let names: Vec<String> = json.keys().cloned().collect();
    let shown = match &code {
        Code::Module { name } => format!("{name}.{function}"),
        Code::File { path, .. } => format!("{function} ({path})"),
    };
    let python = s.python.interpreter().to_string();
    let sig = python::describe(&python, &code, &function, op)
        .map_err(|e| Error::at(span, format!("{shown}: {e}")))?;
    sig.check(op, inputs, &shown, &names)
        .map_err(|e| Error::at(span, e))?;
    Ok(Some(Resolved {
        f: PyFunction {
            python,
            code,
            function,
            params_json: serde_json::Value::Object(json).to_string(),
            timeout_ms,
            shown,
        },
        sig,
        span,
    }))
}

/// The error for a bare name that is neither a built-in nor a function of
/// the `--udf` files: everything that was looked at.
fn unknown(name: &str, files: &[(String, Vec<String>)]) -> String {
    let mut looked = vec![format!("the built-ins ({})", NAMES.join(", "))];
    if files.is_empty() {
        looked.push("no --udf files were given".into());
    }
    for (file, functions) in files {
        looked.push(if functions.is_empty() {
            format!("{file} (no functions)")
        } else {
            format!("{file} ({})", functions.join(", "))
        });
    }
    format!(
        "unknown transformer '{name}': looked in {}. Name a Python function with --udf FILE, \
         USING mypkg.module.{name} or USING 'file.py:{name}'; run a program with exec('...')",
        looked.join("; ")
    )
}

/// The output schema SCHEMA declares, else the function's `# schema:` hint.
pub(super) fn schema(t: &Transform, r: &Resolved, inputs: &[DataFrame]) -> Result<Option<Schema>> {
    if let Some(declared) = &t.schema {
        return declared_schema(declared, inputs).map(Some);
    }
    let Some(hint) = &r.sig.schema_hint else {
        return Ok(None);
    };
    let parsed = fsql_sql::parse_output_schema(hint).map_err(|e| {
        Error::at(
            r.span,
            format!(
                "the '# schema: {hint}' comment of {}: {}",
                r.f.shown, e.message
            ),
        )
    })?;
    declared_schema(&parsed, inputs).map(Some).map_err(|e| {
        Error::at(
            r.span,
            format!(
                "the '# schema: {hint}' comment of {}: {}",
                r.f.shown,
                e.message()
            ),
        )
    })
}

/// Sets its flag when dropped (a cancelled statement stops the worker).
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// PROCESS, CREATE USING, OUTPUT: the function once, over whole dataframes.
pub(super) async fn whole(
    s: &Session,
    t: &Transform,
    op: Op,
    frames: Vec<DataFrame>,
    r: Resolved,
    span: Span,
) -> Result<Option<DataFrame>> {
    let schema = if op.answers() {
        schema(t, &r, &frames)?
    } else {
        None
    };
    let infers = matches!(
        r.sig.output.as_deref(),
        Some("pandas" | "arrow" | "iter_pandas" | "iter_arrow")
    );
    if op.answers() && schema.is_none() && !infers {
        return Err(Error::at(
            r.span,
            format!(
                "{} returns rows, so {} needs a SCHEMA (or a '# schema: a:int, b:str' comment above the function)",
                r.f.shown,
                t.kind.keyword()
            ),
        ));
    }
    let mut inputs = Vec::with_capacity(frames.len());
    for df in frames {
        let df_schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await.at(span)?;
        let batch = concat_batches(&df_schema, &batches).at(span)?;
        inputs.push(portable(batch).at(span)?);
    }
    let cancelled = Arc::new(AtomicBool::new(false));
    let _on_drop = CancelOnDrop(Arc::clone(&cancelled));
    let wanted = schema.as_ref().map(portable_schema);
    let f = r.f.clone();
    let group = Group {
        key: String::new(),
        frames: inputs,
    };
    let answers = tokio::task::spawn_blocking(move || {
        python::run(&f, op, wanted.as_ref(), vec![group], &cancelled)
    })
    .await
    .map_err(|e| Error::at(span, e.to_string()))?
    .map_err(|e| {
        Error::at(
            span,
            format!("{} at line {}: {e}", t.kind.keyword(), span.start.line),
        )
    })?;
    if !op.answers() {
        return Ok(None);
    }
    let batches: Vec<RecordBatch> = answers.into_iter().flatten().collect();
    let batch = match &schema {
        Some(schema) => {
            let schema: SchemaRef = Arc::new(schema.clone());
            let conformed = batches
                .iter()
                .map(|b| conform(b, &schema))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::at(span, format!("{}: {e}", r.f.shown)))?;
            concat_batches(&schema, &conformed).at(span)?
        }
        None => {
            let first = batches
                .first()
                .map(|b| b.schema())
                .ok_or_else(|| Error::at(span, format!("{} returned no dataframe", r.f.shown)))?;
            concat_batches(&first, &batches).at(span)?
        }
    };
    super::batch_frame(s, batch, span).map(Some)
}

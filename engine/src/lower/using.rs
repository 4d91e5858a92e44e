//! What `USING` names in TRANSFORM / OUTTRANSFORM / OUTPUT: a built-in
//! transformer with its PARAMS checked against the input, or an external
//! program (`exec(...)`) with its PARAMS as JSON and fsql's own `timeout`.

use datafusion::arrow::datatypes::Schema;
use datafusion::common::DFSchema;
use datafusion::dataframe::DataFrame;
use fsql_sql::{Literal, Name, Span, Transform, Transformer as Using};

use super::create::to_json;
use super::resolve_column;
use crate::error::{Error, Result};
use crate::transform::builtin::{Builtin, NAMES};
use crate::transform::spec::{Program, Transformer};

/// The transformer, and for a built-in the schema it produces.
pub(super) fn transformer(
    t: &Transform,
    inputs: &[DataFrame],
    keys: &[String],
    span: Span,
) -> Result<(Transformer, Option<Schema>)> {
    let params = &t.params.entries;
    match &t.using {
        Using::Exec { args, .. } => {
            let (json, timeout_ms) = user_params(params)?;
            let program = Program {
                args: args.clone(),
                params_json: serde_json::Value::Object(json).to_string(),
                timeout_ms,
            };
            Ok((Transformer::Program(program), None))
        }
        Using::Python(r) => Err(Error::at(
            r.span,
            "a Python function is resolved before built-ins (a bug if you see this)",
        )),
        Using::Builtin(name) => {
            if inputs.len() > 1 {
                return Err(Error::at(
                    name.span,
                    "built-in transformers take one dataframe; a co-transform (ZIP) needs exec(...)",
                ));
            }
            let b = builtin(name, params, inputs[0].schema(), keys)?;
            let input = inputs[0].schema().as_arrow().clone();
            let natural = b
                .output_schema(&input)
                .map_err(|e| Error::at(span, format!("{}: {e}", b.name())))?;
            Ok((Transformer::Builtin(b), Some(natural)))
        }
    }
}

fn builtin(
    name: &Name,
    params: &[(Name, Literal)],
    schema: &DFSchema,
    keys: &[String],
) -> Result<Builtin> {
    let accepted: &[&str] = match name.value.to_lowercase().as_str() {
        "row_number" => &["column"],
        "fill_forward" => &["columns"],
        "cumsum" | "diff" => &["column", "as"],
        _ => {
            return Err(Error::at(
                name.span,
                format!(
                    "unknown transformer '{}': built-ins are {}; run a program with exec('program args')",
                    name.value,
                    NAMES.join(", ")
                ),
            ));
        }
    };
    let mut get = std::collections::HashMap::new();
    for (k, v) in params {
        let key = k.value.to_lowercase();
        if !accepted.contains(&key.as_str()) {
            return Err(Error::at(
                k.span,
                format!(
                    "{} takes no parameter '{}' (it takes: {})",
                    name.value,
                    k.value,
                    accepted.join(", ")
                ),
            ));
        }
        get.insert(key, (k, v));
    }
    let column = |key: &str| -> Result<Option<String>> {
        match get.get(key) {
            None => Ok(None),
            Some((_, Literal::String(s))) => Ok(Some(s.clone())),
            Some((k, _)) => Err(Error::at(
                k.span,
                format!("{key} is a column name in quotes"),
            )),
        }
    };
    let input_column = |key: &str| -> Result<Option<String>> {
        match (column(key)?, get.get(key)) {
            (Some(c), Some((k, _))) => Ok(Some(resolve_column(
                schema,
                &Name {
                    value: c,
                    quoted: false,
                    span: k.span,
                },
            )?)),
            _ => Ok(None),
        }
    };
    Ok(match name.value.to_lowercase().as_str() {
        "row_number" => Builtin::RowNumber {
            column: column("column")?.unwrap_or_else(|| "row_number".into()),
        },
        "fill_forward" => {
            let columns = match get.get("columns") {
                None => schema
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .filter(|c| !keys.contains(c))
                    .collect(),
                Some((k, v)) => {
                    let items = match v {
                        Literal::List(items) => items.clone(),
                        other => vec![(*other).clone()],
                    };
                    items
                        .iter()
                        .map(|i| match i {
                            Literal::String(c) => resolve_column(
                                schema,
                                &Name {
                                    value: c.clone(),
                                    quoted: false,
                                    span: k.span,
                                },
                            ),
                            _ => Err(Error::at(
                                k.span,
                                "columns is a list of column names in quotes",
                            )),
                        })
                        .collect::<Result<Vec<_>>>()?
                }
            };
            Builtin::FillForward { columns }
        }
        kind => {
            let column = input_column("column")?.ok_or_else(|| {
                Error::at(name.span, format!("{kind} needs PARAMS column:'name'"))
            })?;
            let output = column_or(&get, "as", format!("{column}_{kind}"))?;
            if kind == "cumsum" {
                Builtin::CumSum { column, output }
            } else {
                Builtin::Diff { column, output }
            }
        }
    })
}

fn column_or(
    get: &std::collections::HashMap<String, (&Name, &Literal)>,
    key: &str,
    default: String,
) -> Result<String> {
    match get.get(key) {
        None => Ok(default),
        Some((_, Literal::String(s))) => Ok(s.clone()),
        Some((k, _)) => Err(Error::at(
            k.span,
            format!("{key} is a column name in quotes"),
        )),
    }
}

/// The PARAMS user code receives, as a JSON object, and fsql's own
/// `timeout` (in ms) taken out of them.
pub(super) fn user_params(
    params: &[(Name, Literal)],
) -> Result<(serde_json::Map<String, serde_json::Value>, Option<u64>)> {
    let mut timeout_ms = None;
    let mut json = serde_json::Map::new();
    for (k, v) in params {
        if k.value.eq_ignore_ascii_case("timeout") {
            timeout_ms = Some(duration_ms(v).ok_or_else(|| {
                Error::at(
                    k.span,
                    "timeout is a number of seconds or a string like '500ms', '30s', '5m'",
                )
            })?);
        } else {
            json.insert(k.value.clone(), to_json(v));
        }
    }
    Ok((json, timeout_ms))
}

/// `30`, `1.5` (seconds), `'500ms'`, `'30s'`, `'5m'`.
fn duration_ms(v: &Literal) -> Option<u64> {
    let (number, unit) = match v {
        Literal::Number(n) => (n.as_str(), "s"),
        Literal::String(s) => {
            let s = s.trim();
            let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
            (s[..split].trim(), s[split..].trim())
        }
        _ => return None,
    };
    let value: f64 = number.parse().ok()?;
    let scale = match unit {
        "ms" => 1.0,
        "" | "s" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    (value > 0.0 && value.is_finite()).then(|| (value * scale).round() as u64)
}

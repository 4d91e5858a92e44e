//! The ML statements: CREATE MODEL trains on the rows of its query (run on
//! the session's engine, fitted in this process) and stores the model;
//! PREDICT adds the model's `target` (and `probability`) to its input as a
//! function in the plan; DESCRIBE / SHOW / DROP / EXPORT / IMPORT MODEL work
//! on the model store.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray, TimestampSecondArray};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::Expr;
use fsql_ml::{Impute, Model, ModelClass, TrainSpec, Value};
use fsql_sql::{CreateModel, Literal, Name, Predict, Span};

use super::{batch_frame, resolve_column};
use crate::error::{AtSpan, Error, Result};
use crate::ml::convert::{self, Kind};
use crate::ml::predict::PredictUdf;
use crate::ml::store::{Stored, write_atomically};
use crate::session::Session;

/// Options of CREATE MODEL that are not hyper-parameters.
const RESERVED: &[&str] = &[
    "model_class",
    "target_column",
    "impute",
    "wrap_predict",
    "wrap_fit",
    "fit_kwargs",
];

pub(crate) async fn create_model(s: &mut Session, m: &CreateModel, span: Span) -> Result<()> {
    let name = m.name.normalized();
    if s.models.exists(&name) {
        if m.if_not_exists {
            return Ok(());
        }
        if !m.or_replace {
            return Err(Error::at(
                m.name.span,
                format!("model '{name}' already exists; use CREATE OR REPLACE MODEL to replace it"),
            ));
        }
    }
    let spec = train_spec(&m.options, m.name.span)?;
    let time = option_text(&m.options, "time_column")?;
    let forecaster = match spec.class {
        ModelClass::Forecast(f) => Some(f),
        _ => None,
    };
    match (&time, forecaster) {
        (Some((_, at)), None) => {
            return Err(Error::at(
                *at,
                format!(
                    "time_column is an option of forecasters (e.g. model_class = 'ets'); {} does not take one",
                    spec.class.sklearn_name()
                ),
            ));
        }
        (None, Some(_)) => {
            return Err(Error::at(
                m.name.span,
                "a forecaster needs WITH (time_column = '...'), the column that orders the series",
            ));
        }
        _ => {}
    }
    if forecaster.is_some() && spec.target.is_none() {
        return Err(Error::at(
            m.name.span,
            "a forecaster needs WITH (target_column = '...'), the series' values",
        ));
    }
    let df = Box::pin(super::statement(s, &m.query, span))
        .await?
        .ok_or_else(|| Error::at(span, "CREATE MODEL needs a query that produces rows"))?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let target = match &spec.target {
        Some(t) => {
            let found = resolve_column(
                df.schema(),
                &Name {
                    value: t.clone(),
                    quoted: false,
                    span,
                },
            )
            .map_err(|_| {
                let columns: Vec<&str> =
                    schema.fields().iter().map(|f| f.name().as_str()).collect();
                Error::at(
                    option_span(&m.options, "target_column").unwrap_or(span),
                    format!(
                        "target_column '{t}' is not a column of the training query (columns: {})",
                        columns.join(", ")
                    ),
                )
            })?;
            Some(found)
        }
        None => None,
    };
    if let (Some(f), Some((time, at)), Some(target)) = (forecaster, &time, &target) {
        let time = resolve_column(
            df.schema(),
            &Name {
                value: time.clone(),
                quoted: false,
                span: *at,
            },
        )
        .map_err(|_| {
            Error::at(
                *at,
                format!("time_column '{time}' is not a column of the training query"),
            )
        })?;
        let bytes =
            crate::ml::forecast::create(&name, f, &spec.params, target, &time, df, span).await?;
        return s
            .models
            .put(&name, &bytes)
            .map_err(|e| Error::at(span, e.to_string()));
    }
    let batches = df.collect().await.at(span)?;
    let batch = concat_batches(&schema, &batches).at(span)?;
    let mut features = Vec::new();
    let mut target_values = None;
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        if Some(field.name()) == target.as_ref() {
            target_values = Some(
                convert::target(field.name(), array, spec.class.task())
                    .map_err(|e| Error::at(span, e))?,
            );
        } else {
            features.push((
                field.name().clone(),
                convert::feature(field.name(), array).map_err(|e| Error::at(span, e))?,
            ));
        }
    }
    let spec = TrainSpec {
        target: target.clone(),
        ..spec
    };
    let model_name = name.clone();
    let trained = tokio::task::spawn_blocking(move || {
        Model::train(&model_name, &spec, &features, target_values).and_then(|m| m.to_bytes())
    })
    .await
    .map_err(|e| Error::at(span, format!("training stopped: {e}")))?;
    let bytes = trained.map_err(|e| Error::at(span, format!("CREATE MODEL {name}: {e}")))?;
    s.models
        .put(&name, &bytes)
        .map_err(|e| Error::at(span, e.to_string()))
}

/// model_class, target_column, impute and the hyper-parameters, checked
/// before the training query runs.
fn train_spec(options: &[(Name, Literal)], at: Span) -> Result<TrainSpec> {
    let text = |key: &Name, v: &Literal| match v {
        Literal::String(s) => Ok(s.clone()),
        other => Err(Error::at(
            key.span,
            format!("{} must be a string, not {other}", key.value),
        )),
    };
    let mut class = None;
    let mut target = None;
    let mut impute = Impute::None;
    let mut params = Vec::new();
    for (key, value) in options {
        match key.value.to_ascii_lowercase().as_str() {
            "model_class" => {
                class = Some(
                    ModelClass::parse(&text(key, value)?)
                        .map_err(|e| Error::at(key.span, e.to_string()))?,
                )
            }
            "target_column" => target = Some(text(key, value)?),
            // A forecaster's; checked by create_model.
            "time_column" => {}
            "impute" => {
                impute = Impute::parse(&text(key, value)?)
                    .map_err(|e| Error::at(key.span, e.to_string()))?
            }
            // Dask-SQL's switches for Dask's parallel wrappers: fsql's
            // PREDICT is always partition-parallel and fitting is in-process.
            "wrap_predict" | "wrap_fit" => {}
            "fit_kwargs" => match value {
                Literal::Object(o) if o.is_empty() => {}
                _ => {
                    return Err(Error::at(
                        key.span,
                        "fit_kwargs is not supported: fsql's estimators take all their settings as hyper-parameters in WITH (...)",
                    ));
                }
            },
            _ => params.push((key, value)),
        }
    }
    let class = class.ok_or_else(|| {
        Error::at(
            at,
            "CREATE MODEL needs WITH (model_class = '...'), e.g. 'LogisticRegression' or 'KMeans'",
        )
    })?;
    let mut values = Vec::new();
    for (key, literal) in params {
        let value = match literal {
            Literal::Null => Value::Null,
            Literal::Bool(b) => Value::Bool(*b),
            Literal::String(s) => Value::Text(s.clone()),
            Literal::Number(n) => Value::Number(n.parse().map_err(|_| {
                Error::at(key.span, format!("{} = {n} is not a number", key.value))
            })?),
            other => {
                return Err(Error::at(
                    key.span,
                    format!(
                        "hyper-parameter {} takes a single value, not {other}",
                        key.value
                    ),
                ));
            }
        };
        let one = [(key.value.clone(), value)];
        fsql_ml::check_params(class, &one).map_err(|e| {
            let mut msg = e.to_string();
            if msg.starts_with("unknown hyper-parameter") {
                msg.push_str(&format!("; other options: {}", RESERVED[..3].join(", ")));
            }
            Error::at(key.span, msg)
        })?;
        let [one] = one;
        values.push(one);
    }
    Ok(TrainSpec {
        class,
        params: values,
        target,
        impute,
    })
}

fn option_span(options: &[(Name, Literal)], key: &str) -> Option<Span> {
    options
        .iter()
        .find(|(k, _)| k.value.eq_ignore_ascii_case(key))
        .map(|(k, _)| k.span)
}

fn option_text(options: &[(Name, Literal)], key: &str) -> Result<Option<(String, Span)>> {
    match options
        .iter()
        .find(|(k, _)| k.value.eq_ignore_ascii_case(key))
    {
        None => Ok(None),
        Some((k, Literal::String(s))) => Ok(Some((s.clone(), k.span))),
        Some((k, other)) => Err(Error::at(
            k.span,
            format!("{key} must be a string, not {other}"),
        )),
    }
}

fn only_options(options: &[(Name, Literal)], allowed: &[&str]) -> Result<()> {
    for (k, _) in options {
        if !allowed.iter().any(|a| k.value.eq_ignore_ascii_case(a)) {
            return Err(Error::at(
                k.span,
                format!(
                    "unknown option '{}' (valid: {})",
                    k.value,
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The stored model `name`, or an error listing the models there are.
fn stored(s: &Session, name: &Name) -> Result<Stored> {
    let key = name.normalized();
    if let Some(m) = s
        .models
        .get(&key)
        .map_err(|e| Error::at(name.span, e.to_string()))?
    {
        return Ok(m);
    }
    let known: Vec<String> = s
        .models
        .list()
        .map_err(|e| Error::at(name.span, e.to_string()))?
        .iter()
        .map(|m| m.info.name.clone())
        .collect();
    Err(Error::at(
        name.span,
        if known.is_empty() {
            format!(
                "unknown model '{key}' (there are no models in {})",
                s.models.dir().display()
            )
        } else {
            format!("unknown model '{key}' (models: {})", known.join(", "))
        },
    ))
}

pub(crate) async fn predict(s: &mut Session, p: &Predict, span: Span) -> Result<DataFrame> {
    let Stored { model, bytes } = stored(s, &p.model)?;
    let df = Box::pin(super::statement(s, &p.input, span))
        .await?
        .ok_or_else(|| Error::at(span, "PREDICT needs a query that produces rows"))?;
    if let Some(fit) = model.forecast_fit() {
        return crate::ml::forecast::predict(s, &model, fit, df, span).await;
    }
    let schema = df.schema().clone();
    let mut args = Vec::with_capacity(model.info.features.len());
    for (feature, kind) in &model.info.features {
        let wanted = if kind.starts_with("text") {
            Kind::Text
        } else {
            Kind::Numeric
        };
        let column = resolve_column(
            &schema,
            &Name {
                value: feature.clone(),
                quoted: false,
                span,
            },
        )
        .map_err(|_| {
            let names: Vec<&str> = model.info.features.iter().map(|(n, _)| n.as_str()).collect();
            Error::at(
                span,
                format!(
                    "PREDICT: the input has no column '{feature}', a feature of model '{}' (features: {})",
                    model.info.name,
                    names.join(", ")
                ),
            )
        })?;
        let (_, field) = schema
            .qualified_field_with_unqualified_name(&column)
            .at(span)?;
        let got = Kind::of(field.data_type());
        if got != Some(wanted) {
            return Err(Error::at(
                span,
                format!(
                    "PREDICT: column '{column}' has type {} but model '{}' was trained on a {} column",
                    field.data_type(),
                    model.info.name,
                    wanted.name()
                ),
            ));
        }
        let (q, f) = schema
            .qualified_field_with_unqualified_name(&column)
            .at(span)?;
        args.push(Expr::Column(datafusion::common::Column::new(
            q.cloned(),
            f.name(),
        )));
    }
    let outputs = PredictUdf::outputs(&model);
    for output in &outputs {
        let name = output.column();
        if schema.fields().iter().any(|f| f.name() == name) {
            return Err(Error::at(
                span,
                format!(
                    "PREDICT adds a column '{name}' but its input already has one; rename it first"
                ),
            ));
        }
    }
    let mut exprs: Vec<Expr> = schema.columns().into_iter().map(Expr::Column).collect();
    for output in outputs {
        let udf = PredictUdf::new(model.clone(), bytes.clone(), output).into_udf();
        exprs.push(udf.call(args.clone()).alias(output.column()));
    }
    df.select(exprs).at(span)
}

/// One row per property: class, task, target, features, hyper-parameters,
/// training rows, training metrics, creation time.
pub(crate) fn describe(s: &Session, name: &Name, span: Span) -> Result<DataFrame> {
    let Stored { model, .. } = stored(s, name)?;
    let info = &model.info;
    let mut rows: Vec<(String, String)> = vec![
        ("name".into(), info.name.clone()),
        ("model_class".into(), info.class.sklearn_name().into()),
        ("fsql_class".into(), info.class.name().into()),
        ("estimator".into(), info.class.estimator().into()),
        ("task".into(), info.task.to_string()),
        (
            "target_column".into(),
            info.target.clone().unwrap_or_default(),
        ),
        (
            "target_type".into(),
            convert::target_type(info.task, info.target_kind).to_string(),
        ),
    ];
    for (f, kind) in &info.features {
        rows.push((format!("feature.{f}"), kind.clone()));
    }
    for (p, v) in &info.params {
        rows.push((format!("param.{p}"), v.to_string()));
    }
    rows.push(("impute".into(), info.impute.name().into()));
    rows.push(("training_rows".into(), info.training_rows.to_string()));
    for (m, v) in &info.metrics {
        rows.push((format!("metric.{m}"), format!("{v:.6}")));
    }
    for (k, v) in &info.facts {
        rows.push((format!("fit.{k}"), v.clone()));
    }
    rows.push(("fit_seconds".into(), format!("{:.6}", info.fit_seconds)));
    rows.push(("created_at".into(), timestamp(info.created_at, span)?));
    rows.push(("fsql_version".into(), info.fsql_version.clone()));
    let (keys, values): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
    let schema = Arc::new(Schema::new(vec![
        Field::new("property", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(keys)) as ArrayRef,
            Arc::new(StringArray::from(values)),
        ],
    )
    .at(span)?;
    batch_frame(s, batch, span)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
fn timestamp(secs: i64, span: Span) -> Result<String> {
    let ts: ArrayRef = Arc::new(TimestampSecondArray::from(vec![secs]).with_timezone("UTC"));
    let text = cast(&ts, &DataType::Utf8).at(span)?;
    Ok(text
        .as_any()
        .downcast_ref::<StringArray>()
        .map(|a| a.value(0).to_string())
        .unwrap_or_default())
}

pub(crate) fn show_models(s: &Session, span: Span) -> Result<DataFrame> {
    let models = s
        .models
        .list()
        .map_err(|e| Error::at(span, e.to_string()))?;
    let text = |f: &dyn Fn(&Model) -> String| -> ArrayRef {
        Arc::new(StringArray::from(
            models.iter().map(|m| f(m)).collect::<Vec<_>>(),
        ))
    };
    let mut created = Vec::with_capacity(models.len());
    for m in &models {
        created.push(timestamp(m.info.created_at, span)?);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("model", DataType::Utf8, false),
        Field::new("model_class", DataType::Utf8, false),
        Field::new("task", DataType::Utf8, false),
        Field::new("target_column", DataType::Utf8, true),
        Field::new("features", DataType::Int64, false),
        Field::new("training_rows", DataType::Int64, false),
        Field::new("created_at", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        text(&|m| m.info.name.clone()),
        text(&|m| m.info.class.sklearn_name().to_string()),
        text(&|m| m.info.task.to_string()),
        Arc::new(StringArray::from(
            models
                .iter()
                .map(|m| m.info.target.clone())
                .collect::<Vec<_>>(),
        )),
        Arc::new(Int64Array::from(
            models
                .iter()
                .map(|m| m.info.features.len() as i64)
                .collect::<Vec<_>>(),
        )),
        Arc::new(Int64Array::from(
            models
                .iter()
                .map(|m| m.info.training_rows as i64)
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(created)),
    ];
    let batch = RecordBatch::try_new(schema, columns).at(span)?;
    batch_frame(s, batch, span)
}

pub(crate) fn drop_model(s: &Session, name: &Name, if_exists: bool) -> Result<()> {
    let removed = s
        .models
        .remove(&name.normalized())
        .map_err(|e| Error::at(name.span, e.to_string()))?;
    if !removed && !if_exists {
        stored(s, name)?;
    }
    Ok(())
}

/// A location as written, made absolute against the working directory.
fn location(options: &[(Name, Literal)], what: &str, at: Span) -> Result<(PathBuf, Span)> {
    let (loc, span) = option_text(options, "location")?
        .ok_or_else(|| Error::at(at, format!("{what} needs WITH (location = '...')")))?;
    let path = PathBuf::from(&loc);
    let path = if path.is_absolute() {
        path
    } else {
        std::env::current_dir()
            .map(|d| d.join(&path))
            .unwrap_or(path)
    };
    Ok((path, span))
}

pub(crate) fn export_model(s: &Session, name: &Name, options: &[(Name, Literal)]) -> Result<()> {
    only_options(options, &["format", "location"])?;
    let Stored { model, bytes } = stored(s, name)?;
    let format = option_text(options, "format")?;
    let (path, at) = location(options, "EXPORT MODEL", name.span)?;
    let (data, ext) = match format.as_ref().map(|(f, sp)| (f.to_ascii_lowercase(), *sp)) {
        None => (bytes.as_ref().clone(), "fsqlmodel"),
        Some((f, _)) if f == "fsql" => (bytes.as_ref().clone(), "fsqlmodel"),
        Some((f, sp)) if f == "json" => (
            model
                .to_json()
                .map_err(|e| Error::at(sp, e.to_string()))?
                .into_bytes(),
            "json",
        ),
        Some((f, sp)) => {
            return Err(Error::at(
                sp,
                format!("format '{f}' is not supported; fsql exports 'fsql' (binary) or 'json'"),
            ));
        }
    };
    let path = if path.is_dir() {
        path.join(format!("{}.{ext}", model.info.name))
    } else {
        path
    };
    write_atomically(&path, &data).map_err(|e| Error::at(at, e.to_string()))
}

pub(crate) fn import_model(
    s: &Session,
    name: &Name,
    or_replace: bool,
    options: &[(Name, Literal)],
) -> Result<()> {
    only_options(options, &["location", "format"])?;
    let (path, at) = location(options, "IMPORT MODEL", name.span)?;
    let key = name.normalized();
    if s.models.exists(&key) && !or_replace {
        return Err(Error::at(
            name.span,
            format!("model '{key}' already exists; use IMPORT OR REPLACE MODEL to replace it"),
        ));
    }
    let bytes = std::fs::read(&path)
        .map_err(|e| Error::at(at, format!("cannot read {}: {e}", path.display())))?;
    let model = Model::from_bytes(&bytes)
        .map_err(|e| Error::at(at, format!("{}: {e}", path.display())))?
        .renamed(&key);
    let bytes = model.to_bytes().map_err(|e| Error::at(at, e.to_string()))?;
    s.models
        .put(&key, &bytes)
        .map_err(|e| Error::at(name.span, e.to_string()))
}

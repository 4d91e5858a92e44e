//! `TRANSFORM`, `OUTTRANSFORM`, `OUTPUT` and `ZIP`, lowered to fsql's
//! transform plan nodes (see `crate::transform`). Names are resolved and
//! parameters checked here, so mistakes point at the script.
//!
//! - One input: groups by the PREPARTITION keys (no keys: the whole
//!   dataframe is one group; `PREPARTITION n` without keys: n chunks).
//! - A zipped input, or several inputs (an implicit inner ZIP by the keys):
//!   each group hands every dataframe's rows for the key to the transformer.
//! - OUTTRANSFORM / OUTPUT run at once and produce no dataframe.
//! - PROCESS, CREATE USING and OUTPUT with a Python function hand whole
//!   dataframes to it once (`super::python`).

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::catalog::default_table_source::source_as_provider;
use datafusion::common::DFSchema;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::ViewTable;
use datafusion::logical_expr::{Extension, LogicalPlan, Partitioning};
use fsql_sql::{
    Name, OutputSchema, PartitionSpec, SchemaItem, SortKey, Span, Transform, TransformKind,
    Transformer as Using, Zip,
};

use super::{python, resolve_column, using};
use crate::error::{AtSpan, Error, Result};
use crate::python::Op;
use crate::session::Session;
use crate::transform::exec::base_type;
use crate::transform::node::{TransformNode, ZipNode};
use crate::transform::spec::{TransformSpec, Transformer, ZipHow};
use crate::types::to_arrow;

/// The inputs of a transform with how they are grouped.
struct Grouping {
    inputs: Vec<DataFrame>,
    keys: Vec<String>,
    presort: Vec<Vec<(String, bool)>>,
    how: Option<ZipHow>,
    chunks: Option<usize>,
}

pub(crate) async fn transform(
    s: &mut Session,
    t: &Transform,
    span: Span,
) -> Result<Option<DataFrame>> {
    if t.kind == TransformKind::Create {
        let r = python::resolve(s, t, Op::Create, 0)?.ok_or_else(|| {
            Error::at(
                using_span(&t.using),
                "CREATE USING runs a Python function (of a --udf file, mypkg.module.fn or 'udf.py:fn')",
            )
        })?;
        return python::whole(s, t, Op::Create, Vec::new(), r, span).await;
    }
    let mut frames = Vec::new();
    if t.inputs.is_empty() {
        frames.push(s.input(None, span).await?);
    }
    for n in &t.inputs {
        frames.push(s.named(n).await?);
    }
    if matches!(t.kind, TransformKind::Process | TransformKind::Output) {
        let op = if t.kind == TransformKind::Process {
            Op::Process
        } else {
            Op::Output
        };
        if frames.iter().any(|f| zip_of(f).is_some()) && !matches!(t.using, Using::Exec { .. }) {
            return Err(Error::at(
                span,
                "a zipped dataframe is for TRANSFORM / OUTTRANSFORM; PROCESS and OUTPUT take dataframes by name",
            ));
        }
        if let Some(r) = python::resolve(s, t, op, frames.len())? {
            return python::whole(s, t, op, frames, r, span).await;
        }
        if t.kind == TransformKind::Process {
            return Err(Error::at(
                using_span(&t.using),
                "PROCESS runs a Python function (of a --udf file, mypkg.module.fn or 'udf.py:fn'); run a program per group with TRANSFORM ... USING exec(...)",
            ));
        }
    }
    let g = grouping(frames, t.partition.as_ref(), span)?;
    let discard = !t.kind.produces();
    let op = if discard {
        Op::OutTransform
    } else {
        Op::Transform
    };
    let (transformer, natural) = match python::resolve(s, t, op, g.inputs.len())? {
        Some(r) => {
            let schema = if discard {
                None
            } else {
                python::schema(t, &r, &g.inputs)?
            };
            if schema.is_none() && !discard {
                return Err(Error::at(
                    r.span,
                    format!(
                        "TRANSFORM USING {} needs a SCHEMA, or a '# schema: *, x:double' comment right above the function (fugue's schema hint)",
                        r.f.shown
                    ),
                ));
            }
            (Transformer::Python(r.f), schema)
        }
        None => using::transformer(t, &g.inputs, &g.keys, span)?,
    };
    let python = matches!(transformer, Transformer::Python(_));
    let schema = match (&t.schema, natural) {
        (Some(_), Some(natural)) if python => natural,
        (Some(declared), natural) => {
            let schema = declared_schema(declared, &g.inputs)?;
            if let Some(natural) = natural {
                same_columns(&natural, &schema, declared.span)?;
            }
            schema
        }
        (None, Some(natural)) => natural,
        (None, None) if discard => Schema::empty(),
        (None, None) => {
            return Err(Error::at(
                using_span(&t.using),
                "TRANSFORM USING exec(...) needs a SCHEMA: the columns the program writes (SCHEMA * keeps the input's, SCHEMA *, x:double adds one)",
            ));
        }
    };
    let kind = t.kind.keyword();
    let spec = TransformSpec {
        keys: g.keys,
        presort: g.presort,
        how: g.how,
        chunks: g.chunks,
        transformer,
        discard,
        label: format!("{kind} at line {}", span.start.line),
    };
    let mut plans = Vec::with_capacity(g.inputs.len());
    for df in g.inputs {
        let plan = df.logical_plan().clone();
        plans.push(match spec.chunks {
            Some(n) => LogicalPlan::Repartition(datafusion::logical_expr::Repartition {
                input: Arc::new(plan),
                partitioning_scheme: Partitioning::RoundRobinBatch(n),
            }),
            None => plan,
        });
    }
    let node = TransformNode::new(plans, spec, &schema).at(span)?;
    let plan = LogicalPlan::Extension(Extension {
        node: Arc::new(node),
    });
    let df = DataFrame::new(s.ctx.state(), plan);
    if discard {
        df.collect().await.at(span)?;
        return Ok(None);
    }
    Ok(Some(df))
}

/// The ZIP a dataframe is, if it is one (also through a name or a nested
/// statement, which the session registers as a view).
fn zip_of(df: &DataFrame) -> Option<ZipNode> {
    zip_in(df.logical_plan())
}

fn zip_in(plan: &LogicalPlan) -> Option<ZipNode> {
    match plan {
        LogicalPlan::Extension(e) => e.node.as_any().downcast_ref::<ZipNode>().cloned(),
        LogicalPlan::SubqueryAlias(a) => zip_in(&a.input),
        LogicalPlan::TableScan(scan) if scan.projection.is_none() => {
            let provider = source_as_provider(&scan.source).ok()?;
            let view = provider.downcast_ref::<ViewTable>()?;
            zip_in(view.logical_plan())
        }
        _ => None,
    }
}

fn grouping(frames: Vec<DataFrame>, p: Option<&PartitionSpec>, span: Span) -> Result<Grouping> {
    let by = p.map(|p| p.by.as_slice()).unwrap_or_default();
    let presort = p.map(|p| p.presort.as_slice()).unwrap_or_default();
    if frames.len() == 1
        && let Some(z) = zip_of(&frames[0])
    {
        if p.is_some() {
            return Err(Error::at(
                span,
                "a zipped dataframe is partitioned by its ZIP: write BY and PRESORT there",
            ));
        }
        let state = frames[0].clone().into_parts().0;
        return Ok(Grouping {
            inputs: z
                .inputs
                .into_iter()
                .map(|plan| DataFrame::new(state.clone(), plan))
                .collect(),
            keys: z.keys,
            presort: z.presort,
            how: Some(z.how),
            chunks: None,
        });
    }
    if frames.len() > 1 {
        for df in &frames {
            if zip_of(df).is_some() {
                return Err(Error::at(span, "a zipped dataframe cannot be zipped again"));
            }
        }
        let keys = zip_keys(&frames, by, ZipHow::Inner, span)?;
        let presort = zip_presort(&frames, presort)?;
        return Ok(Grouping {
            inputs: frames,
            keys,
            presort,
            how: Some(ZipHow::Inner),
            chunks: None,
        });
    }
    let df = &frames[0];
    let keys = by
        .iter()
        .map(|k| resolve_column(df.schema(), k))
        .collect::<Result<Vec<_>>>()?;
    let sort = presort
        .iter()
        .map(|k| Ok((resolve_column(df.schema(), &k.column)?, k.ascending)))
        .collect::<Result<Vec<_>>>()?;
    // `PREPARTITION n` without keys: n chunks. A count written as an
    // expression (ROWCOUNT, CONCURRENCY) means the engine's partitions.
    let chunks = match p {
        Some(PartitionSpec { num: Some(n), .. }) if by.is_empty() => Some(
            n.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or_else(|| df.task_ctx().session_config().target_partitions()),
        ),
        _ => None,
    };
    Ok(Grouping {
        inputs: frames,
        keys,
        presort: vec![sort],
        how: None,
        chunks,
    })
}

/// The keys of a ZIP: the ones written (in every input, of one type), or the
/// columns every input has.
fn zip_keys(frames: &[DataFrame], by: &[Name], how: ZipHow, span: Span) -> Result<Vec<String>> {
    if how == ZipHow::Cross {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = if by.is_empty() {
        let first = frames[0].schema();
        let common: Vec<String> = first
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| {
                frames[1..]
                    .iter()
                    .all(|df| df.schema().has_column_with_unqualified_name(n))
            })
            .collect();
        if common.is_empty() {
            return Err(Error::at(
                span,
                "the zipped dataframes have no column in common: name the keys with BY (or use CROSS)",
            ));
        }
        common
    } else {
        by.iter()
            .map(|k| resolve_column(frames[0].schema(), k))
            .collect::<Result<_>>()?
    };
    for (i, df) in frames.iter().enumerate().skip(1) {
        for (j, k) in keys.iter().enumerate() {
            let at = by.get(j).map_or(span, |n| n.span);
            let name = Name {
                value: k.clone(),
                quoted: true,
                span: at,
            };
            let found = resolve_column(df.schema(), &name).map_err(|_| {
                Error::at(
                    at,
                    format!("dataframe {} of the ZIP has no key column '{k}'", i + 1),
                )
            })?;
            let a = frames[0].schema().field_with_unqualified_name(k).at(at)?;
            let b = df.schema().field_with_unqualified_name(&found).at(at)?;
            let same_type = base_type(a.data_type()) == base_type(b.data_type());
            if found != *k || !same_type {
                return Err(Error::at(
                    at,
                    format!(
                        "key '{k}' must have the same name and type in every zipped dataframe ({} vs {} '{found}')",
                        a.data_type(),
                        b.data_type()
                    ),
                ));
            }
        }
    }
    Ok(keys)
}

/// PRESORT of a ZIP: each column sorts the inputs that have it.
fn zip_presort(frames: &[DataFrame], presort: &[SortKey]) -> Result<Vec<Vec<(String, bool)>>> {
    let mut out = vec![Vec::new(); frames.len()];
    for k in presort {
        let mut found = false;
        for (i, df) in frames.iter().enumerate() {
            if let Ok(c) = resolve_column(df.schema(), &k.column) {
                out[i].push((c, k.ascending));
                found = true;
            }
        }
        if !found {
            return Err(Error::at(
                k.column.span,
                format!("no zipped dataframe has a column '{}'", k.column.value),
            ));
        }
    }
    Ok(out)
}

pub(crate) async fn zip(s: &Session, z: &Zip, span: Span) -> Result<DataFrame> {
    let mut frames = Vec::new();
    for n in &z.inputs {
        let df = s.named(n).await?;
        if zip_of(&df).is_some() {
            return Err(Error::at(
                n.span,
                "a zipped dataframe cannot be zipped again",
            ));
        }
        frames.push(df);
    }
    let how = match z.how {
        fsql_sql::ZipHow::Inner => ZipHow::Inner,
        fsql_sql::ZipHow::LeftOuter => ZipHow::LeftOuter,
        fsql_sql::ZipHow::RightOuter => ZipHow::RightOuter,
        fsql_sql::ZipHow::FullOuter => ZipHow::FullOuter,
        fsql_sql::ZipHow::Cross => ZipHow::Cross,
    };
    let keys = zip_keys(&frames, &z.by, how, span)?;
    let presort = zip_presort(&frames, &z.presort)?;
    let first = frames[0].schema();
    let fields: Vec<Field> = keys
        .iter()
        .map(|k| {
            first
                .field_with_unqualified_name(k)
                .map(|f| f.as_ref().clone())
        })
        .collect::<std::result::Result<_, _>>()
        .at(span)?;
    let schema = DFSchema::try_from(Schema::new(fields)).at(span)?;
    let node = ZipNode {
        inputs: frames.iter().map(|df| df.logical_plan().clone()).collect(),
        how,
        keys,
        presort,
        schema: Arc::new(schema),
    };
    let plan = LogicalPlan::Extension(Extension {
        node: Arc::new(node),
    });
    Ok(DataFrame::new(s.ctx.state(), plan))
}

fn using_span(u: &Using) -> Span {
    match u {
        Using::Exec { span, .. } => *span,
        Using::Builtin(n) => n.span,
        Using::Python(p) => p.span,
    }
}

/// The SCHEMA as written: `*` (the input columns; for zipped inputs every
/// input's columns, first occurrence kept), `*-a` and `name:type` fields.
pub(super) fn declared_schema(declared: &OutputSchema, inputs: &[DataFrame]) -> Result<Schema> {
    let mut all: Vec<Field> = Vec::new();
    for df in inputs {
        for f in df.schema().fields() {
            if !all.iter().any(|a| a.name() == f.name()) {
                all.push(f.as_ref().clone());
            }
        }
    }
    let mut fields: Vec<Field> = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |f: Field, span: Span, fields: &mut Vec<Field>| {
        if !seen.insert(f.name().clone()) {
            return Err(Error::at(
                span,
                format!("duplicate column name '{}' in SCHEMA", f.name()),
            ));
        }
        fields.push(f);
        Ok(())
    };
    for item in &declared.items {
        match item {
            SchemaItem::All {
                except,
                if_exists,
                span,
            } => {
                let mut drop = Vec::new();
                for e in if_exists {
                    drop.extend(
                        all.iter()
                            .filter(|f| f.name().eq_ignore_ascii_case(&e.value))
                            .map(|f| f.name().clone()),
                    );
                }
                for e in except {
                    let found = all
                        .iter()
                        .find(|f| f.name() == &e.value)
                        .or_else(|| {
                            let m: Vec<&Field> = all
                                .iter()
                                .filter(|f| f.name().eq_ignore_ascii_case(&e.value))
                                .collect();
                            (m.len() == 1).then(|| m[0])
                        })
                        .ok_or_else(|| {
                            Error::at(
                                e.span,
                                format!("'*-{}': no input column '{}'", e.value, e.value),
                            )
                        })?;
                    drop.push(found.name().clone());
                }
                for f in &all {
                    if !drop.contains(f.name()) {
                        push(f.clone(), *span, &mut fields)?;
                    }
                }
            }
            SchemaItem::Field(f) => push(
                Field::new(f.name.value.clone(), to_arrow(&f.ty), true),
                f.name.span,
                &mut fields,
            )?,
        }
    }
    Ok(Schema::new(fields))
}

/// A built-in's SCHEMA may retype its columns but not add or drop any.
fn same_columns(natural: &Schema, declared: &Schema, span: Span) -> Result<()> {
    let names =
        |s: &Schema| -> Vec<String> { s.fields().iter().map(|f| f.name().clone()).collect() };
    let (a, b) = (names(natural), names(declared));
    let mut sa = a.clone();
    let mut sb = b.clone();
    sa.sort();
    sb.sort();
    if sa != sb {
        return Err(Error::at(
            span,
            format!(
                "this built-in produces the columns {}; SCHEMA declares {}",
                a.join(", "),
                b.join(", ")
            ),
        ));
    }
    Ok(())
}

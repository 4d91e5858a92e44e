//! How a partition's rows become groups: contiguous key groups (by the
//! sort DataFusion did for a PRESORT, else by hashing the keys here), and
//! for zipped inputs the matching of their groups by key (INNER, LEFT /
//! RIGHT / FULL OUTER, CROSS).

use std::cmp::Ordering;
use std::collections::HashMap;

use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{SortOptions, partition, take_record_batch};
use datafusion::arrow::row::{Row, RowConverter, Rows, SortField};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::common::{DataFusionError, Result};

use super::process::Group;
use super::spec::{TransformSpec, ZipHow, empty};

/// NULL is the smallest value: first ascending, last descending.
pub(crate) fn sort_options(ascending: bool) -> SortOptions {
    SortOptions {
        descending: !ascending,
        nulls_first: ascending,
    }
}

/// `k=1, j='x'` for the group starting at `row`.
fn key_text(batch: &RecordBatch, keys: &[String], row: usize) -> String {
    keys.iter()
        .map(|k| {
            let col = batch.column_by_name(k).expect("key column");
            let v = if col.is_null(row) {
                "NULL".to_string()
            } else {
                array_value_to_string(col, row).unwrap_or_default()
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Input `i` with each key group contiguous, and the groups' (start,
/// length) ranges in key order. With a PRESORT the input arrives sorted by
/// keys and presort; without one, rows are grouped here by hashing the keys
/// (linear, no sort), keeping their order within a group.
fn grouped(
    spec: &TransformSpec,
    i: usize,
    batch: RecordBatch,
) -> Result<(RecordBatch, Vec<(usize, usize)>)> {
    let n = batch.num_rows();
    if n == 0 {
        return Ok((batch, Vec::new()));
    }
    if spec.keys.is_empty() {
        return Ok((batch, vec![(0, n)]));
    }
    let cols = key_columns(spec, &batch)?;
    if has_presort(spec, i) {
        let ranges = partition(&cols)?
            .ranges()
            .into_iter()
            .map(|r| (r.start, r.end - r.start))
            .collect();
        return Ok((batch, ranges));
    }
    let rows = key_converter(&cols)?.convert_columns(&cols)?;
    let mut ids: HashMap<Row<'_>, u32> = HashMap::new();
    let mut first: Vec<usize> = Vec::new();
    let mut group_of = Vec::with_capacity(n);
    for r in 0..n {
        let id = *ids.entry(rows.row(r)).or_insert_with(|| {
            first.push(r);
            (first.len() - 1) as u32
        });
        group_of.push(id);
    }
    // Groups in key order (as a sort would give), rows stable inside each.
    let mut order: Vec<usize> = (0..first.len()).collect();
    order.sort_unstable_by(|&a, &b| rows.row(first[a]).cmp(&rows.row(first[b])));
    let mut rank = vec![0usize; first.len()];
    for (k, &g) in order.iter().enumerate() {
        rank[g] = k;
    }
    let mut counts = vec![0usize; first.len()];
    for &g in &group_of {
        counts[rank[g as usize]] += 1;
    }
    let mut next = Vec::with_capacity(counts.len());
    let mut ranges = Vec::with_capacity(counts.len());
    let mut at = 0;
    for &c in &counts {
        next.push(at);
        ranges.push((at, c));
        at += c;
    }
    let mut indices = vec![0u32; n];
    for (r, &g) in group_of.iter().enumerate() {
        let k = rank[g as usize];
        indices[next[k]] = r as u32;
        next[k] += 1;
    }
    let batch = take_record_batch(&batch, &UInt32Array::from(indices))?;
    Ok((batch, ranges))
}

pub(crate) fn has_presort(spec: &TransformSpec, i: usize) -> bool {
    spec.presort.get(i).is_some_and(|p| !p.is_empty())
}

/// Compares key rows as bytes, in sort order (NULL first).
fn key_converter(cols: &[ArrayRef]) -> Result<RowConverter> {
    let fields = cols
        .iter()
        .map(|c| SortField::new_with_options(c.data_type().clone(), sort_options(true)))
        .collect();
    Ok(RowConverter::new(fields)?)
}

fn key_columns(spec: &TransformSpec, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
    spec.keys
        .iter()
        .map(|k| {
            batch
                .column_by_name(k)
                .cloned()
                .ok_or_else(|| DataFusionError::Internal(format!("no key column {k}")))
        })
        .collect()
}

/// The groups of the partition, each with one frame per input (and the
/// inputs, with each group's rows together).
pub(crate) fn groups(
    spec: &TransformSpec,
    inputs: Vec<RecordBatch>,
) -> Result<(Vec<RecordBatch>, Vec<Group>)> {
    let mut batches = Vec::with_capacity(inputs.len());
    let mut ranges = Vec::with_capacity(inputs.len());
    for (i, b) in inputs.into_iter().enumerate() {
        let (b, r) = grouped(spec, i, b)?;
        batches.push(b);
        ranges.push(r);
    }
    let groups = match_groups(spec, &batches, &ranges)?;
    Ok((batches, groups))
}

fn match_groups(
    spec: &TransformSpec,
    inputs: &[RecordBatch],
    ranges: &[Vec<(usize, usize)>],
) -> Result<Vec<Group>> {
    if inputs.len() == 1 {
        let b = &inputs[0];
        return Ok(ranges[0]
            .iter()
            .map(|&(start, len)| Group {
                key: key_text(b, &spec.keys, start),
                frames: vec![b.slice(start, len)],
            })
            .collect());
    }
    let how = spec.how.unwrap_or(ZipHow::Inner);
    if how == ZipHow::Cross || spec.keys.is_empty() {
        if inputs.iter().all(|b| b.num_rows() == 0) {
            return Ok(Vec::new());
        }
        return Ok(vec![Group {
            key: String::new(),
            frames: inputs.to_vec(),
        }]);
    }
    // Key rows of every input, comparable as bytes in sort order.
    let converter = key_converter(&key_columns(spec, &inputs[0])?)?;
    let rows: Vec<Rows> = inputs
        .iter()
        .map(|b| converter.convert_columns(&key_columns(spec, b)?))
        .collect::<Result<_, _>>()?;
    let last = inputs.len() - 1;
    let mut at = vec![0usize; inputs.len()];
    let mut out = Vec::new();
    loop {
        // The smallest key not yet handled, and which inputs have it.
        let mut min: Option<usize> = None;
        for i in 0..inputs.len() {
            if at[i] >= ranges[i].len() {
                continue;
            }
            let row = rows[i].row(ranges[i][at[i]].0);
            let smaller = match min {
                None => true,
                Some(m) => row.cmp(&rows[m].row(ranges[m][at[m]].0)) == Ordering::Less,
            };
            if smaller {
                min = Some(i);
            }
        }
        let Some(m) = min else { break };
        let key_row = rows[m].row(ranges[m][at[m]].0);
        let has: Vec<bool> = (0..inputs.len())
            .map(|i| at[i] < ranges[i].len() && rows[i].row(ranges[i][at[i]].0) == key_row)
            .collect();
        let keep = match how {
            ZipHow::Inner | ZipHow::Cross => has.iter().all(|h| *h),
            ZipHow::LeftOuter => has[0],
            ZipHow::RightOuter => has[last],
            ZipHow::FullOuter => true,
        };
        if keep {
            let key = key_text(&inputs[m], &spec.keys, ranges[m][at[m]].0);
            let frames = (0..inputs.len())
                .map(|i| {
                    if has[i] {
                        let (start, len) = ranges[i][at[i]];
                        inputs[i].slice(start, len)
                    } else {
                        empty(&inputs[i].schema())
                    }
                })
                .collect();
            out.push(Group { key, frames });
        }
        for i in 0..inputs.len() {
            if has[i] {
                at[i] += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::builtin::Builtin;
    use crate::transform::spec::Transformer;
    use datafusion::arrow::array::{Int32Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn spec(presort: bool) -> TransformSpec {
        TransformSpec {
            keys: vec!["k".into()],
            presort: vec![if presort {
                vec![("v".into(), true)]
            } else {
                vec![]
            }],
            how: None,
            chunks: None,
            transformer: Transformer::Builtin(Builtin::RowNumber { column: "n".into() }),
            discard: false,
            label: "TRANSFORM at line 1".into(),
        }
    }

    #[test]
    fn hashing_groups_rows_in_key_order_keeping_their_order() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Int32, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![
                    Some("b"),
                    None,
                    Some("a"),
                    Some("b"),
                    None,
                ])),
                Arc::new(Int32Array::from(vec![1, 2, 3, 4, 5])),
            ],
        )
        .unwrap();
        let (out, ranges) = grouped(&spec(false), 0, batch).unwrap();
        assert_eq!(ranges, vec![(0, 2), (2, 1), (3, 2)]);
        let v = out.column(1).as_any().downcast_ref::<Int32Array>().unwrap();
        // NULL group first (NULL is the smallest key), then a, then b.
        assert_eq!(v.values().to_vec(), vec![2, 5, 3, 1, 4]);
        assert_eq!(key_text(&out, &["k".into()], 0), "k=NULL");
        assert_eq!(key_text(&out, &["k".into()], 3), "k=b");
    }
}

//! The canonical order of training rows: an order that depends only on the
//! rows' values, so a model (and a cross-validation fold) does not depend
//! on how an engine partitioned and returned the rows.

use crate::features::{Column, Label};
use crate::model::Target;
use crate::par;

/// Seed of the row hash that orders the training rows.
const ROW_ORDER_SEED: u64 = 0x5eed_f5a1;

/// Row indices in an order that depends only on the rows' values: sorted
/// by a hash of each row (target and features), rows with equal hashes by
/// their values. Equal rows are interchangeable, so any engine's partitions
/// give the same order, and the order is as mixed as a shuffle (rows sorted
/// by target would be an unusual order for order-dependent solvers).
///
/// Also says, per feature, whether its numbers are all finite (NULLs
/// aside; text columns: true), read in the same pass as the hashes.
pub(crate) fn canonical_order(
    features: &[(String, Column)],
    target: Option<&Target>,
    rows: usize,
) -> (Vec<usize>, Vec<bool>) {
    use std::cmp::Ordering;
    let number = |v: Option<f64>| v.map_or(0x9e37_79b9, |x| x.to_bits());
    let text = |v: Option<&str>| {
        v.map_or(0x7f4a_7c15, |s| {
            s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            })
        })
    };
    // Row hashes, blocks of rows on the cores.
    let blocks = par::blocks(rows, 16_384);
    let parts = par::map(blocks.len(), par::threads(None), |b| {
        let range = blocks[b].clone();
        let mut hash = vec![ROW_ORDER_SEED; range.len()];
        // One multiply per value; each row's hash is finished by `mix`.
        // Generic (inlined per column kind), not a closure called through a
        // pointer per value.
        fn mix_in(hash: &mut [u64], range: std::ops::Range<usize>, f: impl Fn(usize) -> u64) {
            for (h, i) in hash.iter_mut().zip(range) {
                *h = (h.rotate_left(23) ^ f(i)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            }
        }
        match target {
            Some(Target::Labels(_, v)) => mix_in(&mut hash, range.clone(), |i| match &v[i] {
                None => 1,
                Some(Label::Bool(b)) => 2 + u64::from(*b),
                Some(Label::Int(n)) => *n as u64,
                Some(Label::Text(t)) => text(Some(t)),
            }),
            Some(Target::Numbers(v)) => mix_in(&mut hash, range.clone(), |i| number(v[i])),
            None => {}
        }
        let mut finite = vec![true; features.len()];
        for ((_, c), finite) in features.iter().zip(&mut finite) {
            match c {
                Column::Numeric(v, None) => {
                    let v = &v[range.clone()];
                    mix_in(&mut hash, 0..v.len(), |i| v[i].to_bits());
                    *finite = v.iter().fold(true, |a, x| a & x.is_finite());
                }
                Column::Numeric(v, Some(ok)) => {
                    mix_in(&mut hash, range.clone(), |i| number(c.number(i)));
                    *finite = v[range.clone()]
                        .iter()
                        .zip(&ok[range.clone()])
                        .fold(true, |a, (x, ok)| a & (!ok | x.is_finite()));
                }
                Column::Text(v) => mix_in(&mut hash, range.clone(), |i| text(v[i].as_deref())),
            }
        }
        hash.iter_mut().for_each(|h| *h = mix(*h));
        (hash, finite)
    });
    let mut finite = vec![true; features.len()];
    let mut hash: Vec<u64> = Vec::with_capacity(rows);
    for (h, f) in parts {
        hash.extend(h);
        for (all, block) in finite.iter_mut().zip(f) {
            *all &= block;
        }
    }
    let by_column = |c: &Column, a: usize, b: usize| -> Ordering {
        match c {
            Column::Numeric(..) => match (c.number(a), c.number(b)) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (x, y) => x.is_some().cmp(&y.is_some()),
            },
            Column::Text(v) => v[a].cmp(&v[b]),
        }
    };
    let by_values = |&a: &usize, &b: &usize| {
        let first = match target {
            Some(Target::Labels(_, v)) => v[a].cmp(&v[b]),
            Some(Target::Numbers(v)) => match (v[a], v[b]) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (x, y) => x.is_some().cmp(&y.is_some()),
            },
            None => Ordering::Equal,
        };
        features
            .iter()
            .fold(first, |acc, (_, c)| acc.then_with(|| by_column(c, a, b)))
    };
    let mut order: Vec<usize> = if rows <= u32::MAX as usize {
        // The hash's high half and the row number in one word, sorted by
        // the high half (four counting passes).
        let keyed = radix_sort_high(
            hash.iter()
                .enumerate()
                .map(|(i, h)| (h & !0xffff_ffff) | i as u64)
                .collect(),
        );
        keyed.iter().map(|k| (k & 0xffff_ffff) as usize).collect()
    } else {
        let mut order: Vec<usize> = (0..rows).collect();
        order.sort_unstable_by_key(|&i| hash[i] >> 32);
        order
    };
    // Rows whose hashes' high halves are equal (equal rows, or rare
    // collisions) by the whole hash, then by value.
    let mut start = 0;
    while start < rows {
        let high = hash[order[start]] >> 32;
        let mut end = start + 1;
        while end < rows && hash[order[end]] >> 32 == high {
            end += 1;
        }
        if end - start > 1 {
            order[start..end]
                .sort_unstable_by(|a, b| hash[*a].cmp(&hash[*b]).then_with(|| by_values(a, b)));
        }
        start = end;
    }
    (order, finite)
}

/// Words sorted by their high 32 bits (least significant byte first, four
/// counting passes; the order of equal high halves is kept).
fn radix_sort_high(mut v: Vec<u64>) -> Vec<u64> {
    let mut tmp = v.clone();
    for pass in 4..8 {
        let shift = pass * 8;
        let mut count = [0usize; 257];
        for k in &v {
            count[((k >> shift) & 0xff) as usize + 1] += 1;
        }
        for b in 0..256 {
            count[b + 1] += count[b];
        }
        for &k in &v {
            let b = ((k >> shift) & 0xff) as usize;
            tmp[count[b]] = k;
            count[b] += 1;
        }
        std::mem::swap(&mut v, &mut tmp);
    }
    v
}

/// The distinct labels, sorted: a binary search per row into the few seen
/// so far (classification targets have few), a sort when there are many.
pub(crate) fn distinct_sorted(values: &[Option<Label>]) -> Vec<Label> {
    if let Some(ints) = distinct_small_ints(values) {
        return ints;
    }
    const FEW: usize = 256;
    let mut seen: Vec<&Label> = Vec::new();
    for v in values.iter().flatten() {
        if let Err(at) = seen.binary_search(&v) {
            if seen.len() == FEW {
                let mut all: Vec<&Label> = values.iter().flatten().collect();
                all.sort_unstable();
                all.dedup();
                return all.into_iter().cloned().collect();
            }
            seen.insert(at, v);
        }
    }
    seen.into_iter().cloned().collect()
}

/// Integer labels within a range of at most `SMALL_RANGE`: the distinct
/// ones, marked in a table (no comparison per row). None for other labels.
fn distinct_small_ints(values: &[Option<Label>]) -> Option<Vec<Label>> {
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for v in values.iter().flatten() {
        let Label::Int(n) = v else {
            return None;
        };
        lo = lo.min(*n);
        hi = hi.max(*n);
    }
    let span = usize::try_from(hi.checked_sub(lo)?).ok()?;
    if span >= SMALL_RANGE {
        return None;
    }
    let mut seen = vec![false; span + 1];
    for v in values.iter().flatten() {
        if let Label::Int(n) = v {
            seen[(n - lo) as usize] = true;
        }
    }
    Some(
        seen.iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(k, _)| Label::Int(lo + k as i64))
            .collect(),
    )
}

/// The widest range of integer labels numbered through a table.
pub(crate) const SMALL_RANGE: usize = 1 << 16;

/// A label's class number: its place among the sorted distinct labels,
/// through a table for integer labels in a small range, else a search.
pub(crate) enum ClassIndex<'a> {
    Table { low: i64, class: Vec<u32> },
    Search(&'a [Label]),
}

impl<'a> ClassIndex<'a> {
    pub(crate) fn new(labels: &'a [Label]) -> ClassIndex<'a> {
        let ints: Option<Vec<i64>> = labels
            .iter()
            .map(|l| match l {
                Label::Int(n) => Some(*n),
                _ => None,
            })
            .collect();
        match ints.as_deref() {
            Some([low, .., high])
                if high
                    .checked_sub(*low)
                    .is_some_and(|d| (d as u64) < SMALL_RANGE as u64) =>
            {
                let mut class = vec![u32::MAX; (high - low) as usize + 1];
                for (k, n) in ints.iter().flatten().enumerate() {
                    class[(n - low) as usize] = k as u32;
                }
                ClassIndex::Table { low: *low, class }
            }
            _ => ClassIndex::Search(labels),
        }
    }

    /// The class of `label`, which is one of the labels.
    #[inline]
    pub(crate) fn of(&self, label: &Label) -> Option<u32> {
        match (self, label) {
            (ClassIndex::Table { low, class }, Label::Int(n)) => n
                .checked_sub(*low)
                .and_then(|k| class.get(usize::try_from(k).ok()?))
                .copied()
                .filter(|c| *c != u32::MAX),
            (ClassIndex::Table { .. }, _) => None,
            (ClassIndex::Search(labels), l) => labels.binary_search(l).ok().map(|k| k as u32),
        }
    }
}

/// SplitMix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: &[Option<i64>]) -> Vec<Option<Label>> {
        v.iter().map(|x| x.map(Label::Int)).collect()
    }

    #[test]
    fn distinct_labels_and_class_numbers_agree_with_a_sort_and_a_search() {
        let cases: Vec<Vec<Option<Label>>> = vec![
            ints(&[Some(3), None, Some(-2), Some(3), Some(7), Some(-2)]),
            // A range too wide for the table: the search.
            ints(&[Some(i64::MIN), Some(0), Some(i64::MAX), Some(0)]),
            ints(&[Some(1), Some(1_000_000), Some(1)]),
            vec![
                Some(Label::Text("b".into())),
                Some(Label::Text("a".into())),
                None,
                Some(Label::Text("b".into())),
            ],
            vec![Some(Label::Bool(true)), Some(Label::Bool(false))],
        ];
        for values in cases {
            let mut expected: Vec<Label> = values.iter().flatten().cloned().collect();
            expected.sort();
            expected.dedup();
            let labels = distinct_sorted(&values);
            assert_eq!(labels, expected);
            let index = ClassIndex::new(&labels);
            for v in values.iter().flatten() {
                let k = index.of(v).expect("a known label") as usize;
                assert_eq!(&labels[k], v);
            }
            // A label that is not among them has no class.
            assert_eq!(index.of(&Label::Int(123_456)), None);
        }
    }
}

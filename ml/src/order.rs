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
pub(crate) fn canonical_order(
    features: &[(String, Column)],
    target: Option<&Target>,
    rows: usize,
) -> Vec<usize> {
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
        let mut mix_in = |f: &dyn Fn(usize) -> u64| {
            for (h, i) in hash.iter_mut().zip(range.clone()) {
                *h = (h.rotate_left(23) ^ f(i)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            }
        };
        match target {
            Some(Target::Labels(_, v)) => mix_in(&|i| match &v[i] {
                None => 1,
                Some(Label::Bool(b)) => 2 + u64::from(*b),
                Some(Label::Int(n)) => *n as u64,
                Some(Label::Text(t)) => text(Some(t)),
            }),
            Some(Target::Numbers(v)) => mix_in(&|i| number(v[i])),
            None => {}
        }
        for (_, c) in features {
            match c {
                Column::Numeric(v, None) => mix_in(&|i| v[i].to_bits()),
                Column::Numeric(..) => mix_in(&|i| number(c.number(i))),
                Column::Text(v) => mix_in(&|i| text(v[i].as_deref())),
            }
        }
        hash.iter_mut().for_each(|h| *h = mix(*h));
        hash
    });
    let hash: Vec<u64> = parts.concat();
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
    order
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

/// SplitMix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

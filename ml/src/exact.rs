//! Sums that do not depend on the order of the values: correctly rounded
//! (Python's `math.fsum`), so a mean over rows an engine returned in any
//! order is the same number, without putting the rows in order first.

/// The correctly rounded sum of finite `values`, whatever their order.
/// Each value is an integer times a power of two: the integers are added
/// exactly into 128-bit accumulators, one per 32 powers of two (a value's
/// 53 bits shifted by up to 31 stay below 2⁸⁴, so 2⁴³ values fit); the
/// accumulators are then cut into pieces a double holds exactly and added
/// by [`fsum`]. A few nanoseconds per value.
pub(crate) fn sum(values: &[f64]) -> f64 {
    // The accumulators of blocks of values add up exactly: on the cores.
    let blocks = crate::par::blocks(values.len(), 32_768);
    let parts = crate::par::map(blocks.len(), crate::par::threads(None), |b| {
        accumulate(&values[blocks[b].clone()])
    });
    let mut acc = [0i128; BUCKETS];
    for part in parts {
        for (a, p) in acc.iter_mut().zip(part) {
            *a += p;
        }
    }
    finish(&acc)
}

const BUCKETS: usize = 2100 / 32 + 1;

/// The exact integer sums of `values`' significands, by power of two.
/// Four sets of accumulators take turns, so consecutive values (usually of
/// one magnitude) do not wait for each other's addition.
fn accumulate(values: &[f64]) -> [i128; BUCKETS] {
    let mut acc = [[0i128; BUCKETS]; 4];
    let mut quads = values.chunks_exact(4);
    for quad in &mut quads {
        for (acc, &v) in acc.iter_mut().zip(quad) {
            add(acc, v);
        }
    }
    for &v in quads.remainder() {
        add(&mut acc[0], v);
    }
    let mut total = acc[0];
    for other in &acc[1..] {
        for (t, a) in total.iter_mut().zip(other) {
            *t += a;
        }
    }
    total
}

#[inline(always)]
fn add(acc: &mut [i128; BUCKETS], v: f64) {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as usize;
    let normal = usize::from(biased != 0);
    // v = m · 2^(e - 1074), e ≥ 0 (subnormals: no implicit bit, e = 0).
    let m = ((bits & ((1 << 52) - 1)) | ((normal as u64) << 52)) as i128;
    let e = biased - normal;
    let sign = -((bits >> 63) as i128);
    acc[e / 32] += ((m ^ sign) - sign) << (e % 32);
}

/// The correctly rounded value of the accumulators.
fn finish(acc: &[i128; BUCKETS]) -> f64 {
    let mut pieces = Vec::with_capacity(BUCKETS * 3);
    for (b, &a) in acc.iter().enumerate() {
        if a == 0 {
            continue;
        }
        // a = hi·2⁸⁶ + mid·2⁴³ + lo, each part below 2⁴³ in magnitude
        // (hi carries the sign), times 2^(32b - 1074).
        let lo = a & ((1 << 43) - 1);
        let rest = a >> 43;
        let mid = rest & ((1 << 43) - 1);
        let hi = rest >> 43;
        let scale = 32 * b as i32 - 1074;
        for (part, shift) in [(hi, 86), (mid, 43), (lo, 0)] {
            if part != 0 {
                pieces.push(part as f64 * pow2(scale + shift));
            }
        }
    }
    fsum(&pieces)
}

/// 2ᵏ exactly (subnormal below 2⁻¹⁰²², infinite above 2¹⁰²³).
fn pow2(k: i32) -> f64 {
    if k > 1023 {
        f64::INFINITY
    } else if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else if k >= -1074 {
        f64::from_bits(1 << (k + 1074))
    } else {
        0.0
    }
}

/// The correctly rounded sum of `values` whatever their order (Shewchuk's
/// partials, as Python's `math.fsum`).
fn fsum(values: &[f64]) -> f64 {
    let mut partials: Vec<f64> = Vec::new();
    for &v in values {
        let mut x = v;
        let mut kept = 0;
        for i in 0..partials.len() {
            let mut y = partials[i];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        partials.truncate(kept);
        partials.push(x);
    }
    // The partials are non-overlapping, in increasing magnitude: add them
    // from the largest down, then correct the last rounding to even.
    let mut n = partials.len();
    if n == 0 {
        return 0.0;
    }
    n -= 1;
    let mut hi = partials[n];
    let mut lo = 0.0;
    while n > 0 {
        let x = hi;
        n -= 1;
        let y = partials[n];
        hi = x + y;
        lo = y - (hi - x);
        if lo != 0.0 {
            break;
        }
    }
    if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
        let y = lo * 2.0;
        let x = hi + y;
        if y == x - hi {
            hi = x;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sum_is_fsum() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for scale in [1e-300, 1e-5, 1.0, 3e7, 1e200] {
            let v: Vec<f64> = (0..10_000)
                .map(|_| (rng.random::<f64>() - 0.3) * scale * 10f64.powi(rng.random_range(-8..8)))
                .collect();
            assert_eq!(sum(&v), fsum(&v), "scale {scale}");
        }
        let tiny = [
            f64::from_bits(1),
            f64::from_bits(3),
            -f64::MIN_POSITIVE,
            1.0,
        ];
        assert_eq!(sum(&tiny), fsum(&tiny));
        assert_eq!(sum(&[]), 0.0);
        assert_eq!(sum(&[f64::MAX, -f64::MAX, 2.5]), 2.5);
    }

    #[test]
    fn exact_sum_ignores_the_order() {
        let v = [1e16, 1.0, -1e16, 3.5, 0.1, 0.2, -0.3];
        let mut r = v;
        r.reverse();
        assert_eq!(sum(&v), sum(&r));
        assert_eq!(sum(&v), 4.5);
    }
}

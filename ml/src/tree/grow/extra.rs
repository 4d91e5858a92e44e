//! Extra-trees' splits: one threshold drawn at random per feature between
//! the node's smallest and largest value, placed among the feature's bins
//! by a lookup table (most nodes are small, and a search over every bin was
//! a fifth of a fit), with the node's targets and a small node's codes
//! gathered once instead of through the row indices in every pass.

use rand::Rng;

use super::{Grower, SORT_LIMIT, Split, Target, proxy};
use crate::tree::bins::FeatureBins;

impl Grower<'_> {
    /// Extra-trees: one threshold drawn uniformly between the node's
    /// smallest and largest value of feature `f` (two passes: the range,
    /// then the left side's sums; no histogram, no sort).
    pub(super) fn random_split_on(
        &mut self,
        f: usize,
        start: usize,
        end: usize,
        total: &[f64],
        visited: &mut usize,
    ) -> Option<Split> {
        let codes = self.bins.col(f);
        // A large node of a regression tree: the per-code sums in one pass
        // give both the range and, after the draw, the left side's sums.
        let binned = match self.target {
            Target::Numbers(_) if end - start > SORT_LIMIT => {
                // The node's targets, gathered by `run` for this node.
                debug_assert_eq!(self.node_y.len(), end - start);
                let hist = &mut self.hist[..3 * 256];
                hist.fill(0.0);
                self.hist_n.fill(0);
                let rows = self.idx[start..end].iter().zip(&self.node_y);
                for ((&i, &v), &w) in rows.zip(&self.w[start..end]) {
                    let c = codes[i as usize] as usize;
                    self.hist_n[c] += 1;
                    let h = &mut hist[3 * c..3 * c + 3];
                    h[0] += w;
                    h[1] += w * v;
                    h[2] += w * v * v;
                }
                true
            }
            _ => false,
        };
        let (lo, hi) = if binned {
            let first = self.hist_n.iter().position(|n| *n > 0).unwrap_or(0);
            let last = self.hist_n.iter().rposition(|n| *n > 0).unwrap_or(0);
            (first as u8, last as u8)
        } else {
            let node = &mut self.node_codes;
            node.clear();
            node.extend(self.idx[start..end].iter().map(|&i| codes[i as usize]));
            let lo = node.iter().copied().min().unwrap_or(0);
            let hi = node.iter().copied().max().unwrap_or(0);
            (lo, hi)
        };
        if lo == hi {
            return None;
        }
        *visited += 1;
        let fb = &self.bins.features[f];
        let (vlo, vhi) = fb.range(lo as usize, hi as usize);
        let mut u = self.rng.random_range(vlo..=vhi);
        if u >= vhi {
            u = vlo;
        }
        // Codes whose values are <= u go left (bin edges for quantile bins).
        // Searched among the node's bins only: most nodes are small, and a
        // search over every bin was a fifth of an extra-trees fit.
        let (lo_b, hi_b) = (lo as usize, hi as usize);
        let last_left = match &fb.values {
            Some(v) => (lo_b + v[lo_b..=hi_b].partition_point(|x| *x <= u)).max(lo_b + 1) - 1,
            None => self.lookups[f]
                .code(&fb.thresholds, u)
                .clamp(lo_b, hi_b - 1),
        };
        if last_left >= hi as usize {
            return None;
        }
        let dims = self.dims;
        let mut left = std::mem::take(&mut self.left);
        left.clear();
        left.resize(dims, 0.0);
        let mut n_left = 0u32;
        if binned {
            for c in lo as usize..=last_left {
                n_left += self.hist_n[c];
                for (l, h) in left.iter_mut().zip(&self.hist[3 * c..3 * c + 3]) {
                    *l += h;
                }
            }
            let found = self.random_split(f, start, end, total, &left, n_left, last_left, u);
            self.left = left;
            return found;
        }
        match self.target {
            // A random threshold sends rows either way unpredictably: sum
            // without a branch, in registers.
            Target::Numbers(_) => {
                // The node's targets, gathered by `run` for this node.
                debug_assert_eq!(self.node_y.len(), end - start);
                let (mut sw, mut swy, mut swy2) = (0.0, 0.0, 0.0);
                let rows = self.node_codes.iter().zip(&self.node_y);
                for ((&c, &v), &w) in rows.zip(&self.w[start..end]) {
                    let goes = (c as usize <= last_left) as u32;
                    let w = w * goes as f64;
                    n_left += goes;
                    sw += w;
                    swy += w * v;
                    swy2 += w * v * v;
                }
                left[0] = sw;
                left[1] = swy;
                left[2] = swy2;
            }
            Target::Classes { .. } => {
                for (k, &c) in self.node_codes.iter().enumerate() {
                    if c as usize <= last_left {
                        n_left += 1;
                        self.target
                            .add(&mut left, self.idx[start + k], self.w[start + k]);
                    }
                }
            }
        }
        let found = self.random_split(f, start, end, total, &left, n_left, last_left, u);
        self.left = left;
        found
    }

    #[allow(clippy::too_many_arguments)]
    fn random_split(
        &mut self,
        f: usize,
        start: usize,
        end: usize,
        total: &[f64],
        left: &[f64],
        n_left: u32,
        last_left: usize,
        u: f64,
    ) -> Option<Split> {
        let fb = &self.bins.features[f];
        let n_right = (end - start) as u32 - n_left;
        let min_leaf = self.params.min_samples_leaf as u32;
        if n_left < min_leaf || n_right < min_leaf || n_left == 0 || n_right == 0 {
            return None;
        }
        let right = &mut self.right;
        right.clear();
        right.extend(total.iter().zip(left).map(|(t, l)| t - l));
        let c = self.params.criterion;
        Some(Split {
            feature: f,
            bin: last_left,
            threshold: if fb.values.is_some() {
                u
            } else {
                fb.thresholds[last_left]
            },
            proxy: proxy(c, left) + proxy(c, right),
        })
    }
}

/// The number of a feature's thresholds below a value without a binary
/// search (extra-trees ask once per feature of every node, and most nodes
/// are small): counts at the starts of equal cells spanning the thresholds,
/// then a step or two to the exact count.
pub(super) struct Lookup {
    start: f64,
    /// Cells per unit of value.
    scale: f64,
    counts: Vec<u8>,
}

const LOOKUP_CELLS: usize = 1024;

impl Lookup {
    pub(super) fn new(fb: &FeatureBins) -> Lookup {
        let t = &fb.thresholds;
        let (start, end) = match (t.first(), t.last()) {
            (Some(a), Some(b)) if b > a && fb.values.is_none() => (*a, *b),
            _ => {
                return Lookup {
                    start: 0.0,
                    scale: 0.0,
                    counts: Vec::new(),
                };
            }
        };
        let scale = LOOKUP_CELLS as f64 / (end - start);
        let counts = (0..LOOKUP_CELLS)
            .map(|k| t.partition_point(|v| *v < start + k as f64 / scale) as u8)
            .collect();
        Lookup {
            start,
            scale,
            counts,
        }
    }

    /// The number of `thresholds` below `u` (`FeatureBins::code`).
    #[inline]
    pub(super) fn code(&self, thresholds: &[f64], u: f64) -> usize {
        if self.counts.is_empty() {
            return thresholds.partition_point(|t| *t < u);
        }
        let cell = ((u - self.start) * self.scale).max(0.0) as usize;
        let mut c = self.counts[cell.min(LOOKUP_CELLS - 1)] as usize;
        // The cell's count is exact up to rounding at its edges.
        while c > 0 && thresholds[c - 1] >= u {
            c -= 1;
        }
        while c < thresholds.len() && thresholds[c] < u {
            c += 1;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_lookup_counts_as_a_binary_search_does() {
        let thresholds: Vec<f64> = (0..255)
            .map(|i| ((i as f64) / 40.0).powi(3) - 30.0)
            .collect();
        let fb = FeatureBins {
            thresholds: thresholds.clone(),
            values: None,
        };
        let lookup = Lookup::new(&fb);
        let mut u = -40.0;
        while u < 300.0 {
            for v in [u, thresholds[((u + 40.0) as usize) % 255]] {
                assert_eq!(lookup.code(&thresholds, v), fb.code(v) as usize, "{v}");
            }
            u += 0.0137;
        }
    }
}

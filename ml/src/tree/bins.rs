//! Feature values as bin codes (one byte each, column-major), the form every
//! tree model grows on. A feature with at most `max_bins` distinct values
//! gets one bin per value, so splits are exactly scikit-learn's (thresholds
//! halfway between neighbouring values); one with more gets quantile bins
//! (scikit-learn's HistGradientBoosting binning: midpoints of percentiles).

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::matrix::{Matrix, alloc};
use crate::par;

/// How one feature is binned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FeatureBins {
    /// Bin `b` holds the values `<= thresholds[b]` (and above the previous
    /// threshold); the last bin holds the values above the last threshold.
    pub thresholds: Vec<f64>,
    /// The value of each bin when bins are distinct values (exact splits).
    pub values: Option<Vec<f64>>,
}

impl FeatureBins {
    pub(crate) fn bins(&self) -> usize {
        self.thresholds.len() + 1
    }

    pub(crate) fn code(&self, v: f64) -> u8 {
        self.thresholds.partition_point(|t| *t < v) as u8
    }

    /// The raw threshold of a split with bins `..=left` on the left and the
    /// next non-empty bin `right`: halfway between the two values where bins
    /// are values, else the edge of the left bin.
    pub(crate) fn split_threshold(&self, left: usize, right: usize) -> f64 {
        match &self.values {
            Some(v) => {
                let t = v[left] / 2.0 + v[right] / 2.0;
                // Halfway may round up to the right value: keep it on the left.
                if t >= v[right] { v[left] } else { t }
            }
            None => self.thresholds[left],
        }
    }

    /// The smallest and largest value bin `b` may hold (for random
    /// thresholds).
    pub(crate) fn range(&self, low: usize, high: usize) -> (f64, f64) {
        match &self.values {
            Some(v) => (v[low], v[high]),
            None => {
                let lo = if low == 0 {
                    self.thresholds.first().copied().unwrap_or(0.0)
                } else {
                    self.thresholds[low - 1]
                };
                let hi = if high >= self.thresholds.len() {
                    self.thresholds.last().copied().unwrap_or(0.0)
                } else {
                    self.thresholds[high]
                };
                (lo, hi.max(lo))
            }
        }
    }
}

/// Bin codes of a matrix, column-major (`codes[j * rows + i]`): a node's
/// histogram of one feature reads one column.
#[derive(Debug, Clone)]
pub(crate) struct Binned {
    pub rows: usize,
    pub cols: usize,
    pub codes: Vec<u8>,
    pub features: Vec<FeatureBins>,
}

impl Binned {
    /// Bins the rows `rows` of `x` (all when None) with at most `max_bins`
    /// (≤ 256) bins per feature.
    pub(crate) fn new(
        x: &Matrix,
        rows: Option<&[usize]>,
        max_bins: usize,
        threads: usize,
    ) -> Result<Binned> {
        let p = x.cols();
        let n = rows.map_or(x.rows(), <[usize]>::len);
        let column = |j: usize| -> Vec<f64> {
            let col = x.col(j);
            match rows {
                None => col.to_vec(),
                Some(r) => r.iter().map(|&i| col[i]).collect(),
            }
        };
        let features = par::map(p, threads, |j| feature_bins(&column(j), max_bins));
        let mut codes: Vec<u8> = alloc(n * p)?;
        let parts = par::map(p, threads, |j| {
            let f = &features[j];
            let col = x.col(j);
            match rows {
                None => col.iter().map(|v| f.code(*v)).collect::<Vec<u8>>(),
                Some(r) => r.iter().map(|&i| f.code(col[i])).collect(),
            }
        });
        for col in parts {
            codes.extend_from_slice(&col);
        }
        Ok(Binned {
            rows: n,
            cols: p,
            codes,
            features,
        })
    }

    /// Feature `j`'s codes.
    #[inline]
    pub(crate) fn col(&self, j: usize) -> &[u8] {
        &self.codes[j * self.rows..(j + 1) * self.rows]
    }

    #[inline]
    pub(crate) fn code(&self, i: usize, j: usize) -> u8 {
        self.codes[j * self.rows + i]
    }
}

fn feature_bins(col: &[f64], max_bins: usize) -> FeatureBins {
    let mut sorted = col.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut distinct = sorted.clone();
    distinct.dedup();
    if distinct.len() <= max_bins {
        let thresholds = distinct
            .windows(2)
            .map(|w| {
                let t = w[0] / 2.0 + w[1] / 2.0;
                if t >= w[1] { w[0] } else { t }
            })
            .collect();
        return FeatureBins {
            thresholds,
            values: Some(distinct),
        };
    }
    // Percentiles 100·b/max_bins, b = 1..max_bins-1, each the midpoint of
    // its two nearest order statistics.
    let n = sorted.len();
    let mut thresholds: Vec<f64> = (1..max_bins)
        .map(|b| {
            let pos = b as f64 / max_bins as f64 * (n - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            sorted[lo] / 2.0 + sorted[hi] / 2.0
        })
        .collect();
    thresholds.dedup();
    FeatureBins {
        thresholds,
        values: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_values_get_exact_bins() {
        let x = Matrix::from_columns(5, 1, vec![3.0, 1.0, 2.0, 1.0, 3.0]);
        let b = Binned::new(&x, None, 256, 1).unwrap();
        assert_eq!(b.features[0].thresholds, vec![1.5, 2.5]);
        assert_eq!(b.codes, vec![2, 0, 1, 0, 2]);
        assert_eq!(b.features[0].split_threshold(0, 2), 2.0);
        let many: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let b = Binned::new(&Matrix::from_columns(1000, 1, many), None, 10, 1).unwrap();
        assert_eq!(b.features[0].bins(), 10);
        assert!(b.features[0].values.is_none());
    }
}

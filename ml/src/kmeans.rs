//! KMeans as scikit-learn runs it by default: greedy k-means++ seeding
//! (`2 + ln k` candidates per centre, the one that lowers the potential
//! most), then Lloyd iterations until no label changes or the centres move
//! less than `tol` times the mean feature variance; an empty cluster takes
//! the point farthest from its centre. Assignment runs over row blocks on
//! the cores.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::matrix::Matrix;
use crate::par;

const BLOCK: usize = 8192;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KMeans {
    /// centres[c][j]
    centres: Vec<Vec<f64>>,
    pub inertia: f64,
    pub iterations: usize,
}

pub(crate) fn fit(
    x: &Matrix,
    k: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    threads: usize,
) -> KMeans {
    let (n, p) = (x.rows(), x.cols());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centres = seed_centres(x, k, &mut rng, threads);
    let variance: f64 = par::map(p, threads, |j| {
        let col = x.col(j);
        let m = col.iter().sum::<f64>() / n as f64;
        col.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64
    })
    .iter()
    .sum::<f64>()
        / p.max(1) as f64;
    let tol = tol * variance;
    let mut labels: Vec<u32> = vec![u32::MAX; n];
    let mut iterations = 0;
    for it in 0..max_iter {
        crate::interrupt::point();
        iterations = it + 1;
        let (new_labels, distances) = assign(x, &centres, threads);
        let changed = new_labels != labels;
        labels = new_labels;
        // Update: means of the members (sums per block of rows, added in
        // block order); empty clusters take the farthest points.
        let blocks = par::blocks(n, BLOCK);
        let parts = par::map(blocks.len(), threads, |b| {
            let rows = blocks[b].clone();
            let mut sums = vec![vec![0.0; p]; k];
            let mut counts = vec![0usize; k];
            for c in &labels[rows.clone()] {
                counts[*c as usize] += 1;
            }
            for (j, col) in (0..p).map(|j| (j, x.col(j))) {
                for (v, c) in col[rows.clone()].iter().zip(&labels[rows.clone()]) {
                    sums[*c as usize][j] += v;
                }
            }
            (sums, counts)
        });
        let mut sums = vec![vec![0.0; p]; k];
        let mut counts = vec![0usize; k];
        for (part_sums, part_counts) in parts {
            for c in 0..k {
                counts[c] += part_counts[c];
                for (s, v) in sums[c].iter_mut().zip(&part_sums[c]) {
                    *s += v;
                }
            }
        }
        let mut far = if counts.contains(&0) {
            let mut far: Vec<usize> = (0..n).collect();
            far.sort_by(|a, b| distances[*b].total_cmp(&distances[*a]).then(a.cmp(b)));
            far
        } else {
            Vec::new()
        }
        .into_iter();
        let mut new_centres = centres.clone();
        for c in 0..k {
            if counts[c] == 0 {
                if let Some(i) = far.next() {
                    new_centres[c] = (0..p).map(|j| x.get(i, j)).collect();
                }
            } else {
                new_centres[c] = sums[c].iter().map(|s| s / counts[c] as f64).collect();
            }
        }
        let shift: f64 = centres
            .iter()
            .zip(&new_centres)
            .map(|(a, b)| a.iter().zip(b).map(|(u, v)| (u - v) * (u - v)).sum::<f64>())
            .sum();
        centres = new_centres;
        if !changed || shift <= tol {
            break;
        }
    }
    let (_, distances) = assign(x, &centres, threads);
    KMeans {
        centres,
        inertia: distances.iter().sum(),
        iterations,
    }
}

/// Greedy k-means++. Distances are computed over blocks of rows on the
/// cores; sums over rows add the blocks' sums in block order, so the
/// centres do not depend on the number of threads.
fn seed_centres(x: &Matrix, k: usize, rng: &mut ChaCha8Rng, threads: usize) -> Vec<Vec<f64>> {
    let (n, p) = (x.rows(), x.cols());
    let blocks = par::blocks(n, BLOCK);
    let row = |i: usize| -> Vec<f64> { (0..p).map(|j| x.get(i, j)).collect() };
    // Per block: min(closest, distance to `c`) and its sum.
    let closer = |closest: Option<&[f64]>, c: &[f64]| -> (Vec<f64>, f64) {
        let parts = par::map(blocks.len(), threads, |b| {
            let rows = blocks[b].clone();
            let mut d = vec![0.0; rows.len()];
            for (j, cj) in c.iter().enumerate() {
                for (dv, v) in d.iter_mut().zip(&x.col(j)[rows.clone()]) {
                    *dv += (v - cj) * (v - cj);
                }
            }
            if let Some(closest) = closest {
                for (dv, old) in d.iter_mut().zip(&closest[rows]) {
                    *dv = dv.min(*old);
                }
            }
            let sum: f64 = d.iter().sum();
            (d, sum)
        });
        let total = parts.iter().map(|(_, s)| s).sum();
        (parts.into_iter().flat_map(|(d, _)| d).collect(), total)
    };
    let trials = 2 + (k as f64).ln() as usize;
    let mut centres = vec![row(rng.random_range(0..n))];
    let (mut closest, mut potential) = closer(None, &centres[0]);
    while centres.len() < k {
        let cumulative: Vec<f64> = closest
            .iter()
            .scan(0.0, |s, v| {
                *s += v;
                Some(*s)
            })
            .collect();
        let mut best: Option<(f64, Vec<f64>, usize)> = None;
        for _ in 0..trials {
            let r = rng.random::<f64>() * potential;
            let id = cumulative.partition_point(|c| *c < r).min(n - 1);
            let (new_closest, pot) = closer(Some(&closest), &row(id));
            if best.as_ref().is_none_or(|(bp, _, _)| pot < *bp) {
                best = Some((pot, new_closest, id));
            }
        }
        let (pot, new_closest, id) = best.expect("at least one trial");
        centres.push(row(id));
        closest = new_closest;
        potential = pot;
    }
    centres
}

/// Nearest centre and squared distance of every row.
fn assign(x: &Matrix, centres: &[Vec<f64>], threads: usize) -> (Vec<u32>, Vec<f64>) {
    let blocks = par::blocks(x.rows(), BLOCK);
    let parts = par::map(blocks.len(), threads, |b| {
        let rows = blocks[b].clone();
        let m = rows.len();
        let mut best = vec![(f64::INFINITY, 0u32); m];
        let mut d = vec![0.0; m];
        for (c, centre) in centres.iter().enumerate() {
            d.iter_mut().for_each(|v| *v = 0.0);
            for (j, cj) in centre.iter().enumerate() {
                for (dv, v) in d.iter_mut().zip(&x.col(j)[rows.clone()]) {
                    *dv += (v - cj) * (v - cj);
                }
            }
            for (b, dv) in best.iter_mut().zip(&d) {
                if *dv < b.0 {
                    *b = (*dv, c as u32);
                }
            }
        }
        best
    });
    let mut labels = Vec::with_capacity(x.rows());
    let mut distances = Vec::with_capacity(x.rows());
    for (d, l) in parts.into_iter().flatten() {
        labels.push(l);
        distances.push(d);
    }
    (labels, distances)
}

impl KMeans {
    pub(crate) fn predict(&self, x: &Matrix, threads: usize) -> Vec<u32> {
        assign(x, &self.centres, threads).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_well_separated_blobs() {
        let rows: Vec<Vec<f64>> = (0..300)
            .map(|i| {
                let c = (i % 3) as f64 * 10.0;
                vec![
                    c + ((i * 7) % 5) as f64 / 10.0,
                    -c + ((i * 3) % 4) as f64 / 10.0,
                ]
            })
            .collect();
        let x = Matrix::from_rows(&rows);
        let m = fit(&x, 3, 300, 1e-4, 42, 2);
        let labels = m.predict(&x, 1);
        for i in 0..300 {
            assert_eq!(labels[i], labels[i % 3], "row {i}");
        }
        assert!(m.inertia < 100.0, "{}", m.inertia);
    }
}

//! k nearest neighbours by brute force, as scikit-learn chooses it for more
//! than 15 features: squared distances `|q|² + |x|² - 2 q·x` in tiles, the
//! `q·x` part a single-precision matrix product (`matrixmultiply`, with the
//! machine's SIMD), the best `k + MARGIN` of each query row kept while the
//! tiles stream by, and blocks of query rows spread over the cores. Those
//! candidates are then measured exactly in double precision and the `k`
//! nearest kept, so single precision only has to rank a row among the
//! first `k + MARGIN`. Classifier votes and regressor means follow
//! scikit-learn (`weights = 'distance'`: 1/d, an exact match takes all).

use serde::{Deserialize, Serialize};

use crate::matrix::Matrix;
use crate::par;

/// Query rows per task and training rows per tile.
const QUERY_BLOCK: usize = 256;
const TRAIN_BLOCK: usize = 2048;

/// Candidates kept beyond `k` for the exact re-ranking.
const MARGIN: usize = 8;

/// The training rows a kNN model keeps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Neighbors {
    x: Matrix,
    k: usize,
    distance_weights: bool,
    /// The training rows in single precision and their squared norms,
    /// made when first needed (not stored with the model).
    #[serde(skip)]
    single: std::sync::OnceLock<(Vec<f32>, Vec<f32>)>,
}

/// The `k` nearest training rows of one query: (index, distance), nearest first.
type Found = Vec<(u32, f64)>;

impl Neighbors {
    pub(crate) fn fit(x: Matrix, k: usize, distance_weights: bool) -> Neighbors {
        Neighbors {
            x,
            k,
            distance_weights,
            single: std::sync::OnceLock::new(),
        }
    }

    fn single(&self) -> &(Vec<f32>, Vec<f32>) {
        self.single.get_or_init(|| single(&self.x))
    }

    /// The neighbours of every row of `q`.
    fn search(&self, q: &Matrix, threads: usize) -> Vec<Found> {
        let k = self.k.min(self.x.rows()).max(1);
        let (qs, q_norms) = single(q);
        let blocks = par::blocks(q.rows(), QUERY_BLOCK);
        let found = par::map(blocks.len(), threads, |b| {
            crate::interrupt::point();
            self.search_block(q, &qs, &q_norms, blocks[b].clone(), k)
        });
        found.into_iter().flatten().collect()
    }

    fn search_block(
        &self,
        q: &Matrix,
        qs: &[f32],
        q_norms: &[f32],
        rows: std::ops::Range<usize>,
        k: usize,
    ) -> Vec<Found> {
        let (n, p) = (self.x.rows(), self.x.cols());
        let (xs, norms) = self.single();
        let keep = (k + MARGIN).min(n);
        let m = rows.len();
        // best[r]: (squared distance, index), sorted ascending.
        let mut best: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(keep + 1); m];
        let mut tile = vec![0.0f32; m * TRAIN_BLOCK];
        let mut start = 0;
        while start < n {
            let width = TRAIN_BLOCK.min(n - start);
            // tile (m × width, row-major) = Q[rows] · X[start..start+width]ᵀ
            // SAFETY: the pointers and strides describe the in-bounds
            // elements of `qs` (column-major, q.rows() × p), of `xs`
            // (column-major, n × p) and of `tile` (m × width, row-major).
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    p,
                    width,
                    1.0,
                    qs.as_ptr().add(rows.start),
                    1,
                    q.rows() as isize,
                    xs.as_ptr().add(start),
                    n as isize,
                    1,
                    0.0,
                    tile.as_mut_ptr(),
                    width as isize,
                    1,
                );
            }
            for (r, list) in best.iter_mut().enumerate() {
                let qn = q_norms[rows.start + r];
                let line = &tile[r * width..(r + 1) * width];
                let mut worst = if list.len() < keep {
                    f32::INFINITY
                } else {
                    list[list.len() - 1].0
                };
                for (t, dot) in line.iter().enumerate() {
                    let d = qn + norms[start + t] - 2.0 * dot;
                    if d < worst {
                        let pos = list.partition_point(|(e, _)| *e <= d);
                        list.insert(pos, (d, (start + t) as u32));
                        list.truncate(keep);
                        if list.len() == keep {
                            worst = list[keep - 1].0;
                        }
                    }
                }
            }
            start += width;
        }
        // Exact distances of the candidates; the k nearest.
        let mut qrow = vec![0.0; p];
        best.into_iter()
            .enumerate()
            .map(|(r, list)| {
                q.row_into(rows.start + r, &mut qrow);
                let mut exact: Found = list
                    .into_iter()
                    .map(|(_, i)| {
                        let d2: f64 = (0..p)
                            .map(|j| (qrow[j] - self.x.get(i as usize, j)).powi(2))
                            .sum();
                        (i, d2.sqrt())
                    })
                    .collect();
                exact.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                exact.truncate(k);
                exact
            })
            .collect()
    }

    /// Weights of found neighbours (1, or 1/d with exact matches taking all).
    fn weights(&self, found: &Found) -> Vec<f64> {
        if !self.distance_weights {
            return vec![1.0; found.len()];
        }
        if found.iter().any(|(_, d)| *d == 0.0) {
            return found
                .iter()
                .map(|(_, d)| if *d == 0.0 { 1.0 } else { 0.0 })
                .collect();
        }
        found.iter().map(|(_, d)| 1.0 / d).collect()
    }

    /// Class probabilities (vote shares) per query row.
    pub(crate) fn class_probabilities(
        &self,
        q: &Matrix,
        y: &[u32],
        classes: usize,
        threads: usize,
    ) -> Vec<Vec<f64>> {
        self.search(q, threads)
            .iter()
            .map(|found| {
                let w = self.weights(found);
                let mut votes = vec![0.0; classes];
                for ((i, _), wi) in found.iter().zip(&w) {
                    votes[y[*i as usize] as usize] += wi;
                }
                let total: f64 = votes.iter().sum();
                votes.iter().map(|v| v / total).collect()
            })
            .collect()
    }

    /// Mean (or distance-weighted mean) of the neighbours' targets.
    pub(crate) fn regress(&self, q: &Matrix, y: &[f64], threads: usize) -> Vec<f64> {
        self.search(q, threads)
            .iter()
            .map(|found| {
                let w = self.weights(found);
                let total: f64 = w.iter().sum();
                found
                    .iter()
                    .zip(&w)
                    .map(|((i, _), wi)| wi * y[*i as usize])
                    .sum::<f64>()
                    / total
            })
            .collect()
    }
}

/// The matrix in single precision (column-major) and each row's squared
/// norm.
fn single(x: &Matrix) -> (Vec<f32>, Vec<f32>) {
    let mut values = Vec::with_capacity(x.rows() * x.cols());
    let mut norms = vec![0.0f32; x.rows()];
    for j in 0..x.cols() {
        for (s, v) in norms.iter_mut().zip(x.col(j)) {
            let f = *v as f32;
            values.push(f);
            *s += f * f;
        }
    }
    (values, norms)
}

/// The class with the highest probability (the first on ties).
pub(crate) fn argmax(p: &[f64]) -> u32 {
    let mut best = 0;
    for k in 1..p.len() {
        if p[k] > p[best] {
            best = k;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_same_neighbours_as_a_plain_scan() {
        let rows: Vec<Vec<f64>> = (0..5000)
            .map(|i| {
                vec![
                    ((i * 37) % 101) as f64,
                    ((i * 11) % 53) as f64 / 3.0,
                    (i % 7) as f64,
                ]
            })
            .collect();
        let x = Matrix::from_rows(&rows);
        let nn = Neighbors::fit(x.clone(), 3, false);
        let queries = Matrix::from_rows(&rows[..300]);
        let found = nn.search(&queries, 2);
        for (qi, f) in found.iter().enumerate() {
            let mut all: Vec<(f64, usize)> = rows
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let d: f64 = r.iter().zip(&rows[qi]).map(|(a, b)| (a - b).powi(2)).sum();
                    (d.sqrt(), i)
                })
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (got, want) in f.iter().zip(&all) {
                assert!((got.1 - want.0).abs() < 1e-9, "query {qi}");
            }
        }
    }
}

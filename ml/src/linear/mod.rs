//! Linear models: the fitted form they share ([`LinearModel`]: weights and
//! an intercept per output) and the least-squares family solved in closed
//! form on the centred Gram matrix `XᵀX` (features × features, built once):
//! LinearRegression (minimum-norm least squares, as `lstsq`), Ridge and
//! RidgeClassifier (Cholesky), BayesianRidge (scikit-learn's evidence
//! iterations on the eigen-decomposition). The intercept is never
//! penalised: columns and targets are centred and the means added back.

pub(crate) mod cd;
pub(crate) mod huber;
pub(crate) mod lbfgs;
pub(crate) mod logistic;
pub(crate) mod svc;

use serde::{Deserialize, Serialize};

use crate::linalg::{cholesky_solve, symmetric_eigen};
use crate::matrix::Matrix;

/// Weights and intercept per output (class score or regression target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LinearModel {
    pub coef: Vec<Vec<f64>>,
    pub intercept: Vec<f64>,
}

impl LinearModel {
    /// `x · wₖ + bₖ` for each output `k` (one vector of rows per output).
    pub(crate) fn decision(&self, x: &Matrix) -> Vec<Vec<f64>> {
        self.coef
            .iter()
            .zip(&self.intercept)
            .map(|(w, b)| x.dot(w, *b))
            .collect()
    }

    /// One output: a regression.
    pub(crate) fn predict_numbers(&self, x: &Matrix) -> Vec<f64> {
        self.decision(x).swap_remove(0)
    }

    /// Class indices: with one output, class 1 where the score is positive;
    /// otherwise the highest score (the first on ties).
    pub(crate) fn predict_classes(&self, x: &Matrix) -> Vec<u32> {
        argmax_scores(&self.decision(x), x.rows())
    }
}

/// Class indices from per-output scores (see [`LinearModel::predict_classes`]).
pub(crate) fn argmax_scores(scores: &[Vec<f64>], rows: usize) -> Vec<u32> {
    if scores.len() == 1 {
        return scores[0].iter().map(|s| u32::from(*s > 0.0)).collect();
    }
    (0..rows)
        .map(|i| {
            let mut best = 0;
            for k in 1..scores.len() {
                if scores[k][i] > scores[best][i] {
                    best = k;
                }
            }
            best as u32
        })
        .collect()
}

pub(crate) fn softmax(scores: &[f64]) -> Vec<f64> {
    let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// The centred second moments of the training data: column means, `XᵀX`
/// and `Xᵀy` of the centred columns, for each target column.
pub(crate) struct Gram {
    pub x_mean: Vec<f64>,
    pub xtx: Vec<Vec<f64>>,
    pub y_mean: Vec<f64>,
    pub xty: Vec<Vec<f64>>,
    pub yty: Vec<f64>,
    pub n: usize,
}

impl Gram {
    /// Moments of `x` against each of `ys`; without an intercept nothing is
    /// centred.
    pub(crate) fn new(x: &Matrix, ys: &[&[f64]], fit_intercept: bool, threads: usize) -> Gram {
        let (n, p) = (x.rows(), x.cols());
        // One pass over the rows: the moments about a shift (the mean of
        // the first rows, near each column's mean), centred exactly below.
        let head = n.clamp(1, 1024);
        let near_mean = |v: &[f64]| {
            if fit_intercept {
                v[..head.min(v.len())].iter().sum::<f64>() / head as f64
            } else {
                0.0
            }
        };
        let shift_x: Vec<f64> = (0..p).map(|j| near_mean(x.col(j))).collect();
        let shift_y: Vec<f64> = ys.iter().map(|y| near_mean(y)).collect();
        let q = p + ys.len() + 1;
        let a = crate::matrix::shifted_moments(x, ys, &shift_x, &shift_y, threads);
        let nn = n.max(1) as f64;
        // Σ(u − ū)(v − v̄) from the shifted sums (nothing to remove without
        // an intercept: the shift is zero and nothing is centred).
        let sum = |i: usize| {
            if fit_intercept {
                a[(q - 1) * q + i]
            } else {
                0.0
            }
        };
        let centred = |i: usize, k: usize| a[i * q + k] - sum(i) * sum(k) / nn;
        let x_mean = (0..p).map(|j| shift_x[j] + sum(j) / nn).collect();
        let xtx = (0..p)
            .map(|i| (0..p).map(|k| centred(i.min(k), i.max(k))).collect())
            .collect();
        let xty = (0..ys.len())
            .map(|t| (0..p).map(|i| centred(i, p + t)).collect())
            .collect();
        let yty = (0..ys.len())
            .map(|t| centred(p + t, p + t).max(0.0))
            .collect();
        let y_mean = (0..ys.len())
            .map(|t| shift_y[t] + sum(p + t) / nn)
            .collect();
        Gram {
            x_mean,
            xtx,
            y_mean,
            xty,
            yty,
            n,
        }
    }

    /// The intercept that goes with weights `w` of target `t`.
    pub(crate) fn intercept(&self, t: usize, w: &[f64]) -> f64 {
        self.y_mean[t] - w.iter().zip(&self.x_mean).map(|(a, b)| a * b).sum::<f64>()
    }

    /// Ridge weights for target `t` (`alpha` 0: minimum-norm least squares).
    pub(crate) fn ridge(&self, t: usize, alpha: f64) -> Vec<f64> {
        let p = self.xtx.len();
        if alpha > 0.0 {
            let mut a = self.xtx.clone();
            for (i, row) in a.iter_mut().enumerate() {
                row[i] += alpha;
            }
            if let Some(w) = cholesky_solve(&a, &self.xty[t]) {
                return w;
            }
        }
        // Pseudo-inverse through the eigen-decomposition, dropping directions
        // whose eigenvalue is numerically zero (as lstsq's rcond).
        let (values, vectors) = symmetric_eigen(&self.xtx);
        let largest = values.first().copied().unwrap_or(0.0).max(0.0);
        let cutoff = largest * f64::EPSILON * (p.max(self.n)) as f64;
        let mut w = vec![0.0; p];
        for (l, v) in values.iter().zip(&vectors) {
            let l = l + alpha;
            if l <= cutoff {
                continue;
            }
            let proj: f64 = v.iter().zip(&self.xty[t]).map(|(a, b)| a * b).sum::<f64>() / l;
            for (wi, vi) in w.iter_mut().zip(v) {
                *wi += proj * vi;
            }
        }
        w
    }
}

/// LinearRegression or Ridge (`alpha` 0 for plain least squares).
pub(crate) fn fit_ridge(
    x: &Matrix,
    y: &[f64],
    alpha: f64,
    fit_intercept: bool,
    threads: usize,
) -> LinearModel {
    let g = Gram::new(x, &[y], fit_intercept, threads);
    let w = g.ridge(0, alpha);
    let b = g.intercept(0, &w);
    LinearModel {
        coef: vec![w],
        intercept: vec![b],
    }
}

/// RidgeClassifier: ridge regression on targets of ±1 per class (one target
/// for two classes, +1 on the second class).
pub(crate) fn fit_ridge_classifier(
    x: &Matrix,
    y: &[u32],
    classes: usize,
    alpha: f64,
    fit_intercept: bool,
    threads: usize,
) -> LinearModel {
    let outputs: Vec<u32> = if classes == 2 {
        vec![1]
    } else {
        (0..classes as u32).collect()
    };
    let targets: Vec<Vec<f64>> = outputs
        .iter()
        .map(|c| y.iter().map(|v| if v == c { 1.0 } else { -1.0 }).collect())
        .collect();
    let refs: Vec<&[f64]> = targets.iter().map(Vec::as_slice).collect();
    let g = Gram::new(x, &refs, fit_intercept, threads);
    let mut coef = Vec::new();
    let mut intercept = Vec::new();
    for t in 0..outputs.len() {
        let w = g.ridge(t, alpha);
        intercept.push(g.intercept(t, &w));
        coef.push(w);
    }
    LinearModel { coef, intercept }
}

/// BayesianRidge's settings (scikit-learn's names).
pub(crate) struct BayesSettings {
    pub max_iter: usize,
    pub tol: f64,
    pub alpha_1: f64,
    pub alpha_2: f64,
    pub lambda_1: f64,
    pub lambda_2: f64,
    pub fit_intercept: bool,
}

/// A fitted BayesianRidge: the weights and the estimated precisions of the
/// noise (`alpha`) and of the weights (`lambda`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Bayes {
    pub linear: LinearModel,
    pub alpha: f64,
    pub lambda: f64,
}

/// scikit-learn's BayesianRidge: alternately the posterior mean of the
/// weights and the evidence-maximising precisions, until the weights move
/// less than `tol` (sum of absolute changes).
pub(crate) fn fit_bayesian_ridge(
    x: &Matrix,
    y: &[f64],
    s: &BayesSettings,
    threads: usize,
) -> Bayes {
    let g = Gram::new(x, &[y], s.fit_intercept, threads);
    let n = g.n as f64;
    let p = g.xtx.len();
    let (values, vectors) = symmetric_eigen(&g.xtx);
    let values: Vec<f64> = values.iter().map(|v| v.max(0.0)).collect();
    let xty = &g.xty[0];
    // Projections of Xᵀy on the eigenvectors.
    let proj: Vec<f64> = vectors
        .iter()
        .map(|v| v.iter().zip(xty).map(|(a, b)| a * b).sum())
        .collect();
    let var_y = g.yty[0] / n.max(1.0);
    let mut alpha = 1.0 / (var_y + f64::EPSILON);
    let mut lambda = 1.0;
    let coef = |alpha: f64, lambda: f64| -> (Vec<f64>, f64) {
        let mut w = vec![0.0; p];
        for ((l, v), pr) in values.iter().zip(&vectors).zip(&proj) {
            let c = pr / (l + lambda / alpha);
            for (wi, vi) in w.iter_mut().zip(v) {
                *wi += c * vi;
            }
        }
        // Residual sum of squares from the moments: |y|² - 2wᵀXᵀy + wᵀXᵀXw.
        let mut wxxw = 0.0;
        for a in 0..p {
            for b in 0..p {
                wxxw += w[a] * g.xtx[a][b] * w[b];
            }
        }
        let wxy: f64 = w.iter().zip(xty).map(|(a, b)| a * b).sum();
        let rss = (g.yty[0] - 2.0 * wxy + wxxw).max(0.0);
        (w, rss)
    };
    let mut previous: Option<Vec<f64>> = None;
    for _ in 0..s.max_iter {
        let (w, rss) = coef(alpha, lambda);
        let gamma: f64 = values
            .iter()
            .map(|l| alpha * l / (lambda + alpha * l))
            .sum();
        lambda =
            (gamma + 2.0 * s.lambda_1) / (w.iter().map(|v| v * v).sum::<f64>() + 2.0 * s.lambda_2);
        alpha = (n - gamma + 2.0 * s.alpha_1) / (rss + 2.0 * s.alpha_2);
        if let Some(old) = &previous
            && old.iter().zip(&w).map(|(a, b)| (a - b).abs()).sum::<f64>() < s.tol
        {
            break;
        }
        previous = Some(w);
    }
    let (w, _) = coef(alpha, lambda);
    let b = g.intercept(0, &w);
    Bayes {
        linear: LinearModel {
            coef: vec![w],
            intercept: vec![b],
        },
        alpha,
        lambda,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> (Matrix, Vec<f64>) {
        let rows: Vec<Vec<f64>> = (0..50)
            .map(|i| vec![i as f64, ((i * 7) % 11) as f64, ((i * 3) % 5) as f64])
            .collect();
        let y = rows
            .iter()
            .map(|r| 2.0 * r[0] - 3.0 * r[1] + 0.5 * r[2] + 4.0)
            .collect();
        (Matrix::from_rows(&rows), y)
    }

    #[test]
    fn least_squares_recovers_exact_weights() {
        let (x, y) = data();
        let m = fit_ridge(&x, &y, 0.0, true, 2);
        let want = [2.0, -3.0, 0.5];
        for (a, b) in m.coef[0].iter().zip(want) {
            assert!((a - b).abs() < 1e-9, "{:?}", m.coef);
        }
        assert!((m.intercept[0] - 4.0).abs() < 1e-8);
        // Ridge shrinks, but little for a small alpha.
        let r = fit_ridge(&x, &y, 1.0, true, 1);
        assert!((r.coef[0][0] - 2.0).abs() < 0.01);
        let b = fit_bayesian_ridge(
            &x,
            &y,
            &BayesSettings {
                max_iter: 300,
                tol: 1e-3,
                alpha_1: 1e-6,
                alpha_2: 1e-6,
                lambda_1: 1e-6,
                lambda_2: 1e-6,
                fit_intercept: true,
            },
            1,
        );
        assert!((b.linear.coef[0][1] + 3.0).abs() < 1e-3, "{:?}", b.linear);
    }
}

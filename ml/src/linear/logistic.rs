//! Logistic regression as scikit-learn's `lbfgs` solver fits it: the mean
//! log loss plus `|w|² / (2 C n)` (the intercept unpenalised), binomial for
//! two classes and multinomial (softmax over every class) for more,
//! minimised by L-BFGS until the largest gradient component is at most
//! `tol`. Loss and gradient are summed over row blocks on the cores.

use serde::{Deserialize, Serialize};

use super::LinearModel;
use super::lbfgs;
use crate::matrix::Matrix;
use crate::par;

/// Rows per block of the loss and gradient sums.
const BLOCK: usize = 16_384;

/// Fits on class indices `y` in `0..classes` (at least two).
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit(
    x: &Matrix,
    y: &[u32],
    classes: usize,
    c: f64,
    max_iter: usize,
    tol: f64,
    fit_intercept: bool,
    threads: usize,
) -> Logistic {
    let (n, p) = (x.rows(), x.cols());
    let k = if classes == 2 { 1 } else { classes };
    let width = p + usize::from(fit_intercept);
    let l2 = 1.0 / (c * n.max(1) as f64);
    let blocks = par::blocks(n, BLOCK);
    let mut objective = |theta: &[f64], grad: &mut [f64]| -> f64 {
        let parts = par::map(blocks.len(), threads, |b| {
            block_loss(x, y, theta, k, p, fit_intercept, blocks[b].clone())
        });
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut loss = 0.0;
        for (l, g) in parts {
            loss += l;
            for (a, b) in grad.iter_mut().zip(&g) {
                *a += b;
            }
        }
        let scale = 1.0 / n.max(1) as f64;
        loss *= scale;
        grad.iter_mut().for_each(|g| *g *= scale);
        for cls in 0..k {
            for j in 0..p {
                let w = theta[cls * width + j];
                loss += 0.5 * l2 * w * w;
                grad[cls * width + j] += l2 * w;
            }
        }
        loss
    };
    let start = vec![0.0; k * width];
    let result = lbfgs::minimize(start, max_iter, tol, &mut objective);
    let theta = result.x;
    let coef = (0..k)
        .map(|cls| theta[cls * width..cls * width + p].to_vec())
        .collect();
    let intercept = (0..k)
        .map(|cls| {
            if fit_intercept {
                theta[cls * width + p]
            } else {
                0.0
            }
        })
        .collect();
    Logistic {
        linear: LinearModel { coef, intercept },
        iterations: result.iterations,
    }
}

/// Loss and gradient (unscaled sums) over the rows `rows`.
fn block_loss(
    x: &Matrix,
    y: &[u32],
    theta: &[f64],
    k: usize,
    p: usize,
    fit_intercept: bool,
    rows: std::ops::Range<usize>,
) -> (f64, Vec<f64>) {
    let width = p + usize::from(fit_intercept);
    let m = rows.len();
    // raw[cls][i]
    let mut raw = vec![vec![0.0; m]; k];
    for (cls, r) in raw.iter_mut().enumerate() {
        let b = if fit_intercept {
            theta[cls * width + p]
        } else {
            0.0
        };
        r.iter_mut().for_each(|v| *v = b);
        for j in 0..p {
            let w = theta[cls * width + j];
            if w == 0.0 {
                continue;
            }
            let col = &x.col(j)[rows.clone()];
            for (v, xv) in r.iter_mut().zip(col) {
                *v += w * xv;
            }
        }
    }
    let mut loss = 0.0;
    // Residuals (probability - indicator), written over raw.
    if k == 1 {
        for (i, v) in raw[0].iter_mut().enumerate() {
            let t = f64::from(y[rows.start + i] == 1);
            // log(1 + e^v) - t v, stably.
            loss += if *v > 0.0 {
                *v + (-*v).exp().ln_1p()
            } else {
                v.exp().ln_1p()
            } - t * *v;
            *v = sigmoid(*v) - t;
        }
    } else {
        let mut scores = vec![0.0; k];
        for i in 0..m {
            for cls in 0..k {
                scores[cls] = raw[cls][i];
            }
            let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = scores.iter().map(|s| (s - max).exp()).sum();
            let lse = max + sum.ln();
            let t = y[rows.start + i] as usize;
            loss += lse - scores[t];
            for cls in 0..k {
                raw[cls][i] = (scores[cls] - lse).exp() - f64::from(cls == t);
            }
        }
    }
    let mut grad = vec![0.0; k * width];
    for (cls, r) in raw.iter().enumerate() {
        for j in 0..p {
            let col = &x.col(j)[rows.clone()];
            grad[cls * width + j] = col.iter().zip(r).map(|(a, b)| a * b).sum();
        }
        if fit_intercept {
            grad[cls * width + p] = r.iter().sum();
        }
    }
    (loss, grad)
}

pub(crate) fn sigmoid(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

/// A fitted logistic regression.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Logistic {
    pub linear: LinearModel,
    pub iterations: usize,
}

impl Logistic {
    /// Class probabilities per row (`classes` columns).
    pub(crate) fn probabilities(&self, x: &Matrix, classes: usize) -> Vec<Vec<f64>> {
        let scores = self.linear.decision(x);
        if classes == 2 {
            return scores[0]
                .iter()
                .map(|s| {
                    let p1 = sigmoid(*s);
                    vec![1.0 - p1, p1]
                })
                .collect();
        }
        (0..x.rows())
            .map(|i| {
                let row: Vec<f64> = scores.iter().map(|s| s[i]).collect();
                super::softmax(&row)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_enough_data_is_classified() {
        let rows: Vec<Vec<f64>> = (0..200)
            .map(|i| vec![(i % 20) as f64 / 10.0, (i / 20) as f64 / 10.0])
            .collect();
        let y: Vec<u32> = rows.iter().map(|r| u32::from(r[0] + r[1] > 1.9)).collect();
        let x = Matrix::from_rows(&rows);
        let m = fit(&x, &y, 2, 1.0, 100, 1e-4, true, 2);
        let pred = m.linear.predict_classes(&x);
        let acc = pred.iter().zip(&y).filter(|(a, b)| a == b).count() as f64 / 200.0;
        assert!(acc > 0.95, "{acc}");
        // Three classes by the first feature.
        let y3: Vec<u32> = rows.iter().map(|r| (r[0] / 0.7) as u32).collect();
        let m3 = fit(&x, &y3, 3, 10.0, 200, 1e-5, true, 1);
        let pred = m3.linear.predict_classes(&x);
        let acc = pred.iter().zip(&y3).filter(|(a, b)| a == b).count() as f64 / 200.0;
        assert!(acc > 0.9, "{acc}");
        let p = m3.probabilities(&x, 3);
        assert!((p[0].iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}

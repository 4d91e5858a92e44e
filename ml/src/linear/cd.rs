//! Lasso and ElasticNet: scikit-learn's objective
//! `|y - Xw|² / (2n) + alpha·l1_ratio·|w|₁ + alpha·(1 - l1_ratio)·|w|² / 2`
//! minimised by cyclic coordinate descent, with scikit-learn's stopping
//! rule (the largest weight change relative to the largest weight below
//! `tol`, then the duality gap below `tol·|y|²`). Each sweep works on the
//! centred Gram matrix (features × features), built once, so a sweep costs
//! `features²` instead of `rows × features`: the same iterates as on the
//! rows themselves, for far less work when there are many rows.

use super::{Gram, LinearModel};
use crate::matrix::Matrix;

/// Fits ElasticNet (Lasso: `l1_ratio` 1).
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit(
    x: &Matrix,
    y: &[f64],
    alpha: f64,
    l1_ratio: f64,
    max_iter: usize,
    tol: f64,
    fit_intercept: bool,
    threads: usize,
) -> (LinearModel, usize) {
    let g = Gram::new(x, &[y], fit_intercept, threads);
    let (w, iterations) = descend(&g, alpha, l1_ratio, max_iter, tol);
    let b = g.intercept(0, &w);
    (
        LinearModel {
            coef: vec![w],
            intercept: vec![b],
        },
        iterations,
    )
}

fn descend(g: &Gram, alpha: f64, l1_ratio: f64, max_iter: usize, tol: f64) -> (Vec<f64>, usize) {
    let p = g.xtx.len();
    let n = g.n as f64;
    let l1 = alpha * l1_ratio * n;
    let l2 = alpha * (1.0 - l1_ratio) * n;
    let q = &g.xty[0];
    let h = &g.xtx;
    let y_norm2 = g.yty[0];
    let d_w_tol = tol;
    let tol = tol * y_norm2;
    let mut w = vec![0.0; p];
    // hw = H w, kept up to date.
    let mut hw = vec![0.0; p];
    let mut iterations = 0;
    for it in 0..max_iter {
        crate::interrupt::point();
        iterations = it + 1;
        let mut w_max: f64 = 0.0;
        let mut d_w_max: f64 = 0.0;
        for j in 0..p {
            if h[j][j] == 0.0 {
                continue;
            }
            let old = w[j];
            // The correlation of feature j with the residual, w_j left out.
            let rho = q[j] - hw[j] + h[j][j] * old;
            let new = soft_threshold(rho, l1) / (h[j][j] + l2);
            if new != old {
                let d = new - old;
                for (k, v) in hw.iter_mut().enumerate() {
                    *v += d * h[k][j];
                }
                w[j] = new;
            }
            d_w_max = d_w_max.max((new - old).abs());
            w_max = w_max.max(new.abs());
        }
        if w_max == 0.0 || d_w_max / w_max < d_w_tol || it == max_iter - 1 {
            // The duality gap, from the moments.
            let xta: Vec<f64> = (0..p).map(|j| q[j] - hw[j] - l2 * w[j]).collect();
            let dual_norm = xta.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            let wq: f64 = w.iter().zip(q).map(|(a, b)| a * b).sum();
            let whw: f64 = w.iter().zip(&hw).map(|(a, b)| a * b).sum();
            let r_norm2 = (y_norm2 - 2.0 * wq + whw).max(0.0);
            let w_norm2: f64 = w.iter().map(|v| v * v).sum();
            let (constant, mut gap) = if dual_norm > l1 {
                let c = l1 / dual_norm;
                (c, 0.5 * (r_norm2 + r_norm2 * c * c))
            } else {
                (1.0, r_norm2)
            };
            let l1_norm: f64 = w.iter().map(|v| v.abs()).sum();
            gap += l1 * l1_norm - constant * (y_norm2 - wq)
                + 0.5 * l2 * (1.0 + constant * constant) * w_norm2;
            if gap < tol {
                break;
            }
        }
    }
    (w, iterations)
}

fn soft_threshold(v: f64, t: f64) -> f64 {
    if v > t {
        v - t
    } else if v < -t {
        v + t
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lasso_zeroes_the_useless_feature() {
        let rows: Vec<Vec<f64>> = (0..100)
            .map(|i| vec![i as f64 / 10.0, ((i * 37) % 17) as f64 / 17.0])
            .collect();
        let y: Vec<f64> = rows.iter().map(|r| 3.0 * r[0] + 1.0).collect();
        let x = Matrix::from_rows(&rows);
        let (m, _) = fit(&x, &y, 0.1, 1.0, 1000, 1e-4, true, 1);
        assert!(m.coef[0][1].abs() < 1e-9, "{:?}", m.coef);
        assert!((m.coef[0][0] - 3.0).abs() < 0.05, "{:?}", m.coef);
    }
}

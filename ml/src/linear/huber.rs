//! HuberRegressor: scikit-learn's objective over the weights, the intercept
//! and the scale `sigma` together,
//! `n·sigma + Σ H(r/sigma)·sigma + alpha·|w|²` with `H` squared inside
//! `epsilon` and linear outside, minimised by L-BFGS (sigma kept positive)
//! with scikit-learn's `max_iter` and gradient tolerance `tol`.

use serde::{Deserialize, Serialize};

use super::LinearModel;
use super::lbfgs;
use crate::matrix::Matrix;

/// A fitted HuberRegressor: the linear model and the fitted scale.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Huber {
    pub linear: LinearModel,
    pub scale: f64,
}

pub(crate) fn fit(
    x: &Matrix,
    y: &[f64],
    epsilon: f64,
    alpha: f64,
    max_iter: usize,
    tol: f64,
    fit_intercept: bool,
) -> Huber {
    let (n, p) = (x.rows(), x.cols());
    // theta = [w (p), intercept, sigma]
    let mut objective = |theta: &[f64], grad: &mut [f64]| -> f64 {
        let w = &theta[..p];
        let b = if fit_intercept { theta[p] } else { 0.0 };
        let sigma = theta[p + 1];
        grad.iter_mut().for_each(|g| *g = 0.0);
        if sigma <= 10.0 * f64::EPSILON {
            return f64::INFINITY;
        }
        let fitted = x.dot(w, b);
        let mut squared = 0.0;
        let mut outlier_sum = 0.0;
        let mut outliers = 0.0;
        // d loss / d fitted_i, for the weight and intercept gradients.
        let mut dfit = vec![0.0; n];
        for i in 0..n {
            let r = y[i] - fitted[i];
            if r.abs() > epsilon * sigma {
                outliers += 1.0;
                outlier_sum += r.abs();
                dfit[i] = -2.0 * epsilon * r.signum();
            } else {
                squared += r * r;
                dfit[i] = -2.0 * r / sigma;
            }
        }
        let squared_loss = squared / sigma;
        let outlier_loss = 2.0 * epsilon * outlier_sum - sigma * outliers * epsilon * epsilon;
        let mut loss = n as f64 * sigma + squared_loss + outlier_loss;
        for j in 0..p {
            grad[j] =
                x.col(j).iter().zip(&dfit).map(|(a, b)| a * b).sum::<f64>() + 2.0 * alpha * w[j];
            loss += alpha * w[j] * w[j];
        }
        if fit_intercept {
            grad[p] = dfit.iter().sum();
        }
        grad[p + 1] = n as f64 - outliers * epsilon * epsilon - squared_loss / sigma;
        loss
    };
    let mut start = vec![0.0; p + 2];
    start[p + 1] = 1.0;
    let result = lbfgs::minimize(start, max_iter, tol, &mut objective);
    let theta = result.x;
    Huber {
        linear: LinearModel {
            coef: vec![theta[..p].to_vec()],
            intercept: vec![if fit_intercept { theta[p] } else { 0.0 }],
        },
        scale: theta[p + 1],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_do_not_pull_the_line() {
        let rows: Vec<Vec<f64>> = (0..60).map(|i| vec![i as f64]).collect();
        let mut y: Vec<f64> = (0..60).map(|i| 2.0 * i as f64 + 1.0).collect();
        y[5] = 500.0;
        y[40] = -300.0;
        let h = fit(&Matrix::from_rows(&rows), &y, 1.35, 1e-4, 200, 1e-5, true);
        assert!((h.linear.coef[0][0] - 2.0).abs() < 0.05, "{:?}", h.linear);
    }
}

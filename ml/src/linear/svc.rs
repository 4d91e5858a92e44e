//! LinearSVC as liblinear solves it for scikit-learn's defaults: the
//! squared hinge loss with an L2 penalty, `|w|²/2 + C Σ max(0, 1 - y w·x̃)²`,
//! where `x̃` is the row with a constant 1 appended (`intercept_scaling`), so
//! the intercept is penalised as in liblinear; one problem per class against
//! the rest (one for two classes). The problem is solved in the primal by
//! generalised Newton steps: the Hessian `I + 2C Σ x̃x̃ᵀ` over the rows inside
//! the margin is only features² wide, so each step is one pass over the rows
//! and a small Cholesky solve, and a few steps reach liblinear's stopping
//! rule (gradient norm below `tol` times the first one, scaled as liblinear).

use super::LinearModel;
use crate::linalg::cholesky_solve;
use crate::matrix::Matrix;
use crate::par;

/// Fits one-vs-rest problems on class indices `y`.
pub(crate) fn fit(
    x: &Matrix,
    y: &[u32],
    classes: usize,
    c: f64,
    tol: f64,
    max_iter: usize,
    threads: usize,
) -> LinearModel {
    let problems: Vec<u32> = if classes == 2 {
        vec![1]
    } else {
        (0..classes as u32).collect()
    };
    let mut coef = Vec::new();
    let mut intercept = Vec::new();
    for positive in problems {
        let labels: Vec<f64> = y
            .iter()
            .map(|v| if *v == positive { 1.0 } else { -1.0 })
            .collect();
        let w = newton(x, &labels, c, tol, max_iter, threads);
        let p = x.cols();
        intercept.push(w[p]);
        coef.push(w[..p].to_vec());
    }
    LinearModel { coef, intercept }
}

fn newton(x: &Matrix, y: &[f64], c: f64, tol: f64, max_iter: usize, threads: usize) -> Vec<f64> {
    let (n, p) = (x.rows(), x.cols());
    let width = p + 1;
    let mut w = vec![0.0; width];
    let pos = y.iter().filter(|v| **v > 0.0).count();
    let neg = n - pos;
    let eps = tol * (pos.min(neg).max(1) as f64) / n.max(1) as f64;
    // margins: y (w · x̃)
    let margins = |w: &[f64]| -> Vec<f64> {
        let d = x.dot(&w[..p], w[p]);
        d.iter().zip(y).map(|(a, b)| a * b).collect()
    };
    let objective = |w: &[f64], m: &[f64]| -> f64 {
        let reg: f64 = w.iter().map(|v| v * v).sum::<f64>() * 0.5;
        reg + c * m
            .iter()
            .map(|v| {
                let s = 1.0 - v;
                if s > 0.0 { s * s } else { 0.0 }
            })
            .sum::<f64>()
    };
    let mut m = margins(&w);
    let mut f = objective(&w, &m);
    let mut g0_norm = None;
    for _ in 0..max_iter {
        crate::interrupt::point();
        // Gradient: w - 2C Σ_active (1 - m_i) y_i x̃_i.
        let coeff: Vec<f64> = m
            .iter()
            .zip(y)
            .map(|(mi, yi)| {
                let s = 1.0 - mi;
                if s > 0.0 { -2.0 * c * s * yi } else { 0.0 }
            })
            .collect();
        let active: Vec<f64> = m.iter().map(|mi| f64::from(u8::from(*mi < 1.0))).collect();
        let mut g: Vec<f64> = w.clone();
        let sums = par::map(p, threads, |j| {
            x.col(j).iter().zip(&coeff).map(|(a, b)| a * b).sum::<f64>()
        });
        for (j, s) in sums.into_iter().enumerate() {
            g[j] += s;
        }
        g[p] += coeff.iter().sum::<f64>();
        let g_norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        let first = *g0_norm.get_or_insert(g_norm);
        if g_norm <= eps * first {
            break;
        }
        // Generalised Hessian: I + 2C Σ_active x̃ x̃ᵀ.
        let rows = par::map(width, threads, |a| {
            let mut row = vec![0.0; width];
            let ca: Vec<f64> = if a < p {
                x.col(a).iter().zip(&active).map(|(u, m)| u * m).collect()
            } else {
                active.clone()
            };
            for (b, r) in row.iter_mut().enumerate().skip(a) {
                *r = if b < p {
                    ca.iter().zip(x.col(b)).map(|(u, v)| u * v).sum()
                } else {
                    ca.iter().sum()
                };
            }
            row
        });
        let mut h = vec![vec![0.0; width]; width];
        for (a, row) in rows.into_iter().enumerate() {
            for b in a..width {
                let v = 2.0 * c * row[b] + if a == b { 1.0 } else { 0.0 };
                h[a][b] = v;
                h[b][a] = v;
            }
        }
        let minus_g: Vec<f64> = g.iter().map(|v| -v).collect();
        let Some(d) = cholesky_solve(&h, &minus_g) else {
            break;
        };
        // Backtracking along d (the objective is a convex piecewise quadratic).
        let slope: f64 = g.iter().zip(&d).map(|(a, b)| a * b).sum();
        let mut t = 1.0;
        let mut moved = false;
        for _ in 0..30 {
            let trial: Vec<f64> = w.iter().zip(&d).map(|(a, b)| a + t * b).collect();
            let tm = margins(&trial);
            let tf = objective(&trial, &tm);
            if tf <= f + 0.01 * t * slope {
                w = trial;
                m = tm;
                f = tf;
                moved = true;
                break;
            }
            t *= 0.5;
        }
        if !moved {
            break;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_two_clouds() {
        let rows: Vec<Vec<f64>> = (0..100)
            .map(|i| {
                let side = if i % 2 == 0 { 1.0 } else { -1.0 };
                vec![side * 2.0 + (i % 7) as f64 / 7.0, (i % 5) as f64]
            })
            .collect();
        let y: Vec<u32> = (0..100).map(|i| u32::from(i % 2 == 0)).collect();
        let x = Matrix::from_rows(&rows);
        let m = fit(&x, &y, 2, 1.0, 1e-4, 1000, 2);
        let pred = m.predict_classes(&x);
        assert_eq!(pred, y);
    }
}

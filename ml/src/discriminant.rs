//! Linear and quadratic discriminant analysis, with scikit-learn's `svd`
//! solver steps for LDA (within-class scaling, rank cut at `tol`, then the
//! between-class directions) and its per-class rotations for QDA
//! (`reg_param` shrinking each class covariance towards the identity). The
//! SVDs come from eigen-decompositions of features × features matrices.

// Index loops read as the formulas they implement.
#![allow(clippy::needless_range_loop)]

use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};
use crate::linalg::symmetric_eigen;
use crate::linear::{LinearModel, softmax};
use crate::matrix::{Centre, Matrix, centred_gram};

/// Per-class counts and means.
fn class_means(x: &Matrix, y: &[u32], classes: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let p = x.cols();
    let mut count = vec![0.0; classes];
    let mut means = vec![vec![0.0; p]; classes];
    for c in y {
        count[*c as usize] += 1.0;
    }
    for (j, _) in (0..p).enumerate() {
        for (v, c) in x.col(j).iter().zip(y) {
            means[*c as usize][j] += v;
        }
    }
    for (m, k) in means.iter_mut().zip(&count) {
        m.iter_mut().for_each(|v| *v /= f64::max(*k, 1.0));
    }
    (count, means)
}

/// LinearDiscriminantAnalysis (solver 'svd'): decision scores per class.
pub(crate) fn fit_lda(
    x: &Matrix,
    y: &[u32],
    classes: usize,
    tol: f64,
    threads: usize,
) -> LinearModel {
    let (n, p) = (x.rows(), x.cols());
    let (count, means) = class_means(x, y, classes);
    let priors: Vec<f64> = count.iter().map(|k| k / n as f64).collect();
    // Within-class centred columns: their standard deviations, and the Gram
    // of the scaled columns sqrt(fac) · Xc / std, whose eigen-decomposition
    // gives the SVD.
    let within = centred_gram(x, None, &Centre::Classes(&means, y), threads);
    let std: Vec<f64> = (0..p)
        .map(|j| {
            // Columns centred per class have mean 0 overall.
            let v = within[j][j] / n as f64;
            if v > 0.0 { v.sqrt() } else { 1.0 }
        })
        .collect();
    let fac = 1.0 / n as f64;
    let mut gram = vec![vec![0.0; p]; p];
    for a in 0..p {
        for b in 0..p {
            gram[a][b] = within[a][b] * fac / (std[a] * std[b]);
        }
    }
    let (values, vectors) = symmetric_eigen(&gram);
    // scalings[j][r] = V[j][r] / std[j] / S[r] for singular values above tol.
    let kept: Vec<usize> = (0..p)
        .filter(|&r| values[r].max(0.0).sqrt() > tol)
        .collect();
    let scalings: Vec<Vec<f64>> = (0..p)
        .map(|j| {
            kept.iter()
                .map(|&r| vectors[r][j] / std[j] / values[r].sqrt())
                .collect()
        })
        .collect();
    let rank = kept.len();
    let xbar: Vec<f64> = (0..p)
        .map(|j| (0..classes).map(|c| priors[c] * means[c][j]).sum())
        .collect();
    let between_fac = if classes == 1 {
        1.0
    } else {
        1.0 / (classes as f64 - 1.0)
    };
    // Between-class matrix in the scaled space: classes × rank.
    let between: Vec<Vec<f64>> = (0..classes)
        .map(|c| {
            let w = (n as f64 * priors[c] * between_fac).sqrt();
            (0..rank)
                .map(|r| {
                    w * (0..p)
                        .map(|j| (means[c][j] - xbar[j]) * scalings[j][r])
                        .sum::<f64>()
                })
                .collect()
        })
        .collect();
    let mut bg = vec![vec![0.0; rank]; rank];
    for a in 0..rank {
        for b in 0..rank {
            bg[a][b] = (0..classes).map(|c| between[c][a] * between[c][b]).sum();
        }
    }
    let (bvalues, bvectors) = symmetric_eigen(&bg);
    let largest = bvalues.first().copied().unwrap_or(0.0).max(0.0).sqrt();
    let dirs: Vec<usize> = (0..rank)
        .filter(|&r| bvalues[r].max(0.0).sqrt() > tol * largest)
        .collect();
    // Final scalings: p × dirs.
    let final_scalings: Vec<Vec<f64>> = (0..p)
        .map(|j| {
            dirs.iter()
                .map(|&d| (0..rank).map(|r| scalings[j][r] * bvectors[d][r]).sum())
                .collect()
        })
        .collect();
    let k = dirs.len();
    // coef in the reduced space, then back to features.
    let reduced: Vec<Vec<f64>> = (0..classes)
        .map(|c| {
            (0..k)
                .map(|d| {
                    (0..p)
                        .map(|j| (means[c][j] - xbar[j]) * final_scalings[j][d])
                        .sum()
                })
                .collect()
        })
        .collect();
    let mut intercept: Vec<f64> = (0..classes)
        .map(|c| -0.5 * reduced[c].iter().map(|v| v * v).sum::<f64>() + priors[c].ln())
        .collect();
    let mut coef: Vec<Vec<f64>> = (0..classes)
        .map(|c| {
            (0..p)
                .map(|j| (0..k).map(|d| reduced[c][d] * final_scalings[j][d]).sum())
                .collect()
        })
        .collect();
    for c in 0..classes {
        intercept[c] -= (0..p).map(|j| xbar[j] * coef[c][j]).sum::<f64>();
    }
    if classes == 2 {
        let w: Vec<f64> = (0..p).map(|j| coef[1][j] - coef[0][j]).collect();
        let b = intercept[1] - intercept[0];
        coef = vec![w];
        intercept = vec![b];
    }
    LinearModel { coef, intercept }
}

/// Probabilities from LDA's decision scores (softmax; sigmoid for two).
pub(crate) fn lda_probabilities(m: &LinearModel, x: &Matrix) -> Vec<Vec<f64>> {
    let scores = m.decision(x);
    (0..x.rows())
        .map(|i| {
            if scores.len() == 1 {
                let p1 = crate::linear::logistic::sigmoid(scores[0][i]);
                vec![1.0 - p1, p1]
            } else {
                softmax(&scores.iter().map(|s| s[i]).collect::<Vec<_>>())
            }
        })
        .collect()
}

/// A fitted QuadraticDiscriminantAnalysis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Qda {
    means: Vec<Vec<f64>>,
    log_priors: Vec<f64>,
    /// Per class: unit eigenvectors of the covariance and its (regularised)
    /// eigenvalues.
    rotations: Vec<Vec<Vec<f64>>>,
    scalings: Vec<Vec<f64>>,
}

/// QuadraticDiscriminantAnalysis; as scikit-learn 1.9, a class whose
/// (regularised) covariance has an eigenvalue at most `tol` is an error.
pub(crate) fn fit_qda(
    x: &Matrix,
    y: &[u32],
    classes: usize,
    reg_param: f64,
    tol: f64,
    labels: &dyn Fn(usize) -> String,
    threads: usize,
) -> Result<Qda> {
    let p = x.cols();
    let (count, means) = class_means(x, y, classes);
    let n: f64 = count.iter().sum();
    let mut rotations = Vec::new();
    let mut scalings = Vec::new();
    for c in 0..classes {
        let rows: Vec<usize> = (0..x.rows()).filter(|&i| y[i] as usize == c).collect();
        if rows.len() < 2 {
            return Err(invalid(format!(
                "QuadraticDiscriminantAnalysis: class {} has only {} training row(s); its covariance is ill defined",
                labels(c),
                rows.len()
            )));
        }
        let denom = rows.len() as f64;
        let mut cov = centred_gram(x, Some(&rows), &Centre::Columns(&means[c]), threads);
        cov.iter_mut()
            .for_each(|row| row.iter_mut().for_each(|v| *v /= denom));
        let (values, vectors) = symmetric_eigen(&cov);
        let scaling: Vec<f64> = values
            .iter()
            .map(|s| (1.0 - reg_param) * s.max(0.0) + reg_param)
            .collect();
        if scaling.iter().filter(|s| **s > tol).count() < p {
            return Err(invalid(format!(
                "QuadraticDiscriminantAnalysis: the covariance matrix of class {} is not full rank; increase reg_param to reduce the collinearity",
                labels(c)
            )));
        }
        scalings.push(scaling);
        rotations.push(vectors);
    }
    Ok(Qda {
        means,
        log_priors: count.iter().map(|k| (k / n).ln()).collect(),
        rotations,
        scalings,
    })
}

impl Qda {
    /// Log-posterior scores (up to a constant) per row and class, computed
    /// column by column (`scores[class][row]`).
    fn scores(&self, x: &Matrix) -> Vec<Vec<f64>> {
        let (n, p) = (x.rows(), x.cols());
        (0..self.means.len())
            .map(|c| {
                let logdet: f64 = self.scalings[c].iter().map(|s| s.ln()).sum();
                let mut norm2 = vec![0.0; n];
                let mut z = vec![0.0; n];
                for (v, s) in self.rotations[c].iter().zip(&self.scalings[c]) {
                    z.iter_mut().for_each(|e| *e = 0.0);
                    for j in 0..p {
                        let (w, m) = (v[j], self.means[c][j]);
                        for (e, xv) in z.iter_mut().zip(x.col(j)) {
                            *e += w * (xv - m);
                        }
                    }
                    for (a, e) in norm2.iter_mut().zip(&z) {
                        *a += e * e / s;
                    }
                }
                norm2
                    .iter()
                    .map(|d| -0.5 * (d + logdet) + self.log_priors[c])
                    .collect()
            })
            .collect()
    }

    pub(crate) fn predict(&self, x: &Matrix) -> Vec<u32> {
        crate::linear::argmax_scores(&self.scores(x), x.rows())
    }

    pub(crate) fn probabilities(&self, x: &Matrix) -> Vec<Vec<f64>> {
        let s = self.scores(x);
        (0..x.rows())
            .map(|i| softmax(&s.iter().map(|c| c[i]).collect::<Vec<_>>()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_separate_shifted_classes() {
        let rows: Vec<Vec<f64>> = (0..90)
            .map(|i| {
                let c = (i % 3) as f64;
                vec![
                    c * 3.0 + ((i * 7) % 5) as f64 / 5.0,
                    c - ((i * 3) % 4) as f64 / 4.0,
                ]
            })
            .collect();
        let y: Vec<u32> = (0..90).map(|i| (i % 3) as u32).collect();
        let x = Matrix::from_rows(&rows);
        let lda = fit_lda(&x, &y, 3, 1e-4, 2);
        assert_eq!(lda.predict_classes(&x), y);
        let qda = fit_qda(&x, &y, 3, 0.0, 1e-4, &|c| c.to_string(), 2).unwrap();
        assert_eq!(qda.predict(&x), y);
        let p = lda_probabilities(&lda, &x);
        assert!((p[0].iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}

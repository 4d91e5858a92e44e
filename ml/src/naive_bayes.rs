//! Gaussian naive Bayes, scikit-learn's: class priors from frequencies,
//! per-class means and variances in one pass over each column, and every
//! variance smoothed by `var_smoothing` (1e-9) times the largest feature
//! variance.

use serde::{Deserialize, Serialize};

use crate::matrix::Matrix;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GaussianNaiveBayes {
    priors: Vec<f64>,
    theta: Vec<Vec<f64>>,
    var: Vec<Vec<f64>>,
}

impl GaussianNaiveBayes {
    /// Fits on `x` with class indices `y` (0..classes).
    pub(crate) fn fit(
        x: &Matrix,
        y: &[u32],
        classes: usize,
        var_smoothing: f64,
    ) -> GaussianNaiveBayes {
        let (n, p) = (x.rows(), x.cols());
        let mut count = vec![0.0_f64; classes];
        for c in y {
            count[*c as usize] += 1.0;
        }
        // Per column (on the cores): the class means and the overall mean,
        // then the squared deviations from them. Four interleaved
        // accumulators per class break the chain of dependent additions.
        const LANES: usize = 4;
        let squares = |values: &[f64], centre: &dyn Fn(usize) -> (f64, f64)| {
            let mut by_class = vec![[0.0; LANES]; classes];
            let mut all = [0.0; LANES];
            for (i, (v, c)) in values.iter().zip(y).enumerate() {
                let c = *c as usize;
                let (mc, ma) = centre(c);
                let (dc, da) = (v - mc, v - ma);
                by_class[c][i % LANES] += dc * dc;
                all[i % LANES] += da * da;
            }
            let fold = |l: &[f64; LANES]| (l[0] + l[1]) + (l[2] + l[3]);
            (by_class.iter().map(fold).collect::<Vec<f64>>(), fold(&all))
        };
        let columns = crate::par::map(p, crate::par::threads(None), |j| {
            let col = x.col(j);
            let mut by_class = vec![[0.0; LANES]; classes];
            let mut all = [0.0; LANES];
            for (i, (v, c)) in col.iter().zip(y).enumerate() {
                by_class[*c as usize][i % LANES] += v;
                all[i % LANES] += v;
            }
            let fold = |l: &[f64; LANES]| (l[0] + l[1]) + (l[2] + l[3]);
            let mean: Vec<f64> = by_class
                .iter()
                .zip(&count)
                .map(|(s, k)| fold(s) / k.max(1.0))
                .collect();
            let all_mean = fold(&all) / n.max(1) as f64;
            // Squared deviations from the class mean and the overall mean.
            let (var, all_var) = squares(col, &|c| (mean[c], all_mean));
            (mean, var, all_var)
        });
        let mut theta = vec![vec![0.0; p]; classes];
        let mut var = vec![vec![0.0; p]; classes];
        let mut all_var = vec![0.0; p];
        for (j, (m, v, a)) in columns.into_iter().enumerate() {
            for c in 0..classes {
                theta[c][j] = m[c];
                var[c][j] = v[c];
            }
            all_var[j] = a;
        }
        let largest = all_var
            .iter()
            .map(|v| v / n.max(1) as f64)
            .fold(0.0, f64::max);
        let epsilon = (var_smoothing * largest).max(f64::MIN_POSITIVE);
        for (v, k) in var.iter_mut().zip(&count) {
            v.iter_mut()
                .for_each(|s| *s = *s / k.max(1.0_f64) + epsilon);
        }
        let priors = count.iter().map(|k| k / n.max(1) as f64).collect();
        GaussianNaiveBayes { priors, theta, var }
    }

    /// Log of prior times likelihood, per row and class.
    fn joint_log_likelihood(&self, x: &Matrix) -> Vec<Vec<f64>> {
        let (n, p) = (x.rows(), x.cols());
        let norm: Vec<f64> = self
            .var
            .iter()
            .map(|v| {
                -0.5 * v
                    .iter()
                    .map(|s| (2.0 * std::f64::consts::PI * s).ln())
                    .sum::<f64>()
            })
            .collect();
        (0..n)
            .map(|i| {
                (0..self.priors.len())
                    .map(|k| {
                        let mut l = self.priors[k].ln() + norm[k];
                        for j in 0..p {
                            let d = x.get(i, j) - self.theta[k][j];
                            l -= 0.5 * d * d / self.var[k][j];
                        }
                        l
                    })
                    .collect()
            })
            .collect()
    }

    pub(crate) fn predict(&self, x: &Matrix) -> Vec<u32> {
        self.joint_log_likelihood(x)
            .iter()
            .map(|row| {
                let mut best = 0;
                for k in 1..row.len() {
                    if row[k] > row[best] {
                        best = k;
                    }
                }
                best as u32
            })
            .collect()
    }

    pub(crate) fn predict_proba(&self, x: &Matrix) -> Vec<Vec<f64>> {
        self.joint_log_likelihood(x)
            .iter()
            .map(|row| crate::linear::softmax(row))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scikit_learn_on_a_small_set() {
        // sklearn: GaussianNB().fit([[1],[2],[3],[10],[11],[12]], [0,0,0,1,1,1])
        // theta_ = [[2],[11]], var_ = [[0.6666667 + eps]] ; predict([[6]]) = 0
        let x = Matrix::from_columns(6, 1, vec![1.0, 2.0, 3.0, 10.0, 11.0, 12.0]);
        let nb = GaussianNaiveBayes::fit(&x, &[0, 0, 0, 1, 1, 1], 2, 1e-9);
        assert_eq!(nb.theta, vec![vec![2.0], vec![11.0]]);
        assert!((nb.var[0][0] - 2.0 / 3.0).abs() < 1e-6);
        let q = Matrix::from_columns(2, 1, vec![6.0, 7.0]);
        assert_eq!(nb.predict(&q), vec![0, 1]);
        let p = nb.predict_proba(&q);
        assert!((p[0][0] + p[0][1] - 1.0).abs() < 1e-12);
    }
}

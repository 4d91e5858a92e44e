//! AdaBoost as scikit-learn fits it. Classifier: SAMME on decision stumps
//! (`max_depth = 1`), each estimator weighted `lr·(ln((1-e)/e) + ln(K-1))`,
//! misclassified rows reweighted by `exp` of that; probabilities from the
//! weighted votes (softmax of the decision divided by K - 1). Regressor:
//! AdaBoost.R2 on depth-3 trees, each fitted on a weighted bootstrap of the
//! rows, losses linear, square or exponential, predictions the weighted
//! median of the estimators. Both stop early on a perfect fit or when an
//! estimator is no better than chance, as scikit-learn does.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::bins::Binned;
use super::forest::mix;
use super::grow::{Criterion, Target, Tree, TreeParams, grow};
use crate::matrix::Matrix;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AdaBoost {
    trees: Vec<Tree>,
    weights: Vec<f64>,
    classes: usize,
}

fn params(criterion: Criterion, depth: usize, features: usize) -> TreeParams {
    TreeParams {
        criterion,
        max_depth: Some(depth),
        min_samples_split: 2,
        min_samples_leaf: 1,
        max_features: features,
        random_splits: false,
    }
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for k in 1..v.len() {
        if v[k] > v[best] {
            best = k;
        }
    }
    best
}

/// SAMME with stumps.
pub(crate) fn fit_classifier(
    bins: &Binned,
    y: &[u32],
    classes: usize,
    n_estimators: usize,
    learning_rate: f64,
    seed: u64,
) -> AdaBoost {
    let n = bins.rows;
    let samples: Vec<u32> = (0..n as u32).collect();
    let mut w = vec![1.0 / n as f64; n];
    let target = Target::Classes { y, classes };
    let stump = params(Criterion::Gini, 1, bins.cols);
    let k = classes as f64;
    let mut trees = Vec::new();
    let mut weights = Vec::new();
    for t in 0..n_estimators {
        crate::interrupt::point();
        let tree = grow(bins, &target, &samples, &w, &stump, mix(seed, t as u64));
        let wrong: Vec<bool> = (0..n)
            .map(|i| argmax(tree.leaf_binned(bins, i)) != y[i] as usize)
            .collect();
        let total: f64 = w.iter().sum();
        let error: f64 = w
            .iter()
            .zip(&wrong)
            .filter(|(_, e)| **e)
            .map(|(v, _)| v)
            .sum::<f64>()
            / total;
        if error <= 0.0 {
            trees.push(tree);
            weights.push(1.0);
            break;
        }
        if error >= 1.0 - 1.0 / k {
            if trees.is_empty() {
                // scikit-learn fails here; fsql keeps this one estimator.
                trees.push(tree);
                weights.push(1.0);
            }
            break;
        }
        let alpha = learning_rate * (((1.0 - error) / error).ln() + (k - 1.0).ln());
        trees.push(tree);
        weights.push(alpha);
        if t + 1 < n_estimators {
            for (v, e) in w.iter_mut().zip(&wrong) {
                if *e && *v > 0.0 {
                    *v *= alpha.exp();
                }
            }
            let total: f64 = w.iter().sum();
            w.iter_mut().for_each(|v| *v /= total);
        }
    }
    AdaBoost {
        trees,
        weights,
        classes,
    }
}

impl AdaBoost {
    /// SAMME's decision: per row and class, the weighted votes divided by
    /// the total weight (two classes: one signed score).
    fn decision(&self, x: &Matrix) -> Vec<Vec<f64>> {
        let k = self.classes;
        let total: f64 = self.weights.iter().sum();
        (0..x.rows())
            .map(|i| {
                let mut votes = vec![0.0; k];
                for (tree, w) in self.trees.iter().zip(&self.weights) {
                    votes[argmax(tree.leaf(x, i))] += w;
                }
                votes.iter_mut().for_each(|v| *v /= total);
                if k == 2 {
                    votes[0] *= -1.0;
                    let s = votes[0] + votes[1];
                    vec![s]
                } else {
                    votes
                }
            })
            .collect()
    }

    pub(crate) fn predict_classes(&self, x: &Matrix) -> Vec<u32> {
        self.decision(x)
            .iter()
            .map(|d| {
                if d.len() == 1 {
                    u32::from(d[0] > 0.0)
                } else {
                    argmax(d) as u32
                }
            })
            .collect()
    }

    pub(crate) fn probabilities(&self, x: &Matrix) -> Vec<Vec<f64>> {
        let k = self.classes as f64;
        self.decision(x)
            .iter()
            .map(|d| {
                if d.len() == 1 {
                    crate::linear::softmax(&[-d[0] / 2.0, d[0] / 2.0])
                } else {
                    let scaled: Vec<f64> = d.iter().map(|v| v / (k - 1.0)).collect();
                    crate::linear::softmax(&scaled)
                }
            })
            .collect()
    }
}

/// AdaBoost.R2's loss shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loss {
    Linear,
    Square,
    Exponential,
}

/// AdaBoost.R2 with depth-3 regression trees.
pub(crate) fn fit_regressor(
    bins: &Binned,
    y: &[f64],
    n_estimators: usize,
    learning_rate: f64,
    loss: Loss,
    seed: u64,
) -> AdaBoost {
    let n = bins.rows;
    let mut w = vec![1.0 / n as f64; n];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let target = Target::Numbers(y);
    let tree_params = params(Criterion::SquaredError, 3, bins.cols);
    let mut trees = Vec::new();
    let mut weights = Vec::new();
    for t in 0..n_estimators {
        crate::interrupt::point();
        // Weighted bootstrap: n draws from the cumulative weights.
        let mut cdf = Vec::with_capacity(n);
        let mut acc = 0.0;
        for v in &w {
            acc += v;
            cdf.push(acc);
        }
        let mut counts = vec![0u32; n];
        for _ in 0..n {
            let u = rng.random::<f64>() * acc;
            let i = cdf.partition_point(|c| *c <= u).min(n - 1);
            counts[i] += 1;
        }
        let samples: Vec<u32> = (0..n as u32).filter(|i| counts[*i as usize] > 0).collect();
        let sw: Vec<f64> = samples.iter().map(|i| counts[*i as usize] as f64).collect();
        let tree = grow(
            bins,
            &target,
            &samples,
            &sw,
            &tree_params,
            mix(seed, t as u64),
        );
        let mut error: Vec<f64> = (0..n)
            .map(|i| (tree.leaf_binned(bins, i)[0] - y[i]).abs())
            .collect();
        let max = error
            .iter()
            .zip(&w)
            .filter(|(_, v)| **v > 0.0)
            .fold(0.0_f64, |m, (e, _)| m.max(*e));
        if max != 0.0 {
            error.iter_mut().for_each(|e| *e /= max);
        }
        match loss {
            Loss::Linear => {}
            Loss::Square => error.iter_mut().for_each(|e| *e *= *e),
            Loss::Exponential => error.iter_mut().for_each(|e| *e = 1.0 - (-*e).exp()),
        }
        let total: f64 = w.iter().sum();
        let estimator_error: f64 = w
            .iter()
            .zip(&error)
            .filter(|(v, _)| **v > 0.0)
            .map(|(v, e)| v * e)
            .sum::<f64>()
            / total;
        if estimator_error <= 0.0 {
            trees.push(tree);
            weights.push(1.0);
            break;
        }
        if estimator_error >= 0.5 {
            if trees.is_empty() {
                trees.push(tree);
                weights.push(1.0);
            }
            break;
        }
        let beta = estimator_error / (1.0 - estimator_error);
        let alpha = learning_rate * (1.0 / beta).ln();
        trees.push(tree);
        weights.push(alpha);
        if t + 1 < n_estimators {
            for (v, e) in w.iter_mut().zip(&error) {
                if *v > 0.0 {
                    *v *= beta.powf((1.0 - e) * learning_rate);
                }
            }
            let total: f64 = w.iter().sum();
            w.iter_mut().for_each(|v| *v /= total);
        }
    }
    AdaBoost {
        trees,
        weights,
        classes: 0,
    }
}

impl AdaBoost {
    /// AdaBoost.R2's prediction: the weighted median of the estimators.
    pub(crate) fn predict_numbers(&self, x: &Matrix) -> Vec<f64> {
        let total: f64 = self.weights.iter().sum();
        (0..x.rows())
            .map(|i| {
                let mut preds: Vec<(f64, f64)> = self
                    .trees
                    .iter()
                    .zip(&self.weights)
                    .map(|(t, w)| (t.leaf(x, i)[0], *w))
                    .collect();
                preds.sort_by(|a, b| a.0.total_cmp(&b.0));
                let mut acc = 0.0;
                for (v, w) in &preds {
                    acc += w;
                    if acc >= 0.5 * total {
                        return *v;
                    }
                }
                preds.last().map_or(0.0, |p| p.0)
            })
            .collect()
    }
}

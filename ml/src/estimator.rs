//! Fitting and predicting: one smartcore estimator per [`ModelClass`],
//! configured from the resolved hyper-parameters. Where smartcore's
//! objective is scaled differently from scikit-learn's, the parameters are
//! converted so the same value means the same model (see `docs/ml.md`).

use serde::{Deserialize, Serialize};
use smartcore::cluster::kmeans::{KMeans, KMeansParameters};
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::arrays::{Array, Array2};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::elastic_net::{ElasticNet, ElasticNetParameters};
use smartcore::linear::lasso::{Lasso, LassoParameters};
use smartcore::linear::linear_regression::{
    LinearRegression, LinearRegressionParameters, LinearRegressionSolverName,
};
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};
use smartcore::linear::ridge_regression::{
    RidgeRegression, RidgeRegressionParameters, RidgeRegressionSolverName,
};
use smartcore::metrics::distance::euclidian::Euclidian;
use smartcore::neighbors::KNNWeightFunction;
use smartcore::neighbors::knn_classifier::{KNNClassifier, KNNClassifierParameters};
use smartcore::neighbors::knn_regressor::{KNNRegressor, KNNRegressorParameters};
use smartcore::svm::Kernels;
use smartcore::svm::svc::{SVC, SVCParameters};
use smartcore::tree::decision_tree_classifier::{
    DecisionTreeClassifier, DecisionTreeClassifierParameters, SplitCriterion,
};
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};

use crate::class::ModelClass;
use crate::error::{MlError, Result, invalid};
use crate::naive_bayes::GaussianNaiveBayes;
use crate::params::Params;

type M = DenseMatrix<f64>;

/// A linear decision function per class (one-vs-rest), or one for two classes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LinearOvr {
    weights: Vec<Vec<f64>>,
    bias: Vec<f64>,
}

/// A linear regressor fitted on centred data, so the intercept is not
/// penalised (scikit-learn's Ridge, Lasso, ElasticNet; smartcore's
/// unnormalised solvers take the intercept as the mean of y, which is right
/// only for centred columns); predictions add the means back.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Centred<T> {
    model: T,
    x_mean: Vec<f64>,
    y_mean: f64,
}

/// A fitted estimator. Classifiers predict class indices (into the model's
/// label list); regressors numbers; k-means cluster numbers.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Fitted {
    Logistic(LogisticRegression<f64, u32, M, Vec<u32>>),
    TreeClassifier(DecisionTreeClassifier<f64, u32, M, Vec<u32>>),
    ForestClassifier(RandomForestClassifier<f64, u32, M, Vec<u32>>),
    NaiveBayes(GaussianNaiveBayes),
    KnnClassifier(KNNClassifier<f64, u32, M, Vec<u32>, Euclidian<f64>>),
    LinearSvc(LinearOvr),
    Linear(LinearRegression<f64, f64, M, Vec<f64>>),
    Ridge(Centred<RidgeRegression<f64, f64, M, Vec<f64>>>),
    Lasso(Centred<Lasso<f64, f64, M, Vec<f64>>>),
    ElasticNet(Centred<ElasticNet<f64, f64, M, Vec<f64>>>),
    TreeRegressor(DecisionTreeRegressor<f64, f64, M, Vec<f64>>),
    ForestRegressor(RandomForestRegressor<f64, f64, M, Vec<f64>>),
    KnnRegressor(KNNRegressor<f64, f64, M, Vec<f64>, Euclidian<f64>>),
    KMeans(KMeans<f64, u32, M, Vec<u32>>),
}

/// What the estimator learns from.
pub(crate) enum Y<'a> {
    Classes { index: &'a [u32], count: usize },
    Numbers(&'a [f64]),
    None,
}

fn criterion(p: &Params) -> SplitCriterion {
    match p.text("criterion").as_str() {
        "entropy" => SplitCriterion::Entropy,
        _ => SplitCriterion::Gini,
    }
}

fn depth(p: &Params) -> Option<u16> {
    p.opt_usize("max_depth").map(|d| d as u16)
}

fn seed(p: &Params) -> u64 {
    p.usize("random_state") as u64
}

fn weight(p: &Params) -> KNNWeightFunction {
    match p.text("weights").as_str() {
        "distance" => KNNWeightFunction::Distance,
        _ => KNNWeightFunction::Uniform,
    }
}

fn column_means(x: &M) -> Vec<f64> {
    let (n, p) = x.shape();
    (0..p)
        .map(|j| (0..n).map(|i| *x.get((i, j))).sum::<f64>() / n.max(1) as f64)
        .collect()
}

fn centre(x: &M, means: &[f64]) -> M {
    let (n, p) = x.shape();
    let mut values = Vec::with_capacity(n * p);
    for (j, m) in means.iter().enumerate().take(p) {
        for i in 0..n {
            values.push(*x.get((i, j)) - m);
        }
    }
    DenseMatrix::new(n, p, values, true).expect("shape is kept")
}

impl<T> Centred<T> {
    fn fit(
        x: &M,
        y: &[f64],
        fit: impl FnOnce(&M, &Vec<f64>) -> std::result::Result<T, smartcore::error::Failed>,
    ) -> Result<Centred<T>> {
        let x_mean = column_means(x);
        let y_mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
        let yc: Vec<f64> = y.iter().map(|v| v - y_mean).collect();
        let model = fit(&centre(x, &x_mean), &yc)?;
        Ok(Centred {
            model,
            x_mean,
            y_mean,
        })
    }

    fn predict(
        &self,
        x: &M,
        predict: impl FnOnce(&T, &M) -> std::result::Result<Vec<f64>, smartcore::error::Failed>,
    ) -> Result<Vec<f64>> {
        let y = predict(&self.model, &centre(x, &self.x_mean))?;
        Ok(y.into_iter().map(|v| v + self.y_mean).collect())
    }
}

impl Fitted {
    pub(crate) fn fit(class: ModelClass, p: &Params, x: &M, y: Y<'_>) -> Result<Fitted> {
        use ModelClass::*;
        let y_shape = &y;
        let classes = || match &y {
            Y::Classes { index, count } => {
                if *count < 2 {
                    Err(invalid(
                        "the target column has only one class; a classifier needs at least two",
                    ))
                } else {
                    Ok(index.to_vec())
                }
            }
            _ => Err(invalid("a classifier needs a target column")),
        };
        let numbers = || match &y {
            Y::Numbers(v) => Ok(v.to_vec()),
            _ => Err(invalid("a regressor needs a numeric target column")),
        };
        Ok(match class {
            LogisticRegression => {
                // scikit-learn minimises C*loss + |w|^2/2, smartcore loss + alpha*|w|^2/2.
                let params = LogisticRegressionParameters::default().with_alpha(1.0 / p.f64("C"));
                Fitted::Logistic(
                    smartcore::linear::logistic_regression::LogisticRegression::fit(
                        x,
                        &classes()?,
                        params,
                    )?,
                )
            }
            DecisionTreeClassifier => {
                let params = DecisionTreeClassifierParameters {
                    criterion: criterion(p),
                    max_depth: depth(p),
                    min_samples_leaf: p.usize("min_samples_leaf"),
                    min_samples_split: p.usize("min_samples_split"),
                    seed: Some(seed(p)),
                };
                Fitted::TreeClassifier(
                    smartcore::tree::decision_tree_classifier::DecisionTreeClassifier::fit(
                        x,
                        &classes()?,
                        params,
                    )?,
                )
            }
            RandomForestClassifier => {
                let params = RandomForestClassifierParameters {
                    criterion: criterion(p),
                    max_depth: depth(p),
                    min_samples_leaf: p.usize("min_samples_leaf"),
                    min_samples_split: p.usize("min_samples_split"),
                    n_trees: p.usize("n_estimators").min(u16::MAX as usize) as u16,
                    m: p.opt_usize("max_features"),
                    keep_samples: false,
                    seed: seed(p),
                };
                Fitted::ForestClassifier(
                    smartcore::ensemble::random_forest_classifier::RandomForestClassifier::fit(
                        x,
                        &classes()?,
                        params,
                    )?,
                )
            }
            GaussianNb => {
                let y = classes()?;
                let count = match &y_shape {
                    Y::Classes { count, .. } => *count,
                    _ => 0,
                };
                Fitted::NaiveBayes(GaussianNaiveBayes::fit(x, &y, count))
            }
            KnnClassifier => {
                let params = KNNClassifierParameters::default()
                    .with_k(p.usize("n_neighbors"))
                    .with_weight(weight(p));
                Fitted::KnnClassifier(smartcore::neighbors::knn_classifier::KNNClassifier::fit(
                    x,
                    &classes()?,
                    params,
                )?)
            }
            LinearSvc => {
                let y = classes()?;
                Fitted::LinearSvc(fit_linear_svc(p, x, &y)?)
            }
            LinearRegression => {
                let solver = match p.text("solver").as_str() {
                    "qr" => LinearRegressionSolverName::QR,
                    _ => LinearRegressionSolverName::SVD,
                };
                let params = LinearRegressionParameters::default().with_solver(solver);
                Fitted::Linear(smartcore::linear::linear_regression::LinearRegression::fit(
                    x,
                    &numbers()?,
                    params,
                )?)
            }
            Ridge => {
                let solver = match p.text("solver").as_str() {
                    "svd" => RidgeRegressionSolverName::SVD,
                    _ => RidgeRegressionSolverName::Cholesky,
                };
                let params = RidgeRegressionParameters::default()
                    .with_alpha(p.f64("alpha"))
                    .with_solver(solver)
                    .with_normalize(false);
                Fitted::Ridge(Centred::fit(x, &numbers()?, |x, y| {
                    smartcore::linear::ridge_regression::RidgeRegression::fit(x, y, params)
                })?)
            }
            Lasso => {
                // smartcore: |y-Xw|^2/n + a|w|_1; scikit-learn: |y-Xw|^2/(2n) + a|w|_1.
                let params = LassoParameters {
                    alpha: 2.0 * p.f64("alpha"),
                    normalize: false,
                    tol: p.f64("tol"),
                    max_iter: p.usize("max_iter"),
                    ..LassoParameters::default()
                };
                Fitted::Lasso(Centred::fit(x, &numbers()?, |x, y| {
                    smartcore::linear::lasso::Lasso::fit(x, y, params)
                })?)
            }
            ElasticNet => {
                // Same scaling as Lasso, with the L1/L2 split moved to match.
                let (a, r) = (p.f64("alpha"), p.f64("l1_ratio"));
                let params = ElasticNetParameters {
                    alpha: a * (1.0 + r),
                    l1_ratio: 2.0 * r / (1.0 + r),
                    normalize: false,
                    tol: p.f64("tol"),
                    max_iter: p.usize("max_iter"),
                };
                Fitted::ElasticNet(Centred::fit(x, &numbers()?, |x, y| {
                    smartcore::linear::elastic_net::ElasticNet::fit(x, y, params)
                })?)
            }
            DecisionTreeRegressor => {
                let params = DecisionTreeRegressorParameters {
                    max_depth: depth(p),
                    min_samples_leaf: p.usize("min_samples_leaf"),
                    min_samples_split: p.usize("min_samples_split"),
                    seed: Some(seed(p)),
                };
                Fitted::TreeRegressor(
                    smartcore::tree::decision_tree_regressor::DecisionTreeRegressor::fit(
                        x,
                        &numbers()?,
                        params,
                    )?,
                )
            }
            RandomForestRegressor => {
                let params = RandomForestRegressorParameters {
                    max_depth: depth(p),
                    min_samples_leaf: p.usize("min_samples_leaf"),
                    min_samples_split: p.usize("min_samples_split"),
                    n_trees: p.usize("n_estimators"),
                    m: p.opt_usize("max_features"),
                    keep_samples: false,
                    seed: seed(p),
                };
                Fitted::ForestRegressor(
                    smartcore::ensemble::random_forest_regressor::RandomForestRegressor::fit(
                        x,
                        &numbers()?,
                        params,
                    )?,
                )
            }
            KnnRegressor => {
                let params = KNNRegressorParameters::default()
                    .with_k(p.usize("n_neighbors"))
                    .with_weight(weight(p));
                Fitted::KnnRegressor(smartcore::neighbors::knn_regressor::KNNRegressor::fit(
                    x,
                    &numbers()?,
                    params,
                )?)
            }
            KMeans => {
                let k = p.usize("n_clusters");
                if x.shape().0 < k {
                    return Err(invalid(format!(
                        "KMeans needs at least n_clusters = {k} training rows, got {}",
                        x.shape().0
                    )));
                }
                let params = KMeansParameters {
                    k,
                    max_iter: p.usize("max_iter"),
                    seed: Some(seed(p)),
                };
                Fitted::KMeans(smartcore::cluster::kmeans::KMeans::fit(x, params)?)
            }
        })
    }

    /// Class indices (classifiers, k-means) or numbers (regressors).
    pub(crate) fn predict(&self, x: &M) -> Result<Prediction> {
        Ok(match self {
            Fitted::Logistic(m) => Prediction::Classes(m.predict(x)?),
            Fitted::TreeClassifier(m) => Prediction::Classes(m.predict(x)?),
            Fitted::ForestClassifier(m) => Prediction::Classes(m.predict(x)?),
            Fitted::NaiveBayes(m) => Prediction::Classes(m.predict(x)),
            Fitted::KnnClassifier(m) => Prediction::Classes(m.predict(x)?),
            Fitted::LinearSvc(m) => Prediction::Classes(m.predict(x)),
            Fitted::KMeans(m) => Prediction::Classes(m.predict(x)?),
            Fitted::Linear(m) => Prediction::Numbers(m.predict(x)?),
            Fitted::Ridge(c) => Prediction::Numbers(c.predict(x, |m, x| m.predict(x))?),
            Fitted::Lasso(c) => Prediction::Numbers(c.predict(x, |m, x| m.predict(x))?),
            Fitted::ElasticNet(c) => Prediction::Numbers(c.predict(x, |m, x| m.predict(x))?),
            Fitted::TreeRegressor(m) => Prediction::Numbers(m.predict(x)?),
            Fitted::ForestRegressor(m) => Prediction::Numbers(m.predict(x)?),
            Fitted::KnnRegressor(m) => Prediction::Numbers(m.predict(x)?),
        })
    }

    /// The probability of each class, per row, for the classifiers that
    /// have one (`None` for the others).
    pub(crate) fn probabilities(&self, x: &M, classes: usize) -> Result<Option<Vec<Vec<f64>>>> {
        let (n, _) = x.shape();
        Ok(match self {
            Fitted::Logistic(m) => {
                let w = m.coefficients();
                let b = m.intercept();
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let row = x.get_row(i);
                    let score = |k: usize| {
                        let mut s = *b.get((k, 0));
                        for j in 0..w.shape().1 {
                            s += *w.get((k, j)) * *row.get(j);
                        }
                        s
                    };
                    if classes == 2 {
                        let p1 = 1.0 / (1.0 + (-score(0)).exp());
                        out.push(vec![1.0 - p1, p1]);
                    } else {
                        let scores: Vec<f64> = (0..classes).map(score).collect();
                        out.push(softmax(&scores));
                    }
                }
                Some(out)
            }
            Fitted::TreeClassifier(m) => {
                let p = m.predict_proba(x)?;
                Some(
                    (0..n)
                        .map(|i| (0..classes).map(|k| *p.get((i, k))).collect())
                        .collect(),
                )
            }
            Fitted::KnnClassifier(m) => Some(m.predict_proba(x)?),
            Fitted::NaiveBayes(m) => Some(m.predict_proba(x)),
            _ => None,
        })
    }
}

pub(crate) fn softmax(scores: &[f64]) -> Vec<f64> {
    let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// What an estimator predicted.
pub(crate) enum Prediction {
    Classes(Vec<u32>),
    Numbers(Vec<f64>),
}

/// Linear SVM: one binary smartcore SVC (linear kernel) per class against
/// the rest (one for two classes). A linear kernel's decision function is
/// `w.x + b`, so `w` and `b` are read off it and kept instead of the
/// support vectors.
fn fit_linear_svc(p: &Params, x: &M, y: &[u32]) -> Result<LinearOvr> {
    let classes = y.iter().copied().max().map_or(0, |m| m as usize + 1);
    let width = x.shape().1;
    let params: SVCParameters<f64, i32, M, Vec<i32>> = SVCParameters::default()
        .with_c(p.f64("C"))
        .with_tol(p.f64("tol"))
        .with_epoch(p.usize("max_iter"))
        .with_kernel(Kernels::linear())
        .with_seed(Some(seed(p)));
    let problems: Vec<u32> = if classes == 2 {
        vec![1]
    } else {
        (0..classes as u32).collect()
    };
    // The origin and the unit vectors: the decision function there gives b and w.
    let mut probe = vec![0.0; (width + 1) * width];
    for j in 0..width {
        probe[j * (width + 1) + j + 1] = 1.0;
    }
    let probe = DenseMatrix::new(width + 1, width, probe, true)?;
    // SMO converges badly on columns of very different scales (breast_cancer
    // spans 0.001 to 4000): fit on standardised columns, then map w and b back
    // to the raw columns.
    let mean = column_means(x);
    let (n, _) = x.shape();
    let sd: Vec<f64> = (0..width)
        .map(|j| {
            let var = (0..n)
                .map(|i| (*x.get((i, j)) - mean[j]).powi(2))
                .sum::<f64>()
                / n.max(1) as f64;
            if var > 0.0 { var.sqrt() } else { 1.0 }
        })
        .collect();
    let mut scaled = Vec::with_capacity(n * width);
    for j in 0..width {
        for i in 0..n {
            scaled.push((*x.get((i, j)) - mean[j]) / sd[j]);
        }
    }
    let xs = DenseMatrix::new(n, width, scaled, true)?;
    let mut weights = Vec::with_capacity(problems.len());
    let mut bias = Vec::with_capacity(problems.len());
    for positive in problems {
        let labels: Vec<i32> = y
            .iter()
            .map(|c| if *c == positive { 1 } else { -1 })
            .collect();
        let svc = SVC::fit(&xs, &labels, &params)?;
        let f = svc.decision_function(&probe)?;
        let bs = f[0];
        let mut w: Vec<f64> = (0..width).map(|j| (f[j + 1] - bs) / sd[j]).collect();
        let mut b = bs - (0..width).map(|j| w[j] * mean[j]).sum::<f64>();
        // Orient the function so that it is positive on the positive class.
        let on_training = decision(&w, b, x);
        let (mut pos, mut neg, mut np, mut nn) = (0.0, 0.0, 0usize, 0usize);
        for (d, l) in on_training.iter().zip(&labels) {
            if *l > 0 {
                pos += d;
                np += 1;
            } else {
                neg += d;
                nn += 1;
            }
        }
        if np > 0 && nn > 0 && pos / (np as f64) < neg / (nn as f64) {
            w.iter_mut().for_each(|v| *v = -*v);
            b = -b;
        }
        weights.push(w);
        bias.push(b);
    }
    Ok(LinearOvr { weights, bias })
}

fn decision(w: &[f64], b: f64, x: &M) -> Vec<f64> {
    let (n, p) = x.shape();
    (0..n)
        .map(|i| b + (0..p).map(|j| w[j] * *x.get((i, j))).sum::<f64>())
        .collect()
}

impl LinearOvr {
    fn predict(&self, x: &M) -> Vec<u32> {
        let scores: Vec<Vec<f64>> = self
            .weights
            .iter()
            .zip(&self.bias)
            .map(|(w, b)| decision(w, *b, x))
            .collect();
        let n = x.shape().0;
        (0..n)
            .map(|i| {
                if scores.len() == 1 {
                    u32::from(scores[0][i] > 0.0)
                } else {
                    let mut best = 0;
                    for k in 1..scores.len() {
                        if scores[k][i] > scores[best][i] {
                            best = k;
                        }
                    }
                    best as u32
                }
            })
            .collect()
    }
}

impl From<std::convert::Infallible> for MlError {
    fn from(e: std::convert::Infallible) -> Self {
        match e {}
    }
}

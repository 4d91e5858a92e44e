//! Fitting and predicting: one fitted estimator per [`ModelClass`],
//! configured from the resolved hyper-parameters. Every estimator is fsql's
//! own (see the class table and `docs/ml.md` for the algorithm of each).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::class::ModelClass;
use crate::discriminant::{self, Qda};
use crate::error::{Result, invalid};
use crate::forecast::ForecastFit;
use crate::kmeans::{self, KMeans};
use crate::linear::huber::{self, Huber};
use crate::linear::logistic::{self, Logistic};
use crate::linear::{self, Bayes, BayesSettings, LinearModel, cd, svc};
use crate::matrix::Matrix;
use crate::naive_bayes::GaussianNaiveBayes;
use crate::neighbors::{Neighbors, argmax};
use crate::par;
use crate::params::Params;
use crate::tree::adaboost::{self, AdaBoost};
use crate::tree::bins::Binned;
use crate::tree::forest::{self, Forest};
use crate::tree::grow::{self, Criterion, Target, Tree, TreeParams};
use crate::tree::hgb::{self, Hgb};

/// A fitted estimator. Classifiers predict class indices (into the model's
/// label list); regressors numbers; k-means cluster numbers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Fitted {
    Logistic(Logistic),
    /// RidgeClassifier, LinearSVC: class scores, no probabilities.
    LinearClassifier(LinearModel),
    Lda(LinearModel),
    Qda(Qda),
    NaiveBayes(GaussianNaiveBayes),
    KnnClassifier {
        nn: Neighbors,
        y: Vec<u32>,
    },
    TreeClassifier(Tree),
    ForestClassifier(Forest),
    AdaBoostClassifier(AdaBoost),
    HgbClassifier(Hgb),
    DummyClassifier(DummyClassifier),
    /// LinearRegression, Ridge, Lasso, ElasticNet.
    Linear(LinearModel),
    Huber(Huber),
    Bayes(Bayes),
    KnnRegressor {
        nn: Neighbors,
        y: Vec<f64>,
    },
    TreeRegressor(Tree),
    ForestRegressor(Forest),
    AdaBoostRegressor(AdaBoost),
    HgbRegressor(Hgb),
    DummyRegressor(f64),
    KMeans(KMeans),
    /// A forecast model's series (predicted by time, not from features).
    Forecast(ForecastFit),
}

/// What the estimator learns from.
pub(crate) enum Y<'a> {
    Classes { index: &'a [u32], count: usize },
    Numbers(&'a [f64]),
    None,
}

/// DummyClassifier: the class priors and what to predict from them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DummyClassifier {
    strategy: String,
    priors: Vec<f64>,
    seed: u64,
}

fn seed(p: &Params) -> u64 {
    p.usize("random_state") as u64
}

fn criterion(p: &Params) -> Criterion {
    match p.text("criterion").as_str() {
        "entropy" | "log_loss" => Criterion::Entropy,
        "squared_error" => Criterion::SquaredError,
        _ => Criterion::Gini,
    }
}

fn tree_params(p: &Params, c: Criterion, features: usize, random_splits: bool) -> TreeParams {
    TreeParams {
        criterion: c,
        max_depth: p.opt_usize("max_depth"),
        min_samples_split: p.usize("min_samples_split"),
        min_samples_leaf: p.usize("min_samples_leaf"),
        max_features: p.features(features),
        random_splits,
    }
}

fn hgb_settings(p: &Params, threads: usize) -> hgb::Settings {
    hgb::Settings {
        learning_rate: p.f64("learning_rate"),
        max_iter: p.usize("max_iter"),
        max_leaf_nodes: p.opt_usize("max_leaf_nodes"),
        max_depth: p.opt_usize("max_depth"),
        min_samples_leaf: p.usize("min_samples_leaf"),
        l2_regularization: p.f64("l2_regularization"),
        max_bins: p.usize("max_bins"),
        early_stopping: p.auto_bool("early_stopping"),
        validation_fraction: p.f64("validation_fraction"),
        n_iter_no_change: p.usize("n_iter_no_change"),
        tol: p.f64("tol"),
        seed: seed(p),
        threads,
    }
}

impl Fitted {
    /// Fits `class` on `x`; the matrix comes back unless the estimator kept
    /// it (kNN keeps its training rows).
    pub(crate) fn fit(
        class: ModelClass,
        p: &Params,
        x: Matrix,
        y: Y<'_>,
    ) -> Result<(Fitted, Option<Matrix>)> {
        if matches!(class, ModelClass::KnnClassifier | ModelClass::KnnRegressor) {
            let nn = Neighbors::fit(x, p.usize("n_neighbors"), p.text("weights") == "distance");
            let fitted = match (class, y) {
                (ModelClass::KnnClassifier, Y::Classes { index, count }) if count >= 2 => {
                    Fitted::KnnClassifier {
                        nn,
                        y: index.to_vec(),
                    }
                }
                (ModelClass::KnnClassifier, Y::Classes { .. }) => {
                    return Err(invalid(
                        "the target column has only one class; a classifier needs at least two",
                    ));
                }
                (ModelClass::KnnRegressor, Y::Numbers(v)) => {
                    Fitted::KnnRegressor { nn, y: v.to_vec() }
                }
                (ModelClass::KnnClassifier, _) => {
                    return Err(invalid("a classifier needs a target column"));
                }
                _ => return Err(invalid("a regressor needs a numeric target column")),
            };
            return Ok((fitted, None));
        }
        let fitted = Self::fit_on(class, p, &x, y)?;
        Ok((fitted, Some(x)))
    }

    fn fit_on(class: ModelClass, p: &Params, x: &Matrix, y: Y<'_>) -> Result<Fitted> {
        use ModelClass::*;
        let threads = par::threads(if class.params().iter().any(|s| s.name == "n_jobs") {
            p.jobs()
        } else {
            None
        });
        let classes = || match &y {
            Y::Classes { index, count } => {
                if *count < 2 {
                    Err(invalid(
                        "the target column has only one class; a classifier needs at least two",
                    ))
                } else {
                    Ok((*index, *count))
                }
            }
            _ => Err(invalid("a classifier needs a target column")),
        };
        let numbers = || match &y {
            Y::Numbers(v) => Ok(*v),
            _ => Err(invalid("a regressor needs a numeric target column")),
        };
        let binned = |max_bins: usize| Binned::new(x, None, max_bins, threads);
        let fit_intercept = || p.bool("fit_intercept");
        Ok(match class {
            Forecast(f) => {
                return Err(invalid(format!(
                    "{} is a forecaster: it is trained on a series, with time_column",
                    f.id()
                )));
            }
            LogisticRegression => {
                let (y, k) = classes()?;
                Fitted::Logistic(logistic::fit(
                    x,
                    y,
                    k,
                    p.f64("C"),
                    p.usize("max_iter"),
                    p.f64("tol"),
                    fit_intercept(),
                    threads,
                ))
            }
            RidgeClassifier => {
                let (y, k) = classes()?;
                Fitted::LinearClassifier(linear::fit_ridge_classifier(
                    x,
                    y,
                    k,
                    p.f64("alpha"),
                    fit_intercept(),
                    threads,
                ))
            }
            LinearSvc => {
                let (y, k) = classes()?;
                let mut m = svc::fit(
                    x,
                    y,
                    k,
                    p.f64("C"),
                    p.f64("tol"),
                    p.usize("max_iter"),
                    threads,
                );
                if !fit_intercept() {
                    m.intercept.iter_mut().for_each(|b| *b = 0.0);
                }
                Fitted::LinearClassifier(m)
            }
            LinearDiscriminantAnalysis => {
                let (y, k) = classes()?;
                Fitted::Lda(discriminant::fit_lda(x, y, k, p.f64("tol"), threads))
            }
            QuadraticDiscriminantAnalysis => {
                let (y, k) = classes()?;
                Fitted::Qda(discriminant::fit_qda(
                    x,
                    y,
                    k,
                    p.f64("reg_param"),
                    p.f64("tol"),
                    &|c| c.to_string(),
                    threads,
                )?)
            }
            GaussianNb => {
                let (y, k) = classes()?;
                Fitted::NaiveBayes(GaussianNaiveBayes::fit(x, y, k, p.f64("var_smoothing")))
            }
            KnnClassifier | KnnRegressor => unreachable!("kNN is fitted by `fit`"),
            DecisionTreeClassifier | RandomForestClassifier | ExtraTreesClassifier => {
                let (y, k) = classes()?;
                let bins = binned(256)?;
                let target = Target::Classes { y, classes: k };
                let samples: Vec<u32> = (0..x.rows() as u32).collect();
                if class == DecisionTreeClassifier {
                    let tp = tree_params(p, criterion(p), x.cols(), false);
                    Fitted::TreeClassifier(grow::grow(
                        &bins,
                        &target,
                        &samples,
                        &vec![1.0; x.rows()],
                        &tp,
                        seed(p),
                    ))
                } else {
                    let tp = tree_params(p, criterion(p), x.cols(), class == ExtraTreesClassifier);
                    Fitted::ForestClassifier(forest::fit(
                        &bins,
                        &target,
                        p.usize("n_estimators"),
                        p.bool("bootstrap"),
                        &tp,
                        seed(p),
                        threads,
                    ))
                }
            }
            AdaBoostClassifier => {
                let (y, k) = classes()?;
                Fitted::AdaBoostClassifier(adaboost::fit_classifier(
                    &binned(256)?,
                    y,
                    k,
                    p.usize("n_estimators"),
                    p.f64("learning_rate"),
                    seed(p),
                ))
            }
            HistGradientBoostingClassifier => {
                let (y, k) = classes()?;
                let loss = if k == 2 {
                    hgb::Loss::Binomial
                } else {
                    hgb::Loss::Multinomial(k)
                };
                Fitted::HgbClassifier(hgb::fit(
                    x,
                    hgb::Y::Classes(y),
                    loss,
                    &hgb_settings(p, threads),
                )?)
            }
            DummyClassifier => {
                let (y, k) = classes()?;
                let mut priors = vec![0.0; k];
                for c in y {
                    priors[*c as usize] += 1.0;
                }
                priors.iter_mut().for_each(|v| *v /= y.len() as f64);
                Fitted::DummyClassifier(self::DummyClassifier {
                    strategy: p.text("strategy"),
                    priors,
                    seed: seed(p),
                })
            }
            LinearRegression => Fitted::Linear(linear::fit_ridge(
                x,
                numbers()?,
                0.0,
                fit_intercept(),
                threads,
            )),
            Ridge => Fitted::Linear(linear::fit_ridge(
                x,
                numbers()?,
                p.f64("alpha"),
                fit_intercept(),
                threads,
            )),
            Lasso | ElasticNet => {
                let l1_ratio = if class == Lasso {
                    1.0
                } else {
                    p.f64("l1_ratio")
                };
                let (m, _) = cd::fit(
                    x,
                    numbers()?,
                    p.f64("alpha"),
                    l1_ratio,
                    p.usize("max_iter"),
                    p.f64("tol"),
                    fit_intercept(),
                    threads,
                );
                Fitted::Linear(m)
            }
            HuberRegressor => Fitted::Huber(huber::fit(
                x,
                numbers()?,
                p.f64("epsilon"),
                p.f64("alpha"),
                p.usize("max_iter"),
                p.f64("tol"),
                fit_intercept(),
            )),
            BayesianRidge => Fitted::Bayes(linear::fit_bayesian_ridge(
                x,
                numbers()?,
                &BayesSettings {
                    max_iter: p.usize("max_iter"),
                    tol: p.f64("tol"),
                    alpha_1: p.f64("alpha_1"),
                    alpha_2: p.f64("alpha_2"),
                    lambda_1: p.f64("lambda_1"),
                    lambda_2: p.f64("lambda_2"),
                    fit_intercept: fit_intercept(),
                },
                threads,
            )),
            DecisionTreeRegressor | RandomForestRegressor | ExtraTreesRegressor => {
                let y = numbers()?;
                let bins = binned(256)?;
                let target = Target::Numbers(y);
                if class == DecisionTreeRegressor {
                    let tp = tree_params(p, Criterion::SquaredError, x.cols(), false);
                    let samples: Vec<u32> = (0..x.rows() as u32).collect();
                    Fitted::TreeRegressor(grow::grow(
                        &bins,
                        &target,
                        &samples,
                        &vec![1.0; x.rows()],
                        &tp,
                        seed(p),
                    ))
                } else {
                    let tp = tree_params(
                        p,
                        Criterion::SquaredError,
                        x.cols(),
                        class == ExtraTreesRegressor,
                    );
                    Fitted::ForestRegressor(forest::fit(
                        &bins,
                        &target,
                        p.usize("n_estimators"),
                        p.bool("bootstrap"),
                        &tp,
                        seed(p),
                        threads,
                    ))
                }
            }
            AdaBoostRegressor => {
                let loss = match p.text("loss").as_str() {
                    "square" => adaboost::Loss::Square,
                    "exponential" => adaboost::Loss::Exponential,
                    _ => adaboost::Loss::Linear,
                };
                Fitted::AdaBoostRegressor(adaboost::fit_regressor(
                    &binned(256)?,
                    numbers()?,
                    p.usize("n_estimators"),
                    p.f64("learning_rate"),
                    loss,
                    seed(p),
                ))
            }
            HistGradientBoostingRegressor => Fitted::HgbRegressor(hgb::fit(
                x,
                hgb::Y::Numbers(numbers()?),
                hgb::Loss::SquaredError,
                &hgb_settings(p, threads),
            )?),
            DummyRegressor => {
                let y = numbers()?;
                let value = if p.text("strategy") == "median" {
                    let mut v = y.to_vec();
                    v.sort_by(f64::total_cmp);
                    let m = v.len();
                    if m % 2 == 1 {
                        v[m / 2]
                    } else {
                        (v[m / 2 - 1] + v[m / 2]) / 2.0
                    }
                } else {
                    crate::exact::sum(y) / y.len().max(1) as f64
                };
                Fitted::DummyRegressor(value)
            }
            KMeans => {
                let k = p.usize("n_clusters");
                if x.rows() < k {
                    return Err(invalid(format!(
                        "KMeans needs at least n_clusters = {k} training rows, got {}",
                        x.rows()
                    )));
                }
                Fitted::KMeans(kmeans::fit(
                    x,
                    k,
                    p.usize("max_iter"),
                    p.f64("tol"),
                    seed(p),
                    threads,
                ))
            }
        })
    }

    /// Class indices (classifiers, k-means) or numbers (regressors).
    pub(crate) fn predict(&self, x: &Matrix, classes: usize, threads: usize) -> Result<Prediction> {
        Ok(match self {
            Fitted::Logistic(m) => Prediction::Classes(m.linear.predict_classes(x)),
            Fitted::LinearClassifier(m) | Fitted::Lda(m) => {
                Prediction::Classes(m.predict_classes(x))
            }
            Fitted::Qda(m) => Prediction::Classes(m.predict(x)),
            Fitted::NaiveBayes(m) => Prediction::Classes(m.predict(x)),
            Fitted::AdaBoostClassifier(m) => Prediction::Classes(m.predict_classes(x)),
            Fitted::DummyClassifier(d) if d.strategy == "stratified" || d.strategy == "uniform" => {
                Prediction::Classes(d.draws(x.rows()))
            }
            // 'prior' and 'most_frequent': the most frequent class (the
            // first on ties, as argmax of the priors).
            Fitted::DummyClassifier(d) => {
                Prediction::Classes(vec![d.most_frequent() as u32; x.rows()])
            }
            Fitted::KMeans(m) => Prediction::Classes(m.predict(x, threads)),
            Fitted::KnnClassifier { .. }
            | Fitted::TreeClassifier(_)
            | Fitted::ForestClassifier(_)
            | Fitted::HgbClassifier(_) => {
                let p = self
                    .probabilities(x, classes, threads)?
                    .expect("these classifiers have probabilities");
                Prediction::Classes(p.iter().map(|r| argmax(r)).collect())
            }
            Fitted::Linear(m) => Prediction::Numbers(m.predict_numbers(x)),
            Fitted::Huber(m) => Prediction::Numbers(m.linear.predict_numbers(x)),
            Fitted::Bayes(m) => Prediction::Numbers(m.linear.predict_numbers(x)),
            Fitted::KnnRegressor { nn, y } => Prediction::Numbers(nn.regress(x, y, threads)),
            Fitted::TreeRegressor(t) => {
                Prediction::Numbers((0..x.rows()).map(|i| t.leaf(x, i)[0]).collect())
            }
            Fitted::ForestRegressor(f) => Prediction::Numbers(f.predict(x, threads)),
            Fitted::AdaBoostRegressor(m) => Prediction::Numbers(m.predict_numbers(x)),
            Fitted::HgbRegressor(m) => Prediction::Numbers(m.predict_numbers(x, threads)),
            Fitted::DummyRegressor(v) => Prediction::Numbers(vec![*v; x.rows()]),
            Fitted::Forecast(_) => {
                return Err(invalid(
                    "a forecast model predicts the points after its series, by time",
                ));
            }
        })
    }

    /// Class indices, and (when asked for and the class has them) each
    /// row's class probabilities, computed once for the classifiers that
    /// predict from them.
    pub(crate) fn classify(
        &self,
        x: &Matrix,
        classes: usize,
        with_probability: bool,
        threads: usize,
    ) -> Result<Classified> {
        let from_probabilities = matches!(
            self,
            Fitted::KnnClassifier { .. }
                | Fitted::TreeClassifier(_)
                | Fitted::ForestClassifier(_)
                | Fitted::HgbClassifier(_)
        );
        if from_probabilities {
            let p = self
                .probabilities(x, classes, threads)?
                .expect("these classifiers have probabilities");
            let c = p.iter().map(|r| argmax(r)).collect();
            return Ok((c, with_probability.then_some(p)));
        }
        let c = match self.predict(x, classes, threads)? {
            Prediction::Classes(c) => c,
            Prediction::Numbers(_) => return Err(invalid("not a classifier")),
        };
        let p = if with_probability {
            self.probabilities(x, classes, threads)?
        } else {
            None
        };
        Ok((c, p))
    }

    /// The probability of each class, per row, for the classifiers that
    /// have one (`None` for the others).
    pub(crate) fn probabilities(
        &self,
        x: &Matrix,
        classes: usize,
        threads: usize,
    ) -> Result<Option<Vec<Vec<f64>>>> {
        Ok(match self {
            Fitted::Logistic(m) => Some(m.probabilities(x, classes)),
            Fitted::Lda(m) => Some(discriminant::lda_probabilities(m, x)),
            Fitted::Qda(m) => Some(m.probabilities(x)),
            Fitted::NaiveBayes(m) => Some(m.predict_proba(x)),
            Fitted::KnnClassifier { nn, y } => Some(nn.class_probabilities(x, y, classes, threads)),
            Fitted::TreeClassifier(t) => {
                Some((0..x.rows()).map(|i| t.leaf(x, i).to_vec()).collect())
            }
            Fitted::ForestClassifier(f) => {
                let flat = f.predict(x, threads);
                let k = f.outputs();
                Some(flat.chunks(k).map(<[f64]>::to_vec).collect())
            }
            Fitted::AdaBoostClassifier(m) => Some(m.probabilities(x)),
            Fitted::HgbClassifier(m) => Some(m.probabilities(x, threads)),
            Fitted::DummyClassifier(d) => Some(d.probabilities(x.rows())),
            _ => None,
        })
    }

    /// Facts about the fit that DESCRIBE MODEL shows (iterations, trees).
    pub(crate) fn facts(&self) -> Vec<(String, String)> {
        match self {
            Fitted::Logistic(m) => vec![("n_iter".into(), m.iterations.to_string())],
            Fitted::HgbClassifier(m) | Fitted::HgbRegressor(m) => {
                vec![("n_iter".into(), m.iterations().to_string())]
            }
            Fitted::KMeans(m) => vec![("n_iter".into(), m.iterations.to_string())],
            Fitted::Forecast(f) => f.facts(),
            Fitted::Huber(m) => vec![("scale".into(), m.scale.to_string())],
            Fitted::Bayes(m) => vec![
                ("alpha".into(), m.alpha.to_string()),
                ("lambda".into(), m.lambda.to_string()),
            ],
            _ => vec![],
        }
    }

    /// False for the dummies, whose predictions ignore the features.
    /// The linear functions a prediction is read from, when that is all
    /// it needs (regressors' one output; classifiers' class scores, when no
    /// probabilities are asked for): PREDICT then computes them straight
    /// from the input columns, without building a feature matrix.
    pub(crate) fn linear_outputs(&self, with_probability: bool) -> Option<&LinearModel> {
        match self {
            Fitted::Linear(m) => Some(m),
            Fitted::Huber(m) => Some(&m.linear),
            Fitted::Bayes(m) => Some(&m.linear),
            Fitted::LinearClassifier(m) => Some(m),
            Fitted::Lda(m) if !with_probability => Some(m),
            Fitted::Logistic(m) if !with_probability => Some(&m.linear),
            _ => None,
        }
    }

    pub(crate) fn reads_features(&self) -> bool {
        !matches!(self, Fitted::DummyClassifier(_) | Fitted::DummyRegressor(_))
    }

    pub(crate) fn inertia(&self) -> Option<f64> {
        match self {
            Fitted::KMeans(m) => Some(m.inertia),
            _ => None,
        }
    }
}

impl DummyClassifier {
    fn most_frequent(&self) -> usize {
        argmax(&self.priors) as usize
    }

    fn probabilities(&self, rows: usize) -> Vec<Vec<f64>> {
        let k = self.priors.len();
        match self.strategy.as_str() {
            "most_frequent" => {
                let mut one = vec![0.0; k];
                one[self.most_frequent()] = 1.0;
                vec![one; rows]
            }
            "uniform" => vec![vec![1.0 / k as f64; k]; rows],
            "stratified" => self
                .draws(rows)
                .into_iter()
                .map(|c| {
                    let mut one = vec![0.0; k];
                    one[c as usize] = 1.0;
                    one
                })
                .collect(),
            _ => vec![self.priors.clone(); rows],
        }
    }

    /// Random classes (seeded): from the priors, or uniform.
    fn draws(&self, rows: usize) -> Vec<u32> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let k = self.priors.len();
        (0..rows)
            .map(|_| {
                if self.strategy == "uniform" {
                    rng.random_range(0..k) as u32
                } else {
                    let u: f64 = rng.random();
                    let mut acc = 0.0;
                    for (c, p) in self.priors.iter().enumerate() {
                        acc += p;
                        if u < acc {
                            return c as u32;
                        }
                    }
                    (k - 1) as u32
                }
            })
            .collect()
    }
}

/// Class indices and, when asked for, each row's class probabilities.
pub(crate) type Classified = (Vec<u32>, Option<Vec<Vec<f64>>>);

/// What an estimator predicted.
pub(crate) enum Prediction {
    Classes(Vec<u32>),
    Numbers(Vec<f64>),
}

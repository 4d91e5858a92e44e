//! The model classes fsql knows: their names (fsql's and scikit-learn's),
//! their task, where each is implemented, and the hyper-parameters each
//! accepts, with scikit-learn 1.9's names and defaults. One table
//! ([`CLASSES`]) holds all of it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};
use crate::forecast::Forecaster;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Classification,
    Regression,
    Clustering,
    /// A time series' next values (COMPARE MODELS with task = 'forecast').
    Forecast,
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
            Task::Clustering => "clustering",
            Task::Forecast => "forecast",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelClass {
    LogisticRegression,
    RidgeClassifier,
    LinearSvc,
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
    GaussianNb,
    KnnClassifier,
    DecisionTreeClassifier,
    RandomForestClassifier,
    ExtraTreesClassifier,
    AdaBoostClassifier,
    HistGradientBoostingClassifier,
    DummyClassifier,
    LinearRegression,
    Ridge,
    Lasso,
    ElasticNet,
    HuberRegressor,
    BayesianRidge,
    KnnRegressor,
    DecisionTreeRegressor,
    RandomForestRegressor,
    ExtraTreesRegressor,
    AdaBoostRegressor,
    HistGradientBoostingRegressor,
    DummyRegressor,
    KMeans,
    /// A forecaster (PyCaret's time-series models).
    Forecast(Forecaster),
}

/// What values a hyper-parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A positive number.
    Positive,
    /// A number >= 0.
    NonNegative,
    /// A number in [0, 1].
    Fraction,
    /// A number above 1.
    AboveOne,
    /// An integer in the range.
    Integer(i64, i64),
    /// An integer >= 1, or NULL for "no limit".
    OptionalInteger,
    /// One of the listed words.
    Choice(&'static [&'static str]),
    /// true or false.
    Bool,
    /// 'auto', true or false.
    AutoBool,
    /// Features tried per split: an integer >= 1, a fraction in (0, 1],
    /// 'sqrt', 'log2', or NULL (all).
    Features,
    /// Cores to use: NULL or -1 (all), or a number >= 1.
    Jobs,
}

/// One hyper-parameter: its scikit-learn name, kind, default and meaning.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    /// The default, as SQL would write it.
    pub default: &'static str,
    pub doc: &'static str,
}

const fn p(
    name: &'static str,
    kind: ParamKind,
    default: &'static str,
    doc: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        kind,
        default,
        doc,
    }
}

use ParamKind::*;

const MAX_DEPTH: ParamSpec = p(
    "max_depth",
    OptionalInteger,
    "NULL",
    "deepest level of a tree (NULL: grow until leaves are pure)",
);
const MIN_LEAF: ParamSpec = p(
    "min_samples_leaf",
    Integer(1, u32::MAX as i64),
    "1",
    "fewest training rows in a leaf",
);
const MIN_SPLIT: ParamSpec = p(
    "min_samples_split",
    Integer(2, u32::MAX as i64),
    "2",
    "fewest rows a node needs to be split",
);
const CRITERION: ParamSpec = p(
    "criterion",
    Choice(&["gini", "entropy", "log_loss"]),
    "'gini'",
    "split quality measure",
);
const REG_CRITERION: ParamSpec = p(
    "criterion",
    Choice(&["squared_error"]),
    "'squared_error'",
    "split quality measure",
);
const N_ESTIMATORS: ParamSpec = p(
    "n_estimators",
    Integer(1, 100_000),
    "100",
    "number of trees",
);
const TREE_FEATURES: ParamSpec = p(
    "max_features",
    Features,
    "NULL",
    "features tried per split: a count, a fraction, 'sqrt', 'log2' or NULL (all)",
);
const CLF_FEATURES: ParamSpec = p(
    "max_features",
    Features,
    "'sqrt'",
    "features tried per split: a count, a fraction, 'sqrt', 'log2' or NULL (all)",
);
const REG_FEATURES: ParamSpec = p(
    "max_features",
    Features,
    "1.0",
    "features tried per split: a count, a fraction, 'sqrt', 'log2' or NULL (all)",
);
const BOOTSTRAP: ParamSpec = p(
    "bootstrap",
    Bool,
    "true",
    "each tree on a bootstrap sample of the rows",
);
const NO_BOOTSTRAP: ParamSpec = p(
    "bootstrap",
    Bool,
    "false",
    "each tree on a bootstrap sample of the rows",
);
const SEED: ParamSpec = p(
    "random_state",
    Integer(0, u32::MAX as i64),
    "42",
    "seed of the random choices; the same seed gives the same model on every engine",
);
const JOBS: ParamSpec = p(
    "n_jobs",
    Jobs,
    "NULL",
    "cores to use (NULL or -1: all of them)",
);
const N_NEIGHBORS: ParamSpec = p(
    "n_neighbors",
    Integer(1, u32::MAX as i64),
    "5",
    "number of neighbours that vote (classifier) or are averaged (regressor)",
);
const WEIGHTS: ParamSpec = p(
    "weights",
    Choice(&["uniform", "distance"]),
    "'uniform'",
    "neighbour weights: equal, or 1/distance",
);
const ALPHA: ParamSpec = p("alpha", NonNegative, "1.0", "regularization strength");
const FIT_INTERCEPT: ParamSpec = p(
    "fit_intercept",
    Bool,
    "true",
    "fit an intercept (else the function passes through the origin)",
);
const CD_MAX_ITER: ParamSpec = p(
    "max_iter",
    Integer(1, u32::MAX as i64),
    "1000",
    "most coordinate-descent sweeps",
);
const CD_TOL: ParamSpec = p(
    "tol",
    Positive,
    "0.0001",
    "convergence tolerance (of the duality gap, relative to |y|²)",
);
const LEARNING_RATE_BOOST: ParamSpec = p(
    "learning_rate",
    Positive,
    "1.0",
    "weight applied to each estimator",
);
const ADA_ESTIMATORS: ParamSpec = p(
    "n_estimators",
    Integer(1, 100_000),
    "50",
    "most estimators (boosting stops early on a perfect fit)",
);

const HGB: &[ParamSpec] = &[
    p(
        "learning_rate",
        Positive,
        "0.1",
        "shrinkage of each tree's leaf values",
    ),
    p(
        "max_iter",
        Integer(1, 100_000),
        "100",
        "most boosting iterations",
    ),
    p(
        "max_leaf_nodes",
        OptionalInteger,
        "31",
        "most leaves per tree (NULL: no limit)",
    ),
    MAX_DEPTH,
    p(
        "min_samples_leaf",
        Integer(1, u32::MAX as i64),
        "20",
        "fewest training rows in a leaf",
    ),
    p(
        "l2_regularization",
        NonNegative,
        "0.0",
        "L2 penalty on leaf values",
    ),
    p("max_bins", Integer(2, 255), "255", "bins per feature"),
    p(
        "early_stopping",
        AutoBool,
        "'auto'",
        "hold out validation_fraction of the rows and stop when their loss stops improving ('auto': above 10,000 rows)",
    ),
    p(
        "validation_fraction",
        Fraction,
        "0.1",
        "share of the rows held out for early stopping",
    ),
    p(
        "n_iter_no_change",
        Integer(1, 100_000),
        "10",
        "iterations without improvement before stopping",
    ),
    p(
        "tol",
        NonNegative,
        "0.0000001",
        "improvement that counts for early stopping",
    ),
    SEED,
    JOBS,
];

/// The seasonal period of a forecaster.
const SP: ParamSpec = p(
    "sp",
    OptionalInteger,
    "NULL",
    "seasonal period (NULL: found from the series' autocorrelation)",
);

/// A forecaster's entry: PyCaret's id and display name.
const fn forecaster(f: Forecaster, estimator: &'static str) -> ClassInfo {
    info(
        ModelClass::Forecast(f),
        f.id(),
        f.name(),
        F,
        estimator,
        false,
        &[SP],
    )
}

/// Everything about a class.
pub struct ClassInfo {
    pub class: ModelClass,
    /// fsql's name (snake case).
    pub name: &'static str,
    /// scikit-learn's class name.
    pub sklearn: &'static str,
    pub task: Task,
    /// Where the estimator is implemented.
    pub estimator: &'static str,
    /// PREDICT can add a `probability` column (scikit-learn has predict_proba).
    pub probability: bool,
    pub params: &'static [ParamSpec],
}

const fn info(
    class: ModelClass,
    name: &'static str,
    sklearn: &'static str,
    task: Task,
    estimator: &'static str,
    probability: bool,
    params: &'static [ParamSpec],
) -> ClassInfo {
    ClassInfo {
        class,
        name,
        sklearn,
        task,
        estimator,
        probability,
        params,
    }
}

use ModelClass as M;
use Task::{Classification as C, Clustering as K, Forecast as F, Regression as R};

/// Every model class, in the order listings show them.
pub static CLASSES: &[ClassInfo] = &[
    info(
        M::LogisticRegression,
        "logistic_regression",
        "LogisticRegression",
        C,
        "fsql: L-BFGS on the mean log loss (binomial / multinomial), scikit-learn's lbfgs objective",
        true,
        &[
            p(
                "C",
                Positive,
                "1.0",
                "inverse of the L2 regularization strength",
            ),
            p(
                "max_iter",
                Integer(1, u32::MAX as i64),
                "100",
                "most L-BFGS iterations",
            ),
            p(
                "tol",
                Positive,
                "0.0001",
                "stop when the largest gradient component is below this",
            ),
            FIT_INTERCEPT,
            JOBS,
        ],
    ),
    info(
        M::RidgeClassifier,
        "ridge_classifier",
        "RidgeClassifier",
        C,
        "fsql: ridge regression on ±1 targets per class (Cholesky on XᵀX)",
        false,
        &[ALPHA, FIT_INTERCEPT],
    ),
    info(
        M::LinearSvc,
        "linear_svc",
        "LinearSVC",
        C,
        "fsql: liblinear's problem (squared hinge, L2, penalised intercept, one-vs-rest) by generalised Newton steps",
        false,
        &[
            p("C", Positive, "1.0", "penalty of the error term"),
            p("tol", Positive, "0.0001", "stopping tolerance"),
            p(
                "max_iter",
                Integer(1, u32::MAX as i64),
                "1000",
                "most iterations",
            ),
            FIT_INTERCEPT,
        ],
    ),
    info(
        M::LinearDiscriminantAnalysis,
        "linear_discriminant_analysis",
        "LinearDiscriminantAnalysis",
        C,
        "fsql: scikit-learn's 'svd' solver steps",
        true,
        &[
            p(
                "solver",
                Choice(&["svd"]),
                "'svd'",
                "solver (scikit-learn's default)",
            ),
            p(
                "tol",
                Positive,
                "0.0001",
                "singular values below this are dropped",
            ),
        ],
    ),
    info(
        M::QuadraticDiscriminantAnalysis,
        "quadratic_discriminant_analysis",
        "QuadraticDiscriminantAnalysis",
        C,
        "fsql: per-class rotations and scalings, as scikit-learn",
        true,
        &[
            p(
                "reg_param",
                Fraction,
                "0.0",
                "shrinks each class covariance towards the identity",
            ),
            p("tol", Positive, "0.0001", "rank threshold (informational)"),
        ],
    ),
    info(
        M::GaussianNb,
        "gaussian_nb",
        "GaussianNB",
        C,
        "fsql: scikit-learn's algorithm",
        true,
        &[p(
            "var_smoothing",
            NonNegative,
            "0.000000001",
            "share of the largest variance added to every variance",
        )],
    ),
    info(
        M::KnnClassifier,
        "knn_classifier",
        "KNeighborsClassifier",
        C,
        "fsql: brute-force search with matrix-product distances on every core",
        true,
        &[N_NEIGHBORS, WEIGHTS, JOBS],
    ),
    info(
        M::DecisionTreeClassifier,
        "decision_tree_classifier",
        "DecisionTreeClassifier",
        C,
        "fsql: CART on binned features (exact below 257 distinct values)",
        true,
        &[
            CRITERION,
            MAX_DEPTH,
            MIN_SPLIT,
            MIN_LEAF,
            TREE_FEATURES,
            SEED,
        ],
    ),
    info(
        M::RandomForestClassifier,
        "random_forest_classifier",
        "RandomForestClassifier",
        C,
        "fsql: bootstrap CART trees grown in parallel",
        true,
        &[
            N_ESTIMATORS,
            CRITERION,
            MAX_DEPTH,
            MIN_SPLIT,
            MIN_LEAF,
            CLF_FEATURES,
            BOOTSTRAP,
            SEED,
            JOBS,
        ],
    ),
    info(
        M::ExtraTreesClassifier,
        "extra_trees_classifier",
        "ExtraTreesClassifier",
        C,
        "fsql: randomised-threshold trees grown in parallel",
        true,
        &[
            N_ESTIMATORS,
            CRITERION,
            MAX_DEPTH,
            MIN_SPLIT,
            MIN_LEAF,
            CLF_FEATURES,
            NO_BOOTSTRAP,
            SEED,
            JOBS,
        ],
    ),
    info(
        M::AdaBoostClassifier,
        "adaboost_classifier",
        "AdaBoostClassifier",
        C,
        "fsql: SAMME on decision stumps",
        true,
        &[ADA_ESTIMATORS, LEARNING_RATE_BOOST, SEED],
    ),
    info(
        M::HistGradientBoostingClassifier,
        "hist_gradient_boosting_classifier",
        "HistGradientBoostingClassifier",
        C,
        "fsql: histogram gradient boosting, leaf-wise (LightGBM-style)",
        true,
        HGB,
    ),
    info(
        M::DummyClassifier,
        "dummy_classifier",
        "DummyClassifier",
        C,
        "fsql: scikit-learn's strategies",
        true,
        &[
            p(
                "strategy",
                Choice(&["prior", "most_frequent", "stratified", "uniform"]),
                "'prior'",
                "what to predict",
            ),
            SEED,
        ],
    ),
    info(
        M::LinearRegression,
        "linear_regression",
        "LinearRegression",
        R,
        "fsql: minimum-norm least squares on XᵀX (as lstsq)",
        false,
        &[FIT_INTERCEPT],
    ),
    info(
        M::Ridge,
        "ridge",
        "Ridge",
        R,
        "fsql: Cholesky on XᵀX + alpha·I",
        false,
        &[
            ALPHA,
            FIT_INTERCEPT,
            p(
                "solver",
                Choice(&["auto", "cholesky", "svd"]),
                "'auto'",
                "solver (all give the same weights)",
            ),
        ],
    ),
    info(
        M::Lasso,
        "lasso",
        "Lasso",
        R,
        "fsql: coordinate descent on XᵀX with scikit-learn's stopping rule",
        false,
        &[ALPHA, CD_MAX_ITER, CD_TOL, FIT_INTERCEPT],
    ),
    info(
        M::ElasticNet,
        "elastic_net",
        "ElasticNet",
        R,
        "fsql: coordinate descent on XᵀX with scikit-learn's stopping rule",
        false,
        &[
            ALPHA,
            p("l1_ratio", Fraction, "0.5", "share of the L1 penalty"),
            CD_MAX_ITER,
            CD_TOL,
            FIT_INTERCEPT,
        ],
    ),
    info(
        M::HuberRegressor,
        "huber_regressor",
        "HuberRegressor",
        R,
        "fsql: L-BFGS on scikit-learn's objective over weights and scale",
        false,
        &[
            p(
                "epsilon",
                AboveOne,
                "1.35",
                "residuals beyond epsilon·scale count linearly",
            ),
            p("alpha", NonNegative, "0.0001", "L2 regularization strength"),
            p(
                "max_iter",
                Integer(1, u32::MAX as i64),
                "100",
                "most L-BFGS iterations",
            ),
            p(
                "tol",
                Positive,
                "0.00001",
                "stop when the largest gradient component is below this",
            ),
            FIT_INTERCEPT,
        ],
    ),
    info(
        M::BayesianRidge,
        "bayesian_ridge",
        "BayesianRidge",
        R,
        "fsql: scikit-learn's evidence iterations on the eigen-decomposition of XᵀX",
        false,
        &[
            p(
                "max_iter",
                Integer(1, u32::MAX as i64),
                "300",
                "most iterations",
            ),
            p(
                "tol",
                Positive,
                "0.001",
                "stop when the weights move less than this",
            ),
            p(
                "alpha_1",
                NonNegative,
                "0.000001",
                "shape of the Gamma prior on the noise precision",
            ),
            p(
                "alpha_2",
                NonNegative,
                "0.000001",
                "rate of the Gamma prior on the noise precision",
            ),
            p(
                "lambda_1",
                NonNegative,
                "0.000001",
                "shape of the Gamma prior on the weight precision",
            ),
            p(
                "lambda_2",
                NonNegative,
                "0.000001",
                "rate of the Gamma prior on the weight precision",
            ),
            FIT_INTERCEPT,
        ],
    ),
    info(
        M::KnnRegressor,
        "knn_regressor",
        "KNeighborsRegressor",
        R,
        "fsql: brute-force search with matrix-product distances on every core",
        false,
        &[N_NEIGHBORS, WEIGHTS, JOBS],
    ),
    info(
        M::DecisionTreeRegressor,
        "decision_tree_regressor",
        "DecisionTreeRegressor",
        R,
        "fsql: CART on binned features (exact below 257 distinct values)",
        false,
        &[
            REG_CRITERION,
            MAX_DEPTH,
            MIN_SPLIT,
            MIN_LEAF,
            TREE_FEATURES,
            SEED,
        ],
    ),
    info(
        M::RandomForestRegressor,
        "random_forest_regressor",
        "RandomForestRegressor",
        R,
        "fsql: bootstrap CART trees grown in parallel",
        false,
        &[
            N_ESTIMATORS,
            REG_CRITERION,
            MAX_DEPTH,
            MIN_SPLIT,
            MIN_LEAF,
            REG_FEATURES,
            BOOTSTRAP,
            SEED,
            JOBS,
        ],
    ),
    info(
        M::ExtraTreesRegressor,
        "extra_trees_regressor",
        "ExtraTreesRegressor",
        R,
        "fsql: randomised-threshold trees grown in parallel",
        false,
        &[
            N_ESTIMATORS,
            REG_CRITERION,
            MAX_DEPTH,
            MIN_SPLIT,
            MIN_LEAF,
            REG_FEATURES,
            NO_BOOTSTRAP,
            SEED,
            JOBS,
        ],
    ),
    info(
        M::AdaBoostRegressor,
        "adaboost_regressor",
        "AdaBoostRegressor",
        R,
        "fsql: AdaBoost.R2 on depth-3 trees",
        false,
        &[
            ADA_ESTIMATORS,
            LEARNING_RATE_BOOST,
            p(
                "loss",
                Choice(&["linear", "square", "exponential"]),
                "'linear'",
                "how errors weigh rows",
            ),
            SEED,
        ],
    ),
    info(
        M::HistGradientBoostingRegressor,
        "hist_gradient_boosting_regressor",
        "HistGradientBoostingRegressor",
        R,
        "fsql: histogram gradient boosting, leaf-wise (LightGBM-style)",
        false,
        HGB,
    ),
    info(
        M::DummyRegressor,
        "dummy_regressor",
        "DummyRegressor",
        R,
        "fsql: scikit-learn's strategies",
        false,
        &[p(
            "strategy",
            Choice(&["mean", "median"]),
            "'mean'",
            "what to predict",
        )],
    ),
    info(
        M::KMeans,
        "kmeans",
        "KMeans",
        K,
        "fsql: greedy k-means++ then Lloyd, as scikit-learn",
        false,
        &[
            p(
                "n_clusters",
                Integer(2, u32::MAX as i64),
                "8",
                "number of clusters",
            ),
            p(
                "max_iter",
                Integer(1, u32::MAX as i64),
                "300",
                "most iterations",
            ),
            p(
                "tol",
                NonNegative,
                "0.0001",
                "centre movement (relative to the feature variance) that ends the iterations",
            ),
            SEED,
            JOBS,
        ],
    ),
    forecaster(
        Forecaster::Naive,
        "the last value, repeated (sktime NaiveForecaster, strategy 'last')",
    ),
    forecaster(
        Forecaster::SeasonalNaive,
        "the last season, repeated (sktime NaiveForecaster, strategy 'last', sp)",
    ),
    forecaster(
        Forecaster::GrandMeans,
        "the training mean (sktime NaiveForecaster, strategy 'mean')",
    ),
    forecaster(
        Forecaster::PolyTrend,
        "a least-squares line over the point index (sktime PolynomialTrendForecaster)",
    ),
    forecaster(
        Forecaster::ExpSmooth,
        "Holt-Winters, fsql's own (statsmodels ExponentialSmoothing)",
    ),
    forecaster(
        Forecaster::Ets,
        "ETS by maximum likelihood, fsql's own (statsmodels ETSModel)",
    ),
    forecaster(
        Forecaster::Arima,
        "ARIMA(1,0,0)(0,1,0,sp) by exact maximum likelihood, fsql's own (pmdarima ARIMA)",
    ),
];

impl ModelClass {
    /// Every class.
    pub fn all() -> impl Iterator<Item = ModelClass> {
        CLASSES.iter().map(|c| c.class)
    }

    pub fn info(self) -> &'static ClassInfo {
        CLASSES
            .iter()
            .find(|c| c.class == self)
            .expect("every class is in the table")
    }

    /// fsql's name of the class (what DESCRIBE MODEL shows).
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// scikit-learn's class name.
    pub fn sklearn_name(self) -> &'static str {
        self.info().sklearn
    }

    /// Where the estimator is implemented.
    pub fn estimator(self) -> &'static str {
        self.info().estimator
    }

    pub fn task(self) -> Task {
        self.info().task
    }

    /// True when PREDICT can add a `probability` column.
    pub fn has_probability(self) -> bool {
        self.info().probability
    }

    /// The hyper-parameters the class accepts (scikit-learn's names).
    pub fn params(self) -> Vec<ParamSpec> {
        self.info().params.to_vec()
    }

    /// Resolves `model_class`: fsql's name, scikit-learn's class name, or a
    /// dotted path ending in one (`sklearn.linear_model.Ridge`), any case.
    pub fn parse(text: &str) -> Result<ModelClass> {
        let last = text.rsplit('.').next().unwrap_or(text).trim();
        let key: String = last
            .to_ascii_lowercase()
            .chars()
            .filter(|c| *c != '_' && *c != ' ')
            .collect();
        let squash = |s: &str| -> String {
            s.to_ascii_lowercase()
                .chars()
                .filter(|c| *c != '_' && *c != ' ')
                .collect()
        };
        let aliases: &[(&str, ModelClass)] = &[
            ("kneighborsclassifier", ModelClass::KnnClassifier),
            ("kneighborsregressor", ModelClass::KnnRegressor),
            ("lda", ModelClass::LinearDiscriminantAnalysis),
            ("qda", ModelClass::QuadraticDiscriminantAnalysis),
            ("kmeans", ModelClass::KMeans),
        ];
        if let Some(c) = CLASSES
            .iter()
            .find(|c| squash(c.name) == key || squash(c.sklearn) == key)
        {
            return Ok(c.class);
        }
        if let Some((_, c)) = aliases.iter().find(|(a, _)| *a == key) {
            return Ok(*c);
        }
        let known: Vec<String> = CLASSES
            .iter()
            .map(|c| format!("{} ({})", c.sklearn, c.name))
            .collect();
        Err(invalid(format!(
            "unknown model_class '{text}'; known classes: {}",
            known.join(", ")
        )))
    }
}

impl fmt::Display for ModelClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_both_ways() {
        for c in ModelClass::all() {
            assert_eq!(ModelClass::parse(c.name()).unwrap(), c);
            assert_eq!(ModelClass::parse(c.sklearn_name()).unwrap(), c);
        }
        assert_eq!(
            ModelClass::parse("sklearn.linear_model.LogisticRegression").unwrap(),
            ModelClass::LogisticRegression
        );
        assert_eq!(
            ModelClass::parse("sklearn.ensemble.HistGradientBoostingClassifier").unwrap(),
            ModelClass::HistGradientBoostingClassifier
        );
        let err = ModelClass::parse("XGBoost").unwrap_err().to_string();
        assert!(err.contains("unknown model_class 'XGBoost'"), "{err}");
        assert!(err.contains("KMeans"), "{err}");
    }
}

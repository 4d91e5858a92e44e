//! The model classes fsql knows: their names (fsql's and scikit-learn's),
//! their task, and the hyper-parameters each accepts with defaults that
//! follow scikit-learn's.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Classification,
    Regression,
    Clustering,
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
            Task::Clustering => "clustering",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelClass {
    LogisticRegression,
    DecisionTreeClassifier,
    RandomForestClassifier,
    GaussianNb,
    KnnClassifier,
    LinearSvc,
    LinearRegression,
    Ridge,
    Lasso,
    ElasticNet,
    DecisionTreeRegressor,
    RandomForestRegressor,
    KnnRegressor,
    KMeans,
}

/// What values a hyper-parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A positive number.
    Positive,
    /// A number in [0, 1].
    Fraction,
    /// An integer >= the bound.
    Integer(i64),
    /// An integer >= 1, or NULL for "no limit".
    OptionalInteger,
    /// One of the listed words.
    Choice(&'static [&'static str]),
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

const MAX_DEPTH: ParamSpec = p(
    "max_depth",
    ParamKind::OptionalInteger,
    "NULL",
    "deepest level of a tree (NULL: grow until leaves are pure)",
);
const MIN_LEAF: ParamSpec = p(
    "min_samples_leaf",
    ParamKind::Integer(1),
    "1",
    "fewest training rows in a leaf",
);
const MIN_SPLIT: ParamSpec = p(
    "min_samples_split",
    ParamKind::Integer(2),
    "2",
    "fewest rows a node needs to be split",
);
const CRITERION: ParamSpec = p(
    "criterion",
    ParamKind::Choice(&["gini", "entropy"]),
    "'gini'",
    "split quality measure",
);
const N_ESTIMATORS: ParamSpec = p(
    "n_estimators",
    ParamKind::Integer(1),
    "100",
    "number of trees",
);
const MAX_FEATURES: ParamSpec = p(
    "max_features",
    ParamKind::OptionalInteger,
    "NULL",
    "features tried per split (NULL: sqrt(features) for classifiers, features/3 for regressors)",
);
const SEED: ParamSpec = p(
    "random_state",
    ParamKind::Integer(0),
    "42",
    "seed of the random choices; the same seed gives the same model on every engine",
);
const N_NEIGHBORS: ParamSpec = p(
    "n_neighbors",
    ParamKind::Integer(1),
    "5",
    "number of neighbours that vote (classifier) or are averaged (regressor)",
);
const WEIGHTS: ParamSpec = p(
    "weights",
    ParamKind::Choice(&["uniform", "distance"]),
    "'uniform'",
    "neighbour weights: equal, or 1/distance",
);
const ALPHA: ParamSpec = p(
    "alpha",
    ParamKind::Positive,
    "1.0",
    "regularization strength",
);
const MAX_ITER: ParamSpec = p(
    "max_iter",
    ParamKind::Integer(1),
    "1000",
    "most coordinate-descent iterations",
);
const TOL: ParamSpec = p(
    "tol",
    ParamKind::Positive,
    "0.0001",
    "convergence tolerance",
);

impl ModelClass {
    pub const ALL: [ModelClass; 14] = [
        ModelClass::LogisticRegression,
        ModelClass::DecisionTreeClassifier,
        ModelClass::RandomForestClassifier,
        ModelClass::GaussianNb,
        ModelClass::KnnClassifier,
        ModelClass::LinearSvc,
        ModelClass::LinearRegression,
        ModelClass::Ridge,
        ModelClass::Lasso,
        ModelClass::ElasticNet,
        ModelClass::DecisionTreeRegressor,
        ModelClass::RandomForestRegressor,
        ModelClass::KnnRegressor,
        ModelClass::KMeans,
    ];

    /// fsql's name of the class (what DESCRIBE MODEL shows).
    pub fn name(self) -> &'static str {
        match self {
            ModelClass::LogisticRegression => "logistic_regression",
            ModelClass::DecisionTreeClassifier => "decision_tree_classifier",
            ModelClass::RandomForestClassifier => "random_forest_classifier",
            ModelClass::GaussianNb => "gaussian_nb",
            ModelClass::KnnClassifier => "knn_classifier",
            ModelClass::LinearSvc => "linear_svc",
            ModelClass::LinearRegression => "linear_regression",
            ModelClass::Ridge => "ridge",
            ModelClass::Lasso => "lasso",
            ModelClass::ElasticNet => "elastic_net",
            ModelClass::DecisionTreeRegressor => "decision_tree_regressor",
            ModelClass::RandomForestRegressor => "random_forest_regressor",
            ModelClass::KnnRegressor => "knn_regressor",
            ModelClass::KMeans => "kmeans",
        }
    }

    /// scikit-learn's class name.
    pub fn sklearn_name(self) -> &'static str {
        match self {
            ModelClass::LogisticRegression => "LogisticRegression",
            ModelClass::DecisionTreeClassifier => "DecisionTreeClassifier",
            ModelClass::RandomForestClassifier => "RandomForestClassifier",
            ModelClass::GaussianNb => "GaussianNB",
            ModelClass::KnnClassifier => "KNeighborsClassifier",
            ModelClass::LinearSvc => "LinearSVC",
            ModelClass::LinearRegression => "LinearRegression",
            ModelClass::Ridge => "Ridge",
            ModelClass::Lasso => "Lasso",
            ModelClass::ElasticNet => "ElasticNet",
            ModelClass::DecisionTreeRegressor => "DecisionTreeRegressor",
            ModelClass::RandomForestRegressor => "RandomForestRegressor",
            ModelClass::KnnRegressor => "KNeighborsRegressor",
            ModelClass::KMeans => "KMeans",
        }
    }

    /// The smartcore estimator behind the class.
    pub fn estimator(self) -> &'static str {
        match self {
            ModelClass::LogisticRegression => {
                "smartcore::linear::logistic_regression::LogisticRegression"
            }
            ModelClass::DecisionTreeClassifier => {
                "smartcore::tree::decision_tree_classifier::DecisionTreeClassifier"
            }
            ModelClass::RandomForestClassifier => {
                "smartcore::ensemble::random_forest_classifier::RandomForestClassifier"
            }
            ModelClass::GaussianNb => {
                "fsql::naive_bayes::GaussianNaiveBayes (scikit-learn's algorithm)"
            }
            ModelClass::KnnClassifier => "smartcore::neighbors::knn_classifier::KNNClassifier",
            ModelClass::LinearSvc => "smartcore::svm::svc::SVC (linear kernel, one-vs-rest)",
            ModelClass::LinearRegression => {
                "smartcore::linear::linear_regression::LinearRegression"
            }
            ModelClass::Ridge => "smartcore::linear::ridge_regression::RidgeRegression",
            ModelClass::Lasso => "smartcore::linear::lasso::Lasso",
            ModelClass::ElasticNet => "smartcore::linear::elastic_net::ElasticNet",
            ModelClass::DecisionTreeRegressor => {
                "smartcore::tree::decision_tree_regressor::DecisionTreeRegressor"
            }
            ModelClass::RandomForestRegressor => {
                "smartcore::ensemble::random_forest_regressor::RandomForestRegressor"
            }
            ModelClass::KnnRegressor => "smartcore::neighbors::knn_regressor::KNNRegressor",
            ModelClass::KMeans => "smartcore::cluster::kmeans::KMeans",
        }
    }

    pub fn task(self) -> Task {
        use ModelClass::*;
        match self {
            LogisticRegression
            | DecisionTreeClassifier
            | RandomForestClassifier
            | GaussianNb
            | KnnClassifier
            | LinearSvc => Task::Classification,
            KMeans => Task::Clustering,
            _ => Task::Regression,
        }
    }

    /// True when PREDICT can add a `probability` column.
    pub fn has_probability(self) -> bool {
        use ModelClass::*;
        matches!(
            self,
            LogisticRegression | DecisionTreeClassifier | GaussianNb | KnnClassifier
        )
    }

    /// The hyper-parameters the class accepts (scikit-learn's names).
    pub fn params(self) -> Vec<ParamSpec> {
        use ModelClass::*;
        match self {
            LogisticRegression => vec![p(
                "C",
                ParamKind::Positive,
                "1.0",
                "inverse of the L2 regularization strength",
            )],
            DecisionTreeClassifier => vec![CRITERION, MAX_DEPTH, MIN_LEAF, MIN_SPLIT, SEED],
            RandomForestClassifier => vec![
                N_ESTIMATORS,
                CRITERION,
                MAX_DEPTH,
                MIN_LEAF,
                MIN_SPLIT,
                MAX_FEATURES,
                SEED,
            ],
            GaussianNb => vec![],
            KnnClassifier | KnnRegressor => vec![N_NEIGHBORS, WEIGHTS],
            LinearSvc => vec![
                p("C", ParamKind::Positive, "1.0", "penalty of the error term"),
                p("tol", ParamKind::Positive, "0.001", "convergence tolerance"),
                p(
                    "max_iter",
                    ParamKind::Integer(1),
                    "10",
                    "passes of the SMO solver over the data",
                ),
                SEED,
            ],
            LinearRegression => vec![p(
                "solver",
                ParamKind::Choice(&["svd", "qr"]),
                "'svd'",
                "least-squares solver",
            )],
            Ridge => vec![
                ALPHA,
                p(
                    "solver",
                    ParamKind::Choice(&["cholesky", "svd"]),
                    "'cholesky'",
                    "solver of the normal equations",
                ),
            ],
            Lasso => vec![ALPHA, MAX_ITER, TOL],
            ElasticNet => vec![
                ALPHA,
                p(
                    "l1_ratio",
                    ParamKind::Fraction,
                    "0.5",
                    "share of the L1 penalty",
                ),
                MAX_ITER,
                TOL,
            ],
            DecisionTreeRegressor => vec![MAX_DEPTH, MIN_LEAF, MIN_SPLIT, SEED],
            RandomForestRegressor => vec![
                N_ESTIMATORS,
                MAX_DEPTH,
                MIN_LEAF,
                MIN_SPLIT,
                MAX_FEATURES,
                SEED,
            ],
            KMeans => vec![
                p(
                    "n_clusters",
                    ParamKind::Integer(2),
                    "8",
                    "number of clusters",
                ),
                p("max_iter", ParamKind::Integer(1), "300", "most iterations"),
                SEED,
            ],
        }
    }

    /// Resolves `model_class`: fsql's name, scikit-learn's class name, or a
    /// dotted path ending in one (`sklearn.linear_model.Ridge`), any case.
    pub fn parse(text: &str) -> Result<ModelClass> {
        let last = text.rsplit('.').next().unwrap_or(text).trim();
        let key = last.to_ascii_lowercase();
        let aliases: &[(&str, ModelClass)] = &[
            ("logisticregression", ModelClass::LogisticRegression),
            ("gaussiannb", ModelClass::GaussianNb),
            ("kneighborsclassifier", ModelClass::KnnClassifier),
            ("kneighborsregressor", ModelClass::KnnRegressor),
            ("linearsvc", ModelClass::LinearSvc),
            ("linearregression", ModelClass::LinearRegression),
            ("elasticnet", ModelClass::ElasticNet),
            ("decisiontreeclassifier", ModelClass::DecisionTreeClassifier),
            ("decisiontreeregressor", ModelClass::DecisionTreeRegressor),
            ("randomforestclassifier", ModelClass::RandomForestClassifier),
            ("randomforestregressor", ModelClass::RandomForestRegressor),
            ("k_means", ModelClass::KMeans),
        ];
        if let Some(c) = ModelClass::ALL
            .iter()
            .find(|c| c.name() == key || c.sklearn_name().eq_ignore_ascii_case(last))
        {
            return Ok(*c);
        }
        if let Some((_, c)) = aliases.iter().find(|(a, _)| *a == key) {
            return Ok(*c);
        }
        let known: Vec<String> = ModelClass::ALL
            .iter()
            .map(|c| format!("{} ({})", c.sklearn_name(), c.name()))
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
        for c in ModelClass::ALL {
            assert_eq!(ModelClass::parse(c.name()).unwrap(), c);
            assert_eq!(ModelClass::parse(c.sklearn_name()).unwrap(), c);
        }
        assert_eq!(
            ModelClass::parse("sklearn.linear_model.LogisticRegression").unwrap(),
            ModelClass::LogisticRegression
        );
        let err = ModelClass::parse("XGBoost").unwrap_err().to_string();
        assert!(err.contains("unknown model_class 'XGBoost'"), "{err}");
        assert!(err.contains("KMeans"), "{err}");
    }
}
